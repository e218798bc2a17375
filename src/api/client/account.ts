// Account management (spec: "Account registration and management": whoami,
// password, deactivate, 3pid listing).
import { Elysia, t } from "elysia";
import { changePassword, deactivateAccount } from "../../accounts/account";
import { PASSWORD_FLOWS, passwordStageFor } from "../../accounts/password-auth";
import { isAcceptablePassword } from "../../accounts/passwords";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError } from "../../http/errors";

export function accountApi(hs: Homeserver, prefix: string) {
  const anyUser = new Elysia({ name: "api.account.any", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/account/whoami", ({ requester }) => ({
      user_id: requester.userId,
      device_id: requester.deviceId,
      is_guest: requester.isGuest,
    }));

  const registered = new Elysia({ name: "api.account.registered", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .get("/account/3pid", () => ({ threepids: [] }))
    .post(
      "/account/password",
      async ({ body, requester }) => {
        if (!isAcceptablePassword(body.new_password)) {
          throw new MatrixError(400, "M_WEAK_PASSWORD", "Password must be between 1 and 512 bytes");
        }
        await hs.uia.authenticate({
          auth: body.auth,
          flows: PASSWORD_FLOWS,
          verifiers: passwordStageFor(hs, requester),
          userId: requester.userId,
        });
        await changePassword(hs, requester.userId, body.new_password, {
          logoutDevices: body.logout_devices ?? true,
          keepDeviceId: requester.deviceId,
        });
        return {};
      },
      {
        body: t.Object({
          new_password: t.String(),
          logout_devices: t.Optional(t.Boolean()),
          auth: t.Optional(t.Unknown()),
        }),
      },
    )
    .post(
      "/account/deactivate",
      async ({ body, requester }) => {
        await hs.uia.authenticate({
          auth: body.auth,
          flows: PASSWORD_FLOWS,
          verifiers: passwordStageFor(hs, requester),
          userId: requester.userId,
        });
        deactivateAccount(hs, requester.userId, { erase: body.erase ?? false });
        // This server never binds 3PIDs to an identity server, so there is nothing to
        // unbind, and the spec says the result "must be `success`" then (as Synapse answers).
        return { id_server_unbind_result: "success" };
      },
      {
        body: t.Object({
          auth: t.Optional(t.Unknown()),
          erase: t.Optional(t.Boolean()),
          id_server: t.Optional(t.String()),
        }),
      },
    );

  return new Elysia({ name: "api.account", seed: `${hs.instanceId}${prefix}` }).use(anyUser).use(registered);
}
