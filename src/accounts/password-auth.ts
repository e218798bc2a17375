// The m.login.password stage of user-interactive auth for endpoints that act on
// the requester's own account (change password, deactivate, delete devices).
import type { Requester } from "./credentials";
import { verifyPassword } from "./passwords";
import type { Flows, StageVerifier } from "./uia";
import { userIdFromLogin } from "./user-ids";
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";

export const PASSWORD_FLOWS: Flows = [["m.login.password"]];

/** The user named by a login or UIA body: `identifier` (m.id.user) or the deprecated top-level `user`. */
export function loginUserOf(hs: Homeserver, body: Record<string, unknown>): string | null {
  const identifier = body.identifier as Record<string, unknown> | undefined;
  let typed: unknown;
  if (identifier !== undefined) {
    if (typeof identifier !== "object" || identifier === null) throw new MatrixError(400, "M_BAD_JSON", "identifier must be an object");
    if (identifier.type !== "m.id.user") {
      throw new MatrixError(400, "M_UNKNOWN", `Identifier type ${JSON.stringify(identifier.type)} is not supported`);
    }
    typed = identifier.user;
  } else {
    typed = body.user;
  }
  if (typeof typed !== "string") throw new MatrixError(400, "M_MISSING_PARAM", "Missing identifier.user");
  return userIdFromLogin(typed, hs.config.server_name);
}

/** Verifies that the UIA body proves the requester's own password. */
export function passwordStageFor(hs: Homeserver, requester: Requester): Record<string, StageVerifier> {
  return {
    "m.login.password": async (auth) => {
      const userId = loginUserOf(hs, auth);
      if (typeof auth.password !== "string") throw new MatrixError(400, "M_MISSING_PARAM", "Missing password");
      if (userId !== requester.userId) throw forbidden("The authenticated user does not match the user of this session");
      hs.rateLimiter.check("failed_login_per_account", userId);
      const ok = await verifyPassword(auth.password, hs.store.users.get(userId)?.passwordHash);
      if (!ok) {
        hs.rateLimiter.consume("failed_login_per_account", userId);
        throw forbidden("Invalid password");
      }
    },
  };
}
