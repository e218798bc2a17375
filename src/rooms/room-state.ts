// Reading room state: the current state, and the state in force at an event.
import type { Homeserver } from "../homeserver";
import { perInstance } from "../util/per-instance";
import { powerLevelsView, type PowerLevelsView } from "./power-levels";
import { roomVersionRules } from "./room-versions";
import type { EventRow } from "../store/events";
import type { StateEntry } from "../store/state";
import type { Pdu } from "./event-format";
import type { StateLookup } from "./auth-rules";

export interface StoredEvent {
  eventId: string;
  pdu: Pdu;
  row: EventRow;
}

export function storedEvent(row: EventRow): StoredEvent {
  return { eventId: row.eventId, pdu: JSON.parse(row.pdu) as Pdu, row };
}

// Parsed events by id. Events never change once stored, except by redaction,
// which calls forgetCachedEvent; so the cache needs no other invalidation.
const EVENT_CACHE_SIZE = 20_000;
const eventCache = perInstance<string, StoredEvent>();

export function loadEvent(hs: Homeserver, eventId: string): StoredEvent | undefined {
  const cache = eventCache(hs);
  const cached = cache.get(eventId);
  if (cached) return cached;
  const row = hs.store.events.get(eventId);
  if (!row) return undefined;
  const event = storedEvent(row);
  if (cache.size >= EVENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(eventId, event);
  return event;
}

/**
 * The parsed event of a row just read (a page of a timeline): from the cache
 * when another reader parsed it already (a message fanned out to many syncs is
 * parsed once), else parsed and cached.
 */
export function eventOfRow(hs: Homeserver, row: EventRow): StoredEvent {
  const cache = eventCache(hs);
  const cached = cache.get(row.eventId);
  if (cached && cached.row.redactedBy === row.redactedBy) return cached;
  const event = storedEvent(row);
  if (cache.size >= EVENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(row.eventId, event);
  return event;
}

export function forgetCachedEvent(hs: Homeserver, eventId: string): void {
  eventCache(hs).delete(eventId);
}

export function loadEvents(hs: Homeserver, eventIds: string[]): StoredEvent[] {
  return hs.store.events.getMany(eventIds).map(storedEvent);
}

/** A lookup over the current state of a room, loading each state event at most once. */
export function currentStateLookup(hs: Homeserver, roomId: string): StateLookup & { eventIdOf(type: string, stateKey: string): string | undefined } {
  const cache = new Map<string, StoredEvent | null>();
  const find = (type: string, stateKey: string): StoredEvent | undefined => {
    const key = `${type}\u0000${stateKey}`;
    let found = cache.get(key);
    if (found === undefined) {
      const eventId = hs.store.state.currentEventId(roomId, type, stateKey);
      found = (eventId ? loadEvent(hs, eventId) : undefined) ?? null;
      cache.set(key, found);
    }
    return found ?? undefined;
  };
  const lookup = ((type: string, stateKey: string) => find(type, stateKey)?.pdu) as StateLookup & {
    eventIdOf(type: string, stateKey: string): string | undefined;
  };
  lookup.eventIdOf = (type, stateKey) => find(type, stateKey)?.eventId;
  return lookup;
}

/** The state event of (type, stateKey) in force after the event at `pos`. */
export function stateEventAt(hs: Homeserver, roomId: string, type: string, stateKey: string, pos: number): StoredEvent | undefined {
  const eventId = hs.store.state.eventIdAt(roomId, type, stateKey, pos);
  return eventId ? loadEvent(hs, eventId) : undefined;
}

export function currentStateEvent(hs: Homeserver, roomId: string, type: string, stateKey: string): StoredEvent | undefined {
  const eventId = hs.store.state.currentEventId(roomId, type, stateKey);
  return eventId ? loadEvent(hs, eventId) : undefined;
}

/** Current membership of a user in a room ("leave" when never a member). */
export function currentMembership(hs: Homeserver, roomId: string, userId: string): string {
  return (currentStateEvent(hs, roomId, "m.room.member", userId)?.pdu.content.membership as string | undefined) ?? "leave";
}

/** Loads the events of a list of state entries. */
export function loadState(hs: Homeserver, entries: StateEntry[]): StoredEvent[] {
  return loadEvents(hs, entries.map((entry) => entry.eventId));
}

/** The room's current power levels with the spec's defaults (see power-levels.ts). */
export function currentPowerLevels(hs: Homeserver, roomId: string): PowerLevelsView {
  const room = hs.store.rooms.get(roomId);
  return powerLevelsView(
    currentStateEvent(hs, roomId, "m.room.power_levels", "")?.pdu,
    currentStateEvent(hs, roomId, "m.room.create", "")?.pdu,
    room ? roomVersionRules(room.roomVersion) : undefined,
  );
}

/**
 * Whether `other` is `userId` or is joined to a room `userId` is joined to: a
 * look at `other`'s rooms, for one question, where usersSharingARoom gathers
 * everyone (thousands in a big room) for many.
 */
export function sharesARoom(hs: Homeserver, userId: string, other: string): boolean {
  if (other === userId) return true;
  for (const { roomId } of hs.store.state.roomsWithMembership(other, ["join"])) {
    if (hs.store.state.joinedMembers(roomId).has(userId)) return true;
  }
  return false;
}

/**
 * Wakes everyone sharing a joined room with `userId` (themselves included) for
 * a change at `position`, room by room: one met in several rooms is woken once
 * per room, which costs less than gathering them all in a set first.
 */
export function notifyUsersSharingARoom(hs: Homeserver, userId: string, position: number): void {
  hs.notifier.notify([userId], position);
  for (const { roomId } of hs.store.state.roomsWithMembership(userId, ["join"])) hs.notifier.notify(hs.store.state.joinedMembers(roomId), position);
}

/** Everyone who shares a joined room with `userId` (including themselves). */
export function usersSharingARoom(hs: Homeserver, userId: string): Set<string> {
  const users = new Set<string>([userId]);
  for (const { roomId } of hs.store.state.roomsWithMembership(userId, ["join"])) {
    for (const member of hs.store.state.joinedMembers(roomId)) users.add(member);
  }
  return users;
}
