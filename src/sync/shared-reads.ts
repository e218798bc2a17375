// Reads that many syncs make alike. One message in a big room wakes every
// member's long-poll; their responses are built one after another at the same
// stream position, so the room's timeline (one scan, whatever token each reader
// syncs from: sync/rooms.ts) and its state changes since a position are read
// and parsed once for all of them. What is kept is valid only at that stream
// position and goes as soon as it moves.
import type { Homeserver } from "../homeserver";
import type { StateEntry } from "../store/state";

const MAX_SHARED = 4_096;
const sharedByInstance = new WeakMap<Homeserver, { pos: number; generation: number; values: Map<string, unknown> }>();

/**
 * `read()` once per `key` while the stream stays at its current position. The
 * key must name everything the result depends on besides that position, and
 * callers must not change what they get: others get the same object (a reader
 * that only grows as its users ask, like sync's timeline scan, is fine).
 */
export function sharedRead<T>(hs: Homeserver, key: string, read: () => T): T {
  const pos = hs.store.stream.current;
  // A rollback rewinds the stream: the same position may then name other events.
  const generation = hs.store.cacheGeneration;
  let shared = sharedByInstance.get(hs);
  if (!shared || shared.pos !== pos || shared.generation !== generation || shared.values.size >= MAX_SHARED) {
    sharedByInstance.set(hs, (shared = { pos, generation, values: new Map() }));
  }
  if (shared.values.has(key)) return shared.values.get(key) as T;
  const value = read();
  shared.values.set(key, value);
  return value;
}

/** State entries in force at `to` that were set after `from` (see StateStore.changedBetween), shared. */
export function sharedStateChanges(hs: Homeserver, roomId: string, from: number, to: number): readonly StateEntry[] {
  return sharedRead(hs, `state\u0000${roomId}\u0000${from}\u0000${to}`, () => hs.store.state.changedBetween(roomId, from, to));
}

/** The member event of `userId` in force at `pos` (lazy-loaded members of a timeline's senders), shared. */
export function sharedMemberEventAt(hs: Homeserver, roomId: string, userId: string, pos: number): string | undefined {
  return sharedRead(hs, `member\u0000${roomId}\u0000${userId}\u0000${pos}`, () => hs.store.state.eventIdAt(roomId, "m.room.member", userId, pos));
}
