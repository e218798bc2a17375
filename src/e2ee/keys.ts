// Device keys, one-time and fallback keys (spec: Client-Server API, "End-to-End
// Encryption", "Key management API"). The server stores, serves and notifies;
// it never looks inside the keys.
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { isUserId, serverNameOf } from "../rooms/ids";
import { loadEvent, notifyUsersSharingARoom, stateEventAt, usersSharingARoom } from "../rooms/room-state";
import { canonicalJson } from "../util/canonical-json";
import { crossSigningKeysFor, deviceSignatures } from "./cross-signing";

type Json = Record<string, unknown>;

export interface KeysUpload {
  device_keys?: Json;
  one_time_keys?: Record<string, unknown>;
  fallback_keys?: Record<string, unknown>;
}

/**
 * Records that a user's device list changed and wakes everyone who shares a room
 * with them (they see the user in device_lists.changed). Runs inside the caller's
 * transaction.
 */
export function deviceListChanged(hs: Homeserver, userId: string): void {
  const pos = hs.store.stream.next();
  hs.store.keys.recordChange(userId, pos);
  hs.store.afterCommit(() => notifyUsersSharingARoom(hs, userId, pos));
}

function splitKeyId(id: string): [string, string] {
  const colon = id.indexOf(":");
  if (colon <= 0 || colon === id.length - 1) throw new MatrixError(400, "M_INVALID_PARAM", `Key id ${id} is not <algorithm>:<id>`);
  return [id.slice(0, colon), id.slice(colon + 1)];
}

/**
 * POST /keys/upload, and the keys of a dehydrated device (MSC3814), which has no
 * access token of its own. Identical re-uploads are accepted (clients send them
 * concurrently).
 */
export function uploadKeys(hs: Homeserver, requester: Pick<Requester, "userId" | "deviceId">, upload: KeysUpload): { one_time_key_counts: Record<string, number> } {
  const { userId, deviceId } = requester;
  const { keys } = hs.store;
  hs.store.transaction(() => {
    if (upload.device_keys !== undefined) {
      const deviceKeys = upload.device_keys;
      if (deviceKeys.user_id !== userId || deviceKeys.device_id !== deviceId) {
        throw new MatrixError(400, "M_INVALID_PARAM", "device_keys must be for the authenticated user and device");
      }
      if (typeof deviceKeys.keys !== "object" || deviceKeys.keys === null || !Array.isArray(deviceKeys.algorithms)) {
        throw new MatrixError(400, "M_BAD_JSON", "device_keys needs algorithms and keys");
      }
      const json = canonicalJson(deviceKeys);
      const existing = keys.deviceKeys(userId, deviceId);
      if (existing !== json) {
        // A device's identity keys never change: a client that wants new ones needs a new device.
        if (existing !== undefined && canonicalJson((JSON.parse(existing) as Json).keys) !== canonicalJson(deviceKeys.keys)) {
          throw new MatrixError(400, "M_INVALID_PARAM", "The device's identity keys cannot change; log in as a new device");
        }
        keys.putDeviceKeys(userId, deviceId, json);
        deviceListChanged(hs, userId);
      }
    }
    for (const [id, key] of Object.entries(upload.one_time_keys ?? {})) {
      const [algorithm, keyId] = splitKeyId(id);
      const json = canonicalJson(key);
      const existing = keys.oneTimeKey(userId, deviceId, algorithm, keyId);
      if (existing !== undefined && existing !== json) {
        throw new MatrixError(400, "M_INVALID_PARAM", `One-time key ${id} already exists with different content`);
      }
      if (existing === undefined) keys.addOneTimeKey({ userId, deviceId, algorithm, keyId, json });
    }
    for (const [id, key] of Object.entries(upload.fallback_keys ?? {})) {
      const [algorithm, keyId] = splitKeyId(id);
      keys.putFallbackKey({ userId, deviceId, algorithm, keyId, json: canonicalJson(key) });
    }
  });
  return { one_time_key_counts: keys.oneTimeKeyCounts(userId, deviceId) };
}

/**
 * POST /keys/query for local users, with their cross-signing keys and the
 * signatures uploaded for them; other servers are listed in failures until
 * federation exists.
 */
export function queryKeys(hs: Homeserver, requester: Requester, wanted: Record<string, string[]>) {
  const deviceKeys: Record<string, Record<string, unknown>> = {};
  const failures: Record<string, unknown> = {};
  const masterKeys: Record<string, Json> = {};
  const selfSigningKeys: Record<string, Json> = {};
  const userSigningKeys: Record<string, Json> = {};
  for (const [userId, deviceIds] of Object.entries(wanted)) {
    if (!isUserId(userId)) continue;
    if (serverNameOf(userId) !== hs.config.server_name) {
      failures[serverNameOf(userId)] = { status: 503, message: "Federation is not available" };
      continue;
    }
    const devices: Record<string, unknown> = {};
    const names = new Map(hs.store.devices.list(userId).map((device) => [device.deviceId, device.displayName]));
    const stored = hs.store.keys.allDeviceKeys(userId).filter(({ deviceId }) => names.has(deviceId) && (deviceIds.length === 0 || deviceIds.includes(deviceId)));
    const signed = deviceSignatures(hs, userId, stored.map(({ deviceId }) => deviceId));
    for (const { deviceId, json } of stored) {
      const keys = signed(deviceId, JSON.parse(json) as Json);
      const displayName = names.get(deviceId);
      devices[deviceId] = { ...keys, unsigned: displayName ? { device_display_name: displayName } : {} };
    }
    deviceKeys[userId] = devices;
    const crossSigning = crossSigningKeysFor(hs, requester.userId, userId);
    if (crossSigning.master) masterKeys[userId] = crossSigning.master;
    if (crossSigning.self_signing) selfSigningKeys[userId] = crossSigning.self_signing;
    if (crossSigning.user_signing) userSigningKeys[userId] = crossSigning.user_signing;
  }
  return { device_keys: deviceKeys, failures, master_keys: masterKeys, self_signing_keys: selfSigningKeys, user_signing_keys: userSigningKeys };
}

/**
 * POST /keys/claim: one one-time key per requested device, removed as it is
 * handed out (one synchronous transaction, so two claims never get the same key);
 * the fallback key when none is left.
 */
export function claimKeys(hs: Homeserver, wanted: Record<string, Record<string, string>>) {
  const claimed: Record<string, Record<string, Record<string, unknown>>> = {};
  const failures: Record<string, unknown> = {};
  hs.store.transaction(() => {
    for (const [userId, devices] of Object.entries(wanted)) {
      if (!isUserId(userId)) continue;
      if (serverNameOf(userId) !== hs.config.server_name) {
        failures[serverNameOf(userId)] = { status: 503, message: "Federation is not available" };
        continue;
      }
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const key = hs.store.keys.takeOneTimeKey(userId, deviceId, algorithm) ?? hs.store.keys.useFallbackKey(userId, deviceId, algorithm);
        if (!key) continue;
        ((claimed[userId] ??= {})[deviceId] ??= {})[`${algorithm}:${key.keyId}`] = JSON.parse(key.json);
      }
    }
  });
  return { one_time_keys: claimed, failures };
}

/**
 * Device-list changes between two stream positions (spec: "Tracking the device
 * list for a user"), for device_lists in /sync and for /keys/changes. `changed`:
 * users sharing a room whose devices changed, users who joined a room shared with
 * `userId`, and everyone in a room `userId` joined (their devices are new to the
 * client). `left`: users who no longer share any room, because they left or
 * `userId` did.
 *
 * Memberships are read from the state history, not from a /sync response: a
 * limited timeline moves a join into `state`, and lazy loading or a filter can
 * leave it out altogether, yet the client still has to hear of the new member's
 * devices.
 */
export function deviceListChanges(
  hs: Homeserver,
  userId: string,
  from: number,
  to: number,
  memberships: { roomId: string; membership: string; eventId: string }[] = hs.store.state.roomsWithMembership(userId, ["join", "leave", "ban"]),
): { changed: string[]; left: string[] } {
  const { store } = hs;
  const changedSince = store.keys.changedUsers(from, to);
  const joinedCandidates = new Set<string>();
  const leftCandidates = new Set<string>();
  for (const { roomId, membership, eventId } of memberships) {
    if (membership !== "join" && membership !== "leave" && membership !== "ban") continue;
    // Most rooms had no membership change in the window (a cached position says so).
    if (store.state.latestMemberChangePos(roomId) <= from) continue;
    const memberPos = loadEvent(hs, eventId)?.row.streamPos ?? 0;
    if (membership !== "join" && memberPos <= from) continue;
    // The user's membership at both ends of the window (`to` can be in the past for /keys/changes).
    const inAtFrom = (memberPos <= from ? membership : membershipAt(hs, roomId, userId, from)) === "join";
    const inAtTo = (memberPos <= to ? membership : membershipAt(hs, roomId, userId, to)) === "join";
    if (!inAtFrom && !inAtTo) continue;
    if (inAtFrom !== inAtTo) {
      // The user joined or left the room: everyone in it is new, or gone.
      const target = inAtTo ? joinedCandidates : leftCandidates;
      for (const other of store.state.joinedMembers(roomId)) if (other !== userId) target.add(other);
    }
    // Each other member's last membership in the window decides for this room.
    const last = new Map<string, string>();
    for (const change of store.state.memberChangesBetween(roomId, from, to)) {
      if (change.userId !== userId) last.set(change.userId, change.eventId);
    }
    for (const [other, memberEventId] of last) {
      if (loadEvent(hs, memberEventId)?.pdu.content.membership === "join") joinedCandidates.add(other);
      else leftCandidates.add(other);
    }
  }
  // Most syncs carry neither: skip gathering everyone who shares a room.
  if (changedSince.length === 0 && joinedCandidates.size === 0 && leftCandidates.size === 0) return { changed: [], left: [] };
  const sharing = usersSharingARoom(hs, userId);
  const changed = new Set([...changedSince, ...joinedCandidates].filter((other) => sharing.has(other)));
  const left = [...leftCandidates].filter((other) => !sharing.has(other) && !changed.has(other));
  return { changed: [...changed], left };
}

/** The user's membership in the room after the event at `pos` ("leave" when none). */
function membershipAt(hs: Homeserver, roomId: string, userId: string, pos: number): string {
  return (stateEventAt(hs, roomId, "m.room.member", userId, pos)?.pdu.content.membership as string | undefined) ?? "leave";
}

/** GET /keys/changes: users whose device lists changed between two stream positions, and those no longer shared. */
export function keyChanges(hs: Homeserver, userId: string, from: number, to: number): { changed: string[]; left: string[] } {
  return deviceListChanges(hs, userId, from, to);
}

/** Removes a device's keys and tells everyone who shares a room with its owner. */
export function deleteDeviceKeys(hs: Homeserver, userId: string, deviceIds: string[]): void {
  let had = false;
  for (const deviceId of deviceIds) {
    if (hs.store.keys.deviceKeys(userId, deviceId) !== undefined) had = true;
    hs.store.keys.deleteDeviceKeys(userId, deviceId);
    hs.store.crossSigning.deleteSignaturesOn(userId, deviceId);
  }
  if (had) deviceListChanged(hs, userId);
}
