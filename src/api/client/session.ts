// Login, token refresh and logout (spec: "Login", "Refreshing access tokens", "Logout").
import { Elysia, t } from "elysia";
import { refreshCredentials } from "../../accounts/credentials";
import { deleteDevices } from "../../accounts/devices";
import { LOGIN_FLOWS, loginWithPassword } from "../../accounts/login";
import { clientBaseUrl } from "./discovery";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { clientIp } from "../../http/client-ip";

const LoginBody = t.Object({
  type: t.String(),
  identifier: t.Optional(t.Unknown()),
  user: t.Optional(t.Unknown()),
  password: t.Optional(t.Unknown()),
  device_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  initial_device_display_name: t.Optional(t.String({ maxLength: 255 })),
  refresh_token: t.Optional(t.Boolean()),
});

export function sessionApi(hs: Homeserver, prefix: string) {
  const open = new Elysia({ name: "api.session.open", seed: `${hs.instanceId}${prefix}`, prefix })
    .get("/login", () => ({ flows: LOGIN_FLOWS }))
    .post(
      "/login",
      async ({ body, request, server }) => {
        const credentials = await loginWithPassword(hs, body, clientIp(hs, request, server));
        // well_known only when configured: clients switch their base URL to it. Same
        // value as /.well-known/matrix/client serves (trailing slashes removed).
        const wellKnown = hs.config.public_baseurl
          ? { well_known: { "m.homeserver": { base_url: clientBaseUrl(hs, request) } } }
          : {};
        return { ...credentials, home_server: hs.config.server_name, ...wellKnown };
      },
      { body: LoginBody },
    )
    .post("/refresh", ({ body }) => refreshCredentials(hs, body.refresh_token), {
      body: t.Object({ refresh_token: t.String() }),
    });

  const signedIn = new Elysia({ name: "api.session.signed-in", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .post("/logout", ({ requester }) => {
      // The spec deletes the device together with its token.
      hs.store.transaction(() => deleteDevices(hs, requester.userId, [requester.deviceId]));
      return {};
    })
    .post("/logout/all", ({ requester }) => {
      hs.store.transaction(() => deleteDevices(hs, requester.userId, hs.store.devices.idsExcept(requester.userId, null)));
      return {};
    });

  return new Elysia({ name: "api.session", seed: `${hs.instanceId}${prefix}` }).use(open).use(signedIn);
}
