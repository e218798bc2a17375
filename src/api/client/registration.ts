// Account registration (spec: Client-Server API, "Account registration and management").
import { Elysia, t } from "elysia";
import {
  checkUsernameAvailable,
  isRegistrationTokenUsable,
  registerGuest,
  registerUser,
  registrationFlows,
} from "../../accounts/registration";
import type { Homeserver } from "../../homeserver";
import { clientIp } from "../../http/client-ip";
import { MatrixError } from "../../http/errors";

const RegisterBody = t.Object({
  auth: t.Optional(t.Unknown()),
  // No maxLength here: a username too long for a user id is M_INVALID_USERNAME (checked in
  // the domain, as the spec asks for any username outside the grammar), not M_BAD_JSON.
  username: t.Optional(t.String()),
  password: t.Optional(t.String()),
  device_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  initial_device_display_name: t.Optional(t.String({ maxLength: 255 })),
  inhibit_login: t.Optional(t.Boolean()),
  refresh_token: t.Optional(t.Boolean()),
});

export function registrationApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.registration", seed: `${hs.instanceId}${prefix}`, prefix })
    .post(
      "/register",
      ({ body, query, request, server }) => {
        const ip = clientIp(hs, request, server);
        const kind = query.kind ?? "user";
        if (kind === "guest") return registerGuest(hs, body, ip);
        if (kind !== "user") throw new MatrixError(400, "M_INVALID_PARAM", "kind must be 'user' or 'guest'");
        return registerUser(hs, body, ip);
      },
      { body: RegisterBody, query: t.Object({ kind: t.Optional(t.String()) }) },
    )
    .get(
      "/register/available",
      ({ query }) => {
        if (registrationFlows(hs) === null) throw new MatrixError(403, "M_FORBIDDEN", "Registration has been disabled");
        checkUsernameAvailable(hs, query.username.toLowerCase());
        return { available: true };
      },
      { query: t.Object({ username: t.String() }) },
    );
}

/**
 * GET /register/m.login.registration_token/validity. The spec puts it under
 * /_matrix/client/v1 (where Element calls it); app.ts also mounts it under v3.
 */
export function registrationTokenValidityApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.registration.token-validity", seed: `${hs.instanceId}${prefix}`, prefix })
    .get(
      "/register/m.login.registration_token/validity",
      ({ query, request, server }) => {
        const flows = registrationFlows(hs);
        if (!flows?.some((flow) => flow.includes("m.login.registration_token"))) {
          throw new MatrixError(403, "M_FORBIDDEN", "Registration tokens are not in use on this server");
        }
        hs.rateLimiter.take("registration", clientIp(hs, request, server));
        return { valid: isRegistrationTokenUsable(hs, query.token) };
      },
      { query: t.Object({ token: t.String() }) },
    );
}
