// Creating accounts: the one path used by /register, the admin APIs and the CLI.
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { randomString } from "../util/secrets";
import { now } from "../util/time";
import { hashPassword } from "./passwords";
import { checkNewLocalpart, userIdOf } from "./user-ids";
import { issueCredentials, type IssuedCredentials } from "./credentials";
import { isAcceptablePassword } from "./passwords";
import type { Flows, StageVerifier } from "./uia";

export const userInUse = () => new MatrixError(400, "M_USER_IN_USE", "User ID already taken.");

export interface NewAccount {
  localpart: string;
  password?: string | null;
  admin?: boolean;
  guest?: boolean;
  displayName?: string | null;
}

/** Checks the localpart's grammar and that nobody holds it (M_INVALID_USERNAME, M_USER_IN_USE). */
export function checkUsernameAvailable(hs: Homeserver, localpart: string): string {
  checkNewLocalpart(localpart, hs.config.server_name);
  const userId = userIdOf(localpart, hs.config.server_name);
  if (hs.store.users.get(userId)) throw userInUse();
  return userId;
}

/**
 * Creates the account row; the password is hashed first (outside any transaction).
 * Returns a function that inserts it, to be run inside the caller's transaction
 * together with whatever else the registration writes.
 */
export async function prepareAccount(hs: Homeserver, account: NewAccount): Promise<{ userId: string; insert: () => void }> {
  const guest = account.guest ?? false;
  checkNewLocalpart(account.localpart, hs.config.server_name, guest);
  const userId = userIdOf(account.localpart, hs.config.server_name);
  const passwordHash = account.password ? await hashPassword(account.password, hs.config.password_hashing) : null;
  return {
    userId,
    insert: () => {
      if (hs.store.users.get(userId)) throw userInUse();
      hs.store.users.insert({
        userId,
        passwordHash,
        isAdmin: account.admin ?? false,
        isGuest: guest,
        // The spec's default display name is the localpart (profile module, "Display name").
        displayName: account.displayName ?? (guest ? null : account.localpart),
        createdTs: now(),
      });
    },
  };
}

/** Creates an account in its own transaction. */
export async function createAccount(hs: Homeserver, account: NewAccount): Promise<string> {
  const prepared = await prepareAccount(hs, account);
  hs.store.transaction(prepared.insert);
  return prepared.userId;
}

/** A free localpart for a registration that did not ask for one; numeric for guests (as Synapse does). */
export function generateLocalpart(hs: Homeserver, guest: boolean): string {
  for (;;) {
    const candidate = guest ? String(Math.floor(Math.random() * 1e12)) : `user-${randomString(10, "abcdefghijklmnopqrstuvwxyz0123456789")}`;
    if (!hs.store.users.get(userIdOf(candidate, hs.config.server_name))) return candidate;
  }
}

/**
 * A registration token can be used if it exists, has not expired and has uses left
 * counting registrations in progress (spec: "Token-authenticated registration").
 */
export function isRegistrationTokenUsable(hs: Homeserver, token: string): boolean {
  const row = hs.store.registrationTokens.get(token);
  if (!row) return false;
  if (row.expiryTime !== null && row.expiryTime <= now()) return false;
  if (row.usesAllowed !== null && row.completed + hs.uia.pendingUsesOf(token) >= row.usesAllowed) return false;
  return true;
}

export function newRegistrationToken(): string {
  return randomString(16);
}

/**
 * On a start with no accounts and closed registration, a one-time token lets the
 * first account register from any client; that account becomes an admin. Returns
 * the token to print, or null when there is nothing to bootstrap.
 */
export function bootstrapTokenForFirstStart(hs: Homeserver): string | null {
  if (hs.config.registration !== "closed" || hs.store.users.count() > 0) return null;
  const existing = hs.store.registrationTokens.findBootstrap();
  if (existing && existing.completed === 0) return existing.token;
  const token = newRegistrationToken();
  hs.store.registrationTokens.insert({ token, usesAllowed: 1, expiryTime: null, grantsAdmin: true });
  return token;
}

export interface RegisterRequest {
  auth?: unknown;
  username?: string;
  password?: string;
  device_id?: string;
  initial_device_display_name?: string;
  inhibit_login?: boolean;
  refresh_token?: boolean;
}

export interface RegisterResponse extends Partial<IssuedCredentials> {
  user_id: string;
  home_server: string;
}

export const registrationDisabled = () => new MatrixError(403, "M_FORBIDDEN", "Registration has been disabled");

/**
 * The UIA flows /register offers under the current configuration, or null when
 * registration is closed (except the first-start token, see bootstrapTokenForFirstStart).
 */
export function registrationFlows(hs: Homeserver): Flows | null {
  switch (hs.config.registration) {
    case "open":
      return [["m.login.dummy"]];
    case "token":
      return [["m.login.registration_token"]];
    case "closed":
      return hs.store.registrationTokens.findBootstrap() && hs.store.users.count() === 0
        ? [["m.login.registration_token"]]
        : null;
  }
}

const STAGES: Record<string, (hs: Homeserver) => StageVerifier> = {
  "m.login.dummy": () => () => {},
  "m.login.registration_token": (hs) => (auth, session) => {
    if (typeof auth.token !== "string") throw new MatrixError(400, "M_MISSING_PARAM", "Missing token");
    // A session that already validated this token keeps its place (it counts as pending).
    if (session.registrationToken !== auth.token && !isRegistrationTokenUsable(hs, auth.token)) {
      throw new MatrixError(401, "M_FORBIDDEN", "Invalid registration token");
    }
    session.registrationToken = auth.token;
  },
};

/**
 * POST /register for kind=user (spec: "Account registration"): checks the
 * username before any auth step so clients learn early that it is taken, runs
 * user-interactive auth, then creates the account and (unless inhibit_login)
 * its first device in one transaction.
 */
export async function registerUser(hs: Homeserver, body: RegisterRequest, ip: string): Promise<RegisterResponse> {
  const flows = registrationFlows(hs);
  if (flows === null) throw registrationDisabled();
  const localpart = body.username?.toLowerCase();
  if (localpart !== undefined) checkUsernameAvailable(hs, localpart);
  if (body.password !== undefined && !isAcceptablePassword(body.password)) {
    throw new MatrixError(400, "M_WEAK_PASSWORD", "Password must be between 1 and 512 bytes");
  }
  // Refuse an exhausted bucket before auth: completing UIA ends the session, so a 429
  // after it would leave the client (which retries the same request) with a dead session.
  // The token is only taken once auth is complete, so UIA challenges cost nothing.
  hs.rateLimiter.check("registration", ip);
  const verifiers = Object.fromEntries(flows.flat().map((stage) => [stage, STAGES[stage]!(hs)]));
  const session = await hs.uia.authenticate({ auth: body.auth, flows, verifiers });
  hs.rateLimiter.take("registration", ip);

  const prepared = await prepareAccount(hs, {
    localpart: localpart ?? generateLocalpart(hs, false),
    password: body.password ?? null,
  });
  return hs.store.transaction(() => {
    let admin = false;
    if (session.registrationToken !== undefined) {
      const row = hs.store.registrationTokens.get(session.registrationToken);
      if (!row || (row.usesAllowed !== null && row.completed >= row.usesAllowed)) {
        throw new MatrixError(401, "M_FORBIDDEN", "Registration token is no longer valid");
      }
      hs.store.registrationTokens.recordUse(row.token);
      admin = row.grantsAdmin;
    }
    prepared.insert();
    if (admin) hs.store.users.setAdmin(prepared.userId, true);
    return finishRegistration(hs, prepared.userId, body, ip);
  });
}

/** POST /register?kind=guest: no auth, no password; only when guest access is enabled. */
export function registerGuest(hs: Homeserver, body: RegisterRequest, ip: string): RegisterResponse {
  if (!hs.config.allow_guest_access) {
    throw new MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is disabled on this server");
  }
  hs.rateLimiter.take("registration", ip);
  const localpart = generateLocalpart(hs, true);
  return hs.store.transaction(() => {
    const userId = userIdOf(localpart, hs.config.server_name);
    hs.store.users.insert({ userId, passwordHash: null, isGuest: true, createdTs: now() });
    // Guests always get a new device; device_id is ignored as the spec says.
    return finishRegistration(hs, userId, { ...body, device_id: undefined, inhibit_login: false }, ip);
  });
}

function finishRegistration(hs: Homeserver, userId: string, body: RegisterRequest, ip: string): RegisterResponse {
  const base = { user_id: userId, home_server: hs.config.server_name };
  if (body.inhibit_login) return base;
  const credentials = issueCredentials(hs, userId, {
    deviceId: body.device_id,
    displayName: body.initial_device_display_name,
    refreshable: body.refresh_token === true,
    ip,
  });
  return { ...base, ...credentials };
}
