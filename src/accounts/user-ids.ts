// User identifiers (spec appendix "Identifier Grammar", "User Identifiers").
import { MatrixError } from "../http/errors";

/** Localparts this server hands out: lowercase, per the current grammar (no historical characters). */
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const MAX_USER_ID_LENGTH = 255;

export const invalidUsername = (message: string) => new MatrixError(400, "M_INVALID_USERNAME", message);

export function userIdOf(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

export function parseUserId(userId: string): { localpart: string; serverName: string } | null {
  const match = /^@([^:]+):(.+)$/.exec(userId);
  return match ? { localpart: match[1]!, serverName: match[2]! } : null;
}

/**
 * Checks a localpart requested at registration. Throws M_INVALID_USERNAME naming the rule.
 * Numeric localparts are reserved for guests (as Synapse does), and a leading
 * underscore for application services.
 */
export function checkNewLocalpart(localpart: string, serverName: string, forGuest = false): void {
  if (localpart.length === 0) throw invalidUsername("User ID cannot be empty");
  if (!LOCALPART.test(localpart)) {
    throw invalidUsername("User ID can only contain characters a-z, 0-9, or '=_-./+'");
  }
  if (localpart.startsWith("_")) throw invalidUsername("User ID may not begin with '_'");
  if (!forGuest && /^\d+$/.test(localpart)) throw invalidUsername("Numeric user IDs are reserved for guest users");
  if (userIdOf(localpart, serverName).length > MAX_USER_ID_LENGTH) {
    throw invalidUsername(`User ID may not be longer than ${MAX_USER_ID_LENGTH} characters`);
  }
}

/**
 * Resolves what a client typed at login (a localpart or a full user id, in any
 * case) to the user id on this server, or null when it names another server.
 */
export function userIdFromLogin(input: string, serverName: string): string | null {
  const lowered = input.toLowerCase();
  if (!lowered.startsWith("@")) return userIdOf(lowered, serverName);
  const parsed = parseUserId(lowered);
  if (!parsed || parsed.serverName !== serverName.toLowerCase()) return null;
  return userIdOf(parsed.localpart, serverName);
}
