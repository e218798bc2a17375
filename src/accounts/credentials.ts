// Access tokens, refresh tokens and the devices they belong to (spec: Client-Server
// API, "Client Authentication", "Refreshing access tokens", "Relationship between
// access tokens and devices").
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { randomDeviceId, randomString, sha256Hex } from "../util/secrets";
import { perInstance } from "../util/per-instance";
import { now } from "../util/time";

export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
  isAdmin: boolean;
  /** SHA-256 of the access token used, to revoke exactly this token. */
  tokenHash: string;
}

export interface IssuedCredentials {
  user_id: string;
  access_token: string;
  device_id: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

/** `syt_` + base64 of the localpart + random part, like Synapse, so tokens are recognisable in logs and leaks. */
function newAccessToken(userId: string): string {
  const localpart = userId.slice(1, userId.indexOf(":"));
  return `syt_${Buffer.from(localpart).toString("base64url")}_${randomString(20)}_${randomString(6)}`;
}

function newRefreshToken(userId: string): string {
  const localpart = userId.slice(1, userId.indexOf(":"));
  return `syr_${Buffer.from(localpart).toString("base64url")}_${randomString(20)}_${randomString(6)}`;
}

/**
 * Logs a user in on a device: reuses `deviceId` if the user has it (revoking its
 * old tokens, as the spec requires for login with an existing device_id), otherwise
 * creates the device. The display name only names a new device: the spec's
 * initial_device_display_name is "ignored if device_id corresponds to a known
 * device" (POST /login, POST /register). Must run inside a store transaction.
 */
export function issueCredentials(
  hs: Homeserver,
  userId: string,
  options: { deviceId?: string; displayName?: string | null; refreshable?: boolean; ip?: string },
): IssuedCredentials {
  const { devices } = hs.store;
  const deviceId = options.deviceId ?? randomDeviceId();
  const ts = now();
  if (devices.get(userId, deviceId)) {
    devices.revokeCredentials(userId, deviceId);
  } else {
    devices.insert({ userId, deviceId, displayName: options.displayName ?? null, createdTs: ts });
  }
  if (options.ip) devices.recordLastSeen(userId, deviceId, ts, options.ip);
  return mintTokens(hs, userId, deviceId, options.refreshable ?? false);
}

/**
 * Issues an access token, and with `refreshable` a refresh token and an expiry.
 * `replacesRefreshHash` is the refresh token this pair was issued for: it stays
 * valid until the new pair is first used (spec: POST /refresh).
 */
function mintTokens(hs: Homeserver, userId: string, deviceId: string, refreshable: boolean, replacesRefreshHash: string | null = null): IssuedCredentials {
  const ts = now();
  const accessToken = newAccessToken(userId);
  const refreshToken = refreshable ? newRefreshToken(userId) : null;
  const refreshTokenHash = refreshToken ? sha256Hex(refreshToken) : null;
  const lifetime = hs.config.refreshable_access_token_lifetime_ms;
  hs.store.devices.insertAccessToken({
    tokenHash: sha256Hex(accessToken),
    userId,
    deviceId,
    createdTs: ts,
    expiresTs: refreshable ? ts + lifetime : null,
    refreshTokenHash,
    replacesRefreshHash,
  });
  const issued: IssuedCredentials = { user_id: userId, access_token: accessToken, device_id: deviceId };
  if (refreshToken && refreshTokenHash) {
    hs.store.devices.insertRefreshToken({ tokenHash: refreshTokenHash, userId, deviceId, createdTs: ts, replacesHash: replacesRefreshHash });
    issued.refresh_token = refreshToken;
    issued.expires_in_ms = lifetime;
  }
  return issued;
}

const unknownToken = (message: string, softLogout = false) =>
  new MatrixError(401, "M_UNKNOWN_TOKEN", message, { soft_logout: softLogout });

/** Resolves an access token to its user and device, or throws M_UNKNOWN_TOKEN. */
export function authenticateAccessToken(hs: Homeserver, accessToken: string): Requester {
  const tokenHash = sha256Hex(accessToken);
  // The lookup is by hash, so the token itself is never compared byte by byte.
  const row = hs.store.devices.findAccessToken(tokenHash);
  if (!row) throw unknownToken("Unknown access token");
  // An expired refreshable token is a soft logout: the client refreshes and keeps its device.
  if (row.expiresTs !== null && row.expiresTs <= now()) throw unknownToken("Access token has expired", true);
  const user = hs.store.users.get(row.userId);
  if (!user || user.deactivated) throw unknownToken("Unknown access token");
  // First use of a refreshed pair: the refresh token it came from is now spent.
  if (row.replacesRefreshHash) {
    hs.store.transaction(() => {
      hs.store.devices.revokeRefreshPair(row.replacesRefreshHash!);
      hs.store.devices.clearReplaced(tokenHash, row.refreshTokenHash);
    });
  }
  return { userId: row.userId, deviceId: row.deviceId, isGuest: user.isGuest, isAdmin: user.isAdmin, tokenHash };
}

/**
 * Exchanges a refresh token for a new access/refresh pair (spec: POST /refresh).
 * The old refresh token stays valid until the new access or refresh token is
 * used, so a client that lost the response can retry; retrying replaces the
 * unused pair of the earlier attempt.
 */
export function refreshCredentials(hs: Homeserver, refreshToken: string): Omit<IssuedCredentials, "user_id" | "device_id"> {
  return hs.store.transaction(() => {
    const hash = sha256Hex(refreshToken);
    const row = hs.store.devices.findRefreshToken(hash);
    if (!row) throw unknownToken("Unknown refresh token");
    const user = hs.store.users.get(row.userId);
    if (!user || user.deactivated) throw unknownToken("Unknown refresh token");
    // Using this token spends the one it replaced, and any unused pair issued for it earlier.
    if (row.replacesHash) hs.store.devices.revokeRefreshPair(row.replacesHash);
    for (const successor of hs.store.devices.successorsOf(hash)) hs.store.devices.revokeRefreshPair(successor);
    const { access_token, refresh_token, expires_in_ms } = mintTokens(hs, row.userId, row.deviceId, true, hash);
    return { access_token, refresh_token, expires_in_ms };
  });
}

// last_seen_ts/last_seen_ip are written at most once a minute per device, with
// the address of the request that writes them, so authenticated requests do not
// each cost a database write (nor the look-up of the peer's address, which is
// asked for only when it is written).
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;
const lastSeenWrites = perInstance<string, number>();

export function recordDeviceActivity(hs: Homeserver, requester: Requester, ipOfRequest: () => string): void {
  const seen = lastSeenWrites(hs);
  const key = `${requester.userId}\u0000${requester.deviceId}`;
  const ts = now();
  const previous = seen.get(key);
  if (previous !== undefined && ts - previous < LAST_SEEN_WRITE_INTERVAL_MS) return;
  if (seen.size > 50_000) seen.clear();
  seen.set(key, ts);
  hs.store.devices.recordLastSeen(requester.userId, requester.deviceId, ts, ipOfRequest());
}
