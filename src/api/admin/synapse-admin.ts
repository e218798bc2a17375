// The subset of Synapse's admin API that existing tools use to create and manage
// users: shared-secret registration, users (v2), deactivation, password reset,
// registration tokens. Everything but shared-secret registration needs an admin.
import { Elysia, t } from "elysia";
import { deactivateAccount, changePassword } from "../../accounts/account";
import {
  adminUserView,
  createRegistrationToken,
  localUserOrThrow,
  registrationTokenView,
  updateRegistrationToken,
  upsertUser,
} from "../../accounts/admin";
import { isAcceptablePassword } from "../../accounts/passwords";
import type { Requester } from "../../accounts/credentials";
import { issueNonce, registerWithSharedSecret } from "../../accounts/shared-secret";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { clientIp } from "../../http/client-ip";
import { MatrixError, notFound } from "../../http/errors";
import { isRegistrationTokenUsable } from "../../accounts/registration";

const UserIdParams = t.Object({ userId: t.String({ minLength: 1 }) });
const TokenParams = t.Object({ token: t.String({ minLength: 1 }) });

/**
 * The device a password change by an admin keeps: the admin's own, when they change
 * their own password, so the request does not log out the session making it (as Synapse does).
 */
const ownDevice = (requester: Requester, userId: string) => (requester.userId === userId ? requester.deviceId : null);

export function synapseAdminApi(hs: Homeserver) {
  const sharedSecret = new Elysia({ name: "api.admin.shared-secret", seed: hs.instanceId, prefix: "/_synapse/admin/v1" })
    .get("/register", () => ({ nonce: issueNonce(hs) }))
    .post("/register", ({ body, request, server }) => registerWithSharedSecret(hs, body, clientIp(hs, request, server)), {
      body: t.Object({
        nonce: t.String(),
        username: t.String({ minLength: 1 }),
        password: t.String({ minLength: 1 }),
        admin: t.Optional(t.Boolean()),
        displayname: t.Optional(t.String()),
        user_type: t.Optional(t.Union([t.String(), t.Null()])),
        mac: t.String(),
      }),
    });

  const admin = new Elysia({ name: "api.admin", seed: hs.instanceId, prefix: "/_synapse/admin" })
    .use(authenticated(hs, { adminOnly: true }))
    .get(
      "/v2/users",
      ({ query }) => {
        const offset = Number(query.from ?? "0");
        const limit = Number(query.limit ?? "100");
        if (!Number.isInteger(offset) || offset < 0) throw new MatrixError(400, "M_INVALID_PARAM", "from must be a non-negative integer");
        if (!Number.isInteger(limit) || limit < 1) throw new MatrixError(400, "M_INVALID_PARAM", "limit must be a positive integer");
        const { rows, total } = hs.store.users.list({
          offset,
          limit,
          includeGuests: query.guests !== "false",
          includeDeactivated: query.deactivated === "true",
          nameContains: query.name,
        });
        const next = offset + rows.length < total ? { next_token: String(offset + rows.length) } : {};
        return { users: rows.map(adminUserView), total, ...next };
      },
      {
        query: t.Object({
          from: t.Optional(t.String()),
          limit: t.Optional(t.String()),
          guests: t.Optional(t.String()),
          deactivated: t.Optional(t.String()),
          name: t.Optional(t.String()),
        }),
      },
    )
    .get("/v2/users/:userId", ({ params }) => adminUserView(localUserOrThrow(hs, params.userId)), { params: UserIdParams })
    .put(
      "/v2/users/:userId",
      async ({ params, body, set, requester }) => {
        const { created, user } = await upsertUser(hs, params.userId, body, ownDevice(requester, params.userId));
        set.status = created ? 201 : 200;
        return adminUserView(user);
      },
      {
        params: UserIdParams,
        body: t.Object({
          password: t.Optional(t.String()),
          admin: t.Optional(t.Boolean()),
          deactivated: t.Optional(t.Boolean()),
          displayname: t.Optional(t.Union([t.String(), t.Null()])),
          logout_devices: t.Optional(t.Boolean()),
        }),
      },
    )
    .post(
      "/v1/deactivate/:userId",
      ({ params, body }) => {
        localUserOrThrow(hs, params.userId);
        deactivateAccount(hs, params.userId, { erase: body.erase ?? false });
        return { id_server_unbind_result: "success" };
      },
      { params: UserIdParams, body: t.Object({ erase: t.Optional(t.Boolean()) }) },
    )
    .post(
      "/v1/reset_password/:userId",
      async ({ params, body, requester }) => {
        localUserOrThrow(hs, params.userId);
        if (!isAcceptablePassword(body.new_password)) {
          throw new MatrixError(400, "M_WEAK_PASSWORD", "Password must be between 1 and 512 bytes");
        }
        await changePassword(hs, params.userId, body.new_password, {
          logoutDevices: body.logout_devices ?? true,
          keepDeviceId: ownDevice(requester, params.userId),
        });
        return {};
      },
      { params: UserIdParams, body: t.Object({ new_password: t.String(), logout_devices: t.Optional(t.Boolean()) }) },
    )
    .get(
      "/v1/registration_tokens",
      ({ query }) => {
        let rows = hs.store.registrationTokens.list();
        if (query.valid !== undefined) {
          const wantValid = query.valid === "true";
          rows = rows.filter((row) => isRegistrationTokenUsable(hs, row.token) === wantValid);
        }
        return { registration_tokens: rows.map((row) => registrationTokenView(hs, row)) };
      },
      { query: t.Object({ valid: t.Optional(t.String()) }) },
    )
    .post("/v1/registration_tokens/new", ({ body }) => registrationTokenView(hs, createRegistrationToken(hs, body)), {
      body: t.Object({
        token: t.Optional(t.String()),
        uses_allowed: t.Optional(t.Union([t.Integer({ minimum: 0 }), t.Null()])),
        expiry_time: t.Optional(t.Union([t.Integer(), t.Null()])),
        length: t.Optional(t.Integer({ minimum: 1, maximum: 64 })),
      }),
    })
    .get(
      "/v1/registration_tokens/:token",
      ({ params }) => {
        const row = hs.store.registrationTokens.get(params.token);
        if (!row) throw notFound("No such registration token");
        return registrationTokenView(hs, row);
      },
      { params: TokenParams },
    )
    .put(
      "/v1/registration_tokens/:token",
      ({ params, body }) => registrationTokenView(hs, updateRegistrationToken(hs, params.token, body)),
      {
        params: TokenParams,
        body: t.Object({
          uses_allowed: t.Optional(t.Union([t.Integer({ minimum: 0 }), t.Null()])),
          expiry_time: t.Optional(t.Union([t.Integer(), t.Null()])),
        }),
      },
    )
    .delete(
      "/v1/registration_tokens/:token",
      ({ params }) => {
        if (!hs.store.registrationTokens.delete(params.token)) throw notFound("No such registration token");
        return {};
      },
      { params: TokenParams },
    );

  return new Elysia({ name: "api.admin.all", seed: hs.instanceId }).use(sharedSecret).use(admin);
}
