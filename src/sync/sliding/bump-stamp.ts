// bump_stamp (MSC4186 "Common fields"): the stream position of the room's latest
// event of a type that counts as "proper" activity. Ordering the room list by it
// keeps a room from jumping to the top for a receipt-like state change.
import type { Homeserver } from "../../homeserver";
import { perInstance } from "../../util/per-instance";

/** "m.room.create, m.room.message, m.room.encrypted, m.sticker, m.call.invite, m.poll.start, m.beacon_info" (MSC4186), with the unstable poll type clients still send. */
export const BUMP_EVENT_TYPES = [
  "m.room.create",
  "m.room.message",
  "m.room.encrypted",
  "m.sticker",
  "m.call.invite",
  "m.poll.start",
  "org.matrix.msc3381.poll.start",
  "m.beacon_info",
] as const;

/**
 * Each room's stamp and the position it was checked up to. Events are only ever
 * appended, so a later check reads only the events after that position; a room
 * with no new events costs no query.
 */
const stamps = perInstance<string, { stamp: number; checkedUpTo: number }>();
const MAX_CACHED = 100_000;

export function bumpStamp(hs: Homeserver, roomId: string): number {
  const latest = hs.store.events.latestPos(roomId);
  const cache = stamps(hs);
  const known = cache.get(roomId);
  if (known && known.checkedUpTo >= latest) return known.stamp;
  const found = hs.store.events.latestOfTypes(roomId, BUMP_EVENT_TYPES, known?.checkedUpTo ?? 0);
  const stamp = found ?? known?.stamp ?? 0;
  if (!known && cache.size >= MAX_CACHED) cache.clear();
  cache.set(roomId, { stamp, checkedUpTo: latest });
  return stamp;
}

/**
 * Fills the cache for many rooms in one query (a room list's first sight of a
 * user's rooms after a start): a thousand single-room queries cost far more.
 */
export function primeBumpStamps(hs: Homeserver, roomIds: readonly string[]): void {
  const cache = stamps(hs);
  const missing = roomIds.filter((roomId) => !cache.has(roomId));
  if (missing.length < 16) return;
  if (cache.size + missing.length > MAX_CACHED) cache.clear();
  for (const row of hs.store.events.latestPositions(missing, BUMP_EVENT_TYPES)) {
    cache.set(row.roomId, { stamp: row.latestOfTypes, checkedUpTo: row.latest });
  }
}
