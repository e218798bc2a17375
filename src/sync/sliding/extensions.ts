// Sliding sync extensions (MSC4186 "Extensions"; shapes of MSC3885 to-device,
// MSC3884 e2ee, MSC3959 account data, MSC3960 receipts, MSC3961 typing). Each
// answers "what changed for this connection since its last position", scoped to
// the rooms of the lists and subscriptions the client names.
import type { Requester } from "../../accounts/credentials";
import type { Homeserver } from "../../homeserver";
import { deviceListChanges } from "../../e2ee/keys";
import type { ExtensionScope } from "./request";

/** Rooms of this response: each list's rooms (inside its ranges) and the subscribed rooms. */
export interface ResponseRooms {
  lists: Map<string, string[]>;
  subscriptions: string[];
}

/**
 * The rooms an extension covers (MSC3959 `lists` / `rooms`): "*" means all lists
 * or all subscriptions; named ones only those; both left out means everything.
 */
export function scopedRooms(scope: ExtensionScope, rooms: ResponseRooms): Set<string> {
  const result = new Set<string>();
  const lists = scope.lists ?? (scope.rooms === null ? ["*"] : []);
  const subscriptions = scope.rooms ?? (scope.lists === null ? ["*"] : []);
  for (const name of lists) {
    if (name === "*") for (const ids of rooms.lists.values()) for (const id of ids) result.add(id);
    else for (const id of rooms.lists.get(name) ?? []) result.add(id);
  }
  for (const id of subscriptions) {
    if (id === "*") for (const sub of rooms.subscriptions) result.add(sub);
    else if (rooms.subscriptions.includes(id)) result.add(id);
  }
  return result;
}

/**
 * to_device: messages waiting for the device after `since`. Using a `since`
 * acknowledges what it covered, so those messages are deleted, as /sync does.
 */
export function toDeviceExtension(hs: Homeserver, requester: Requester, since: number | null, limit: number, now: number) {
  const { userId, deviceId } = requester;
  if (since !== null) hs.store.toDevice.acknowledge(userId, deviceId, since);
  const rows = hs.store.toDevice.pending(userId, deviceId, now, limit);
  const next = rows.length > 0 ? rows.at(-1)!.streamPos : (since ?? 0);
  return {
    next_batch: String(next),
    events: rows.map((row) => ({ type: row.type, sender: row.sender, content: JSON.parse(row.content) })),
  };
}

/** e2ee: device list changes since the connection's last position (none when `now` is that position) and the device's key counts. */
export function e2eeExtension(hs: Homeserver, requester: Requester, since: number | null, now: number) {
  const keys = hs.store.keys.keyCounts(requester.userId, requester.deviceId);
  return {
    // A new connection gets none: the client queries everyone's keys anyway.
    // The same computation as /sync's device_lists.
    device_lists: since === null || since === now ? { changed: [], left: [] } : deviceListChanges(hs, requester.userId, since, now),
    device_one_time_keys_count: keys.counts,
    device_unused_fallback_key_types: keys.fallback,
  };
}

/**
 * account_data: global account data changed since the last position (all of it
 * for a new connection) and, for the rooms in scope, their changed account data
 * (all of it for rooms the connection gets for the first time).
 */
export function accountDataExtension(hs: Homeserver, userId: string, rooms: Set<string>, initialRooms: Set<string>, since: number | null, now: number) {
  const from = since ?? 0;
  const rows = hs.store.accountData.latestPos(userId) > from ? hs.store.accountData.changed(userId, from, now) : [];
  const global = rows.filter((row) => row.roomId === "").map((row) => ({ type: row.type, content: JSON.parse(row.content) }));
  const byRoom: Record<string, { type: string; content: unknown }[]> = {};
  for (const row of rows) {
    if (row.roomId === "" || !rooms.has(row.roomId) || (initialRooms.has(row.roomId) && since !== null)) continue;
    (byRoom[row.roomId] ??= []).push({ type: row.type, content: JSON.parse(row.content) });
  }
  if (since !== null) {
    for (const roomId of initialRooms) {
      if (!rooms.has(roomId)) continue;
      const all = hs.store.accountData.all(userId, roomId).filter((row) => row.streamPos <= now);
      if (all.length > 0) byRoom[roomId] = all.map((row) => ({ type: row.type, content: JSON.parse(row.content) }));
    }
  }
  return { global, rooms: byRoom };
}

/**
 * receipts: for rooms new to the connection, the receipts on the events sent
 * with them and the user's own (the rest would be noise); otherwise the receipts
 * changed since the last position. Private receipts reach only their owner
 * (spec: "Private read receipts").
 */
export function receiptsExtension(hs: Homeserver, userId: string, rooms: Set<string>, initialTimelines: Map<string, Set<string>>, since: number | null, now: number) {
  const result: Record<string, { type: "m.receipt"; content: Record<string, Record<string, Record<string, unknown>>> }> = {};
  for (const roomId of rooms) {
    const timeline = initialTimelines.get(roomId);
    const from = timeline || since === null ? 0 : since;
    if (hs.store.receipts.latestPos(roomId) <= from) continue;
    const content: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const receipt of hs.store.receipts.changed(roomId, from, now)) {
      if (receipt.receiptType === "m.read.private" && receipt.userId !== userId) continue;
      if (timeline && receipt.userId !== userId && !timeline.has(receipt.eventId)) continue;
      const byType = (content[receipt.eventId] ??= {});
      const byUser = (byType[receipt.receiptType] ??= {}) as Record<string, unknown>;
      byUser[receipt.userId] = { ts: receipt.ts, ...(receipt.threadId ? { thread_id: receipt.threadId } : {}) };
    }
    if (Object.keys(content).length > 0) result[roomId] = { type: "m.receipt", content };
  }
  return { rooms: result };
}

/** typing: the current typists of rooms whose list changed after the serial (a new connection: rooms where someone types). */
export function typingExtension(hs: Homeserver, rooms: Set<string>, sinceSerial: number | null) {
  const result: Record<string, { type: "m.typing"; content: { user_ids: string[] } }> = {};
  for (const roomId of rooms) {
    if (sinceSerial !== null && !hs.typing.changedSince(roomId, sinceSerial)) continue;
    const users = hs.typing.usersIn(roomId);
    if (sinceSerial === null && users.length === 0) continue;
    result[roomId] = { type: "m.typing", content: { user_ids: users } };
  }
  return { rooms: result };
}
