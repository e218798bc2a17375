// Server-side key backups (spec: Client-Server API, "End-to-End Encryption",
// "Server-side key backups"). The server stores encrypted megolm sessions per
// backup version and never looks inside them; it only compares the metadata the
// spec names to decide which copy of a session to keep.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import type { BackupSessionRow, BackupVersionRow } from "../store/backup";
import { canonicalJson } from "../util/canonical-json";

type Json = Record<string, unknown>;

/** KeyBackupData (spec: definitions/key_backup_data). */
export interface BackedUpKey {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Json;
}

export type RoomKeyBackups = Record<string, { sessions: Record<string, BackedUpKey> }>;

export interface BackupVersionInfo {
  algorithm: string;
  auth_data: Json;
  count: number;
  etag: string;
  version: string;
}

const unknownVersion = () => notFound("Unknown backup version");

/**
 * Version ids are opaque strings in the API; ours are the decimal form of a
 * per-user counter. Anything else names no backup (404, as Synapse answers).
 */
function parseVersion(version: string): number | undefined {
  if (!/^[1-9][0-9]{0,14}$/.test(version)) return undefined;
  return Number(version);
}

/** The live (not deleted) version `version` of the user, or 404 M_NOT_FOUND. */
function liveVersion(hs: Homeserver, userId: string, version: string): BackupVersionRow {
  const number = parseVersion(version);
  const row = number === undefined ? undefined : hs.store.backup.version(userId, number);
  if (!row || row.deleted) throw unknownVersion();
  return row;
}

function versionInfo(hs: Homeserver, row: BackupVersionRow): BackupVersionInfo {
  return {
    algorithm: row.algorithm,
    auth_data: JSON.parse(row.authData) as Json,
    count: hs.store.backup.countSessions(row.userId, row.version),
    etag: String(row.etag),
    version: String(row.version),
  };
}

/**
 * POST /room_keys/version. The new version becomes the current one. Numbers are
 * never reused, deleted versions included, so a client holding an old id cannot
 * write into a newer backup by mistake.
 */
export function createBackupVersion(hs: Homeserver, userId: string, body: { algorithm: string; auth_data: Json }): { version: string } {
  return hs.store.transaction(() => {
    const version = hs.store.backup.highestVersion(userId) + 1;
    hs.store.backup.insertVersion({ userId, version, algorithm: body.algorithm, authData: canonicalJson(body.auth_data) });
    return { version: String(version) };
  });
}

/** GET /room_keys/version[/{version}]: without a version, the current (latest live) backup. */
export function getBackupVersion(hs: Homeserver, userId: string, version?: string): BackupVersionInfo {
  if (version === undefined) {
    const current = hs.store.backup.currentVersion(userId);
    if (!current) throw notFound("No current backup version");
    return versionInfo(hs, current);
  }
  return versionInfo(hs, liveVersion(hs, userId, version));
}

/**
 * PUT /room_keys/version/{version}: "Only auth_data can be modified". The body's
 * algorithm must be the backup's, and its version, if present, the path's
 * (400 M_INVALID_PARAM otherwise).
 */
export function updateBackupVersion(hs: Homeserver, userId: string, version: string, body: { algorithm: string; auth_data: Json; version?: string }): Record<string, never> {
  if (body.version !== undefined && body.version !== version) {
    throw new MatrixError(400, "M_INVALID_PARAM", "Version in body does not match");
  }
  const row = liveVersion(hs, userId, version);
  if (body.algorithm !== row.algorithm) throw new MatrixError(400, "M_INVALID_PARAM", "Algorithm does not match");
  hs.store.transaction(() => hs.store.backup.setAuthData(userId, row.version, canonicalJson(body.auth_data)));
  return {};
}

/**
 * DELETE /room_keys/version/{version}: the version and all its keys. Deleting a
 * version that was already deleted succeeds (the spec's 200 "or the specified
 * backup was previously deleted"); one that never existed is 404.
 */
export function deleteBackupVersion(hs: Homeserver, userId: string, version: string): Record<string, never> {
  const number = parseVersion(version);
  const row = number === undefined ? undefined : hs.store.backup.version(userId, number);
  if (!row) throw unknownVersion();
  if (!row.deleted) hs.store.transaction(() => hs.store.backup.markDeleted(userId, row.version));
  return {};
}

/**
 * Whether an uploaded key should replace the stored copy of the same session.
 * The spec's order ("Server-side key backups"): a key with `is_verified` true
 * beats one without; when both agree, the lower `first_message_index` wins
 * (it can decrypt more); when that is equal too, the lower `forwarded_count`
 * (fewer hops). A key that is no better keeps the stored one.
 */
export function isBetterBackupKey(candidate: BackedUpKey, stored: BackedUpKey): boolean {
  if (candidate.is_verified !== stored.is_verified) return candidate.is_verified;
  if (candidate.first_message_index !== stored.first_message_index) return candidate.first_message_index < stored.first_message_index;
  return candidate.forwarded_count < stored.forwarded_count;
}

function keyOf(row: BackupSessionRow): BackedUpKey {
  return {
    first_message_index: row.firstMessageIndex,
    forwarded_count: row.forwardedCount,
    is_verified: row.isVerified,
    session_data: JSON.parse(row.sessionData) as Json,
  };
}

/**
 * The version a client may write to: only the current one ("Keys can only be
 * written to the most recently created version of the backup"). Another live
 * version is 403 M_WRONG_ROOM_KEYS_VERSION naming the current one; a version
 * that does not exist (or was deleted) is 404.
 */
function writableVersion(hs: Homeserver, userId: string, version: string): BackupVersionRow {
  const current = hs.store.backup.currentVersion(userId);
  const requested = liveVersion(hs, userId, version);
  if (current!.version !== requested.version) {
    throw new MatrixError(403, "M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version.", { current_version: String(current!.version) });
  }
  return requested;
}

function checkRoomId(roomId: string): void {
  if (!roomId.startsWith("!")) throw new MatrixError(400, "M_INVALID_PARAM", `${roomId} is not a room id`);
}

/** The etag and count after a change; the etag moves only when stored keys did. */
function afterChange(hs: Homeserver, row: BackupVersionRow, changed: boolean): { etag: string; count: number } {
  let etag = row.etag;
  if (changed) hs.store.backup.setEtag(row.userId, row.version, ++etag);
  return { etag: String(etag), count: hs.store.backup.countSessions(row.userId, row.version) };
}

/** PUT /room_keys/keys[/{roomId}[/{sessionId}]]: all three shapes arrive here as a map of rooms. */
export function putRoomKeys(hs: Homeserver, userId: string, version: string, rooms: RoomKeyBackups): { etag: string; count: number } {
  const { backup } = hs.store;
  return hs.store.transaction(() => {
    const row = writableVersion(hs, userId, version);
    let changed = false;
    for (const [roomId, { sessions }] of Object.entries(rooms)) {
      checkRoomId(roomId);
      for (const [sessionId, key] of Object.entries(sessions)) {
        const stored = backup.session(userId, row.version, roomId, sessionId);
        if (stored && !isBetterBackupKey(key, keyOf(stored))) continue;
        backup.putSession({
          userId,
          version: row.version,
          roomId,
          sessionId,
          firstMessageIndex: key.first_message_index,
          forwardedCount: key.forwarded_count,
          isVerified: key.is_verified,
          sessionData: canonicalJson(key.session_data),
        });
        changed = true;
      }
    }
    return afterChange(hs, row, changed);
  });
}

/** GET /room_keys/keys[/{roomId}]: the stored sessions as a map of rooms (empty when none). */
export function getRoomKeys(hs: Homeserver, userId: string, version: string, roomId?: string): RoomKeyBackups {
  const row = liveVersion(hs, userId, version);
  // Grouped in Maps and built with fromEntries: session ids are client-chosen
  // strings, and one named "__proto__" must stay an ordinary member.
  const byRoom = new Map<string, [string, BackedUpKey][]>();
  for (const session of hs.store.backup.sessions(userId, row.version, roomId)) {
    let sessions = byRoom.get(session.roomId);
    if (!sessions) byRoom.set(session.roomId, (sessions = []));
    sessions.push([session.sessionId, keyOf(session)]);
  }
  return Object.fromEntries([...byRoom].map(([room, sessions]) => [room, { sessions: Object.fromEntries(sessions) }]));
}

/** GET /room_keys/keys/{roomId}: no keys for the room is {"sessions": {}}, not an error. */
export function getRoomSessions(hs: Homeserver, userId: string, version: string, roomId: string): { sessions: Record<string, BackedUpKey> } {
  const rooms = getRoomKeys(hs, userId, version, roomId);
  return Object.hasOwn(rooms, roomId) ? rooms[roomId]! : { sessions: {} };
}

/** GET /room_keys/keys/{roomId}/{sessionId}: 404 when the backup holds no key for it. */
export function getRoomKey(hs: Homeserver, userId: string, version: string, roomId: string, sessionId: string): BackedUpKey {
  const row = liveVersion(hs, userId, version);
  const session = hs.store.backup.session(userId, row.version, roomId, sessionId);
  if (!session) throw notFound("Key not found.");
  return keyOf(session);
}

/**
 * DELETE /room_keys/keys[/{roomId}[/{sessionId}]]. Allowed on any live version
 * (cleaning up an old backup is harmless); 404 for one that does not exist.
 */
export function deleteRoomKeys(hs: Homeserver, userId: string, version: string, roomId?: string, sessionId?: string): { etag: string; count: number } {
  return hs.store.transaction(() => {
    const row = liveVersion(hs, userId, version);
    const deleted = hs.store.backup.deleteSessions(userId, row.version, roomId, sessionId);
    return afterChange(hs, row, deleted > 0);
  });
}
