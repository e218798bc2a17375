// Server administration: what the admin HTTP API and the CLI do to accounts and
// registration tokens (a subset of Synapse's admin API, in its shapes).
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import type { RegistrationTokenRow } from "../store/registration-tokens";
import type { UserRow } from "../store/users";
import { randomString } from "../util/secrets";
import { now } from "../util/time";
import { changePassword, deactivateAccount } from "./account";
import { isAcceptablePassword } from "./passwords";
import { prepareAccount } from "./registration";
import { parseUserId } from "./user-ids";

export function adminUserView(user: UserRow) {
  return {
    name: user.userId,
    is_guest: user.isGuest,
    admin: user.isAdmin,
    deactivated: user.deactivated,
    displayname: user.displayName,
    avatar_url: user.avatarUrl,
    creation_ts: user.createdTs,
  };
}

export function localUserOrThrow(hs: Homeserver, userId: string): UserRow {
  if (parseUserId(userId)?.serverName !== hs.config.server_name) {
    throw new MatrixError(400, "M_INVALID_PARAM", "Can only manage local users");
  }
  const user = hs.store.users.get(userId);
  if (!user) throw notFound("User not found");
  return user;
}

export interface UserChanges {
  password?: string;
  admin?: boolean;
  deactivated?: boolean;
  displayname?: string | null;
  logout_devices?: boolean;
}

/**
 * PUT /_synapse/admin/v2/users/{userId}: creates the user if absent, otherwise applies the changes.
 * `keepDeviceId` survives a password change's logout (the admin's own device, see synapse-admin.ts).
 */
export async function upsertUser(
  hs: Homeserver,
  userId: string,
  changes: UserChanges,
  keepDeviceId: string | null = null,
): Promise<{ created: boolean; user: UserRow }> {
  const parsed = parseUserId(userId);
  if (parsed?.serverName !== hs.config.server_name) throw new MatrixError(400, "M_INVALID_PARAM", "Can only manage local users");
  if (changes.password !== undefined && !isAcceptablePassword(changes.password)) {
    throw new MatrixError(400, "M_WEAK_PASSWORD", "Password must be between 1 and 512 bytes");
  }
  const existing = hs.store.users.get(userId);
  if (!existing) {
    const prepared = await prepareAccount(hs, {
      localpart: parsed.localpart,
      password: changes.password ?? null,
      admin: changes.admin ?? false,
      displayName: changes.displayname,
    });
    hs.store.transaction(prepared.insert);
    if (changes.deactivated) deactivateAccount(hs, userId, { erase: false });
    return { created: true, user: hs.store.users.get(userId)! };
  }
  if (changes.password !== undefined) {
    await changePassword(hs, userId, changes.password, { logoutDevices: changes.logout_devices ?? true, keepDeviceId });
  }
  hs.store.transaction(() => {
    if (changes.admin !== undefined) hs.store.users.setAdmin(userId, changes.admin);
    if (changes.displayname !== undefined) hs.store.users.setDisplayName(userId, changes.displayname);
    if (changes.deactivated === false) hs.store.users.setDeactivated(userId, false);
  });
  if (changes.deactivated === true && !existing.deactivated) deactivateAccount(hs, userId, { erase: false });
  return { created: false, user: hs.store.users.get(userId)! };
}

export function registrationTokenView(hs: Homeserver, row: RegistrationTokenRow) {
  return {
    token: row.token,
    uses_allowed: row.usesAllowed,
    pending: hs.uia.pendingUsesOf(row.token),
    completed: row.completed,
    expiry_time: row.expiryTime,
  };
}

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export function createRegistrationToken(
  hs: Homeserver,
  options: { token?: string; uses_allowed?: number | null; expiry_time?: number | null; length?: number },
): RegistrationTokenRow {
  // Synapse: `length` (1-64, default 16) sizes a generated token; it is ignored when `token` is given.
  const token = options.token ?? randomString(options.length ?? 16);
  if (!TOKEN_PATTERN.test(token)) {
    throw new MatrixError(400, "M_INVALID_PARAM", "token must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'");
  }
  if (options.expiry_time != null && options.expiry_time < now()) {
    throw new MatrixError(400, "M_INVALID_PARAM", "expiry_time must not be in the past");
  }
  if (hs.store.registrationTokens.get(token)) throw new MatrixError(400, "M_INVALID_PARAM", `Token already exists: ${token}`);
  hs.store.registrationTokens.insert({ token, usesAllowed: options.uses_allowed ?? null, expiryTime: options.expiry_time ?? null });
  return hs.store.registrationTokens.get(token)!;
}

/**
 * PUT /_synapse/admin/v1/registration_tokens/{token}: omitted fields keep their value;
 * as on creation, an expiry time in the past is refused (Synapse does the same).
 */
export function updateRegistrationToken(
  hs: Homeserver,
  token: string,
  changes: { uses_allowed?: number | null; expiry_time?: number | null },
): RegistrationTokenRow {
  if (!hs.store.registrationTokens.get(token)) throw notFound("No such registration token");
  if (changes.expiry_time != null && changes.expiry_time < now()) {
    throw new MatrixError(400, "M_INVALID_PARAM", "expiry_time must not be in the past");
  }
  const update: { usesAllowed?: number | null; expiryTime?: number | null } = {};
  if (changes.uses_allowed !== undefined) update.usesAllowed = changes.uses_allowed;
  if (changes.expiry_time !== undefined) update.expiryTime = changes.expiry_time;
  // An UPDATE with nothing to set is an error in drizzle; an empty body just reads the token.
  if (Object.keys(update).length > 0) hs.store.registrationTokens.update(token, update);
  return hs.store.registrationTokens.get(token)!;
}
