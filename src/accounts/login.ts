// POST /login with m.login.password (spec: "Login").
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { loginUserOf } from "./password-auth";
import { issueCredentials, type IssuedCredentials } from "./credentials";
import { verifyPassword } from "./passwords";

export interface LoginRequest {
  type: string;
  identifier?: unknown;
  user?: unknown;
  password?: unknown;
  device_id?: string;
  initial_device_display_name?: string;
  refresh_token?: boolean;
}

export const LOGIN_FLOWS = [{ type: "m.login.password" }];

const invalidLogin = () => forbidden("Invalid username or password");

/**
 * Checks the password and issues credentials. Rate limits: every attempt takes a
 * token of the per-address `login` bucket; failed attempts also drain the account's
 * `failed_login_per_account` bucket, so guessing one account's password backs off.
 */
export async function loginWithPassword(hs: Homeserver, body: LoginRequest, ip: string): Promise<IssuedCredentials> {
  if (body.type !== "m.login.password") throw new MatrixError(400, "M_UNKNOWN", `Unknown login type ${JSON.stringify(body.type)}`);
  hs.rateLimiter.take("login", ip);
  const userId = loginUserOf(hs, body as unknown as Record<string, unknown>);
  if (typeof body.password !== "string") throw new MatrixError(400, "M_MISSING_PARAM", "Missing password");
  if (userId === null) {
    await verifyPassword(body.password, null);
    throw invalidLogin();
  }
  hs.rateLimiter.check("failed_login_per_account", userId);
  const user = hs.store.users.get(userId);
  if (user?.deactivated) {
    await verifyPassword(body.password, null);
    throw new MatrixError(403, "M_USER_DEACTIVATED", "This account has been deactivated");
  }
  if (!(await verifyPassword(body.password, user?.passwordHash))) {
    hs.rateLimiter.consume("failed_login_per_account", userId);
    throw invalidLogin();
  }
  return hs.store.transaction(() =>
    issueCredentials(hs, userId, {
      deviceId: body.device_id,
      displayName: body.initial_device_display_name,
      refreshable: body.refresh_token === true,
      ip,
    }),
  );
}
