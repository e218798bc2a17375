// History visibility (spec: Client-Server API, "History visibility"): which
// events of a room a user may read. Decided from the state *before* each event
// (the event's stream position minus one, as history here is linear), like Synapse.
import type { Homeserver } from "../homeserver";
import { forbidden, notFound } from "../http/errors";
import { currentMembership, currentStateEvent, loadEvent, stateEventAt, type StoredEvent } from "./room-state";

/**
 * How far a user can read a room: to the present, or up to the event that
 * removed them (`wasJoined`: they were joined until then, not only invited).
 */
export type RoomAccess =
  | { kind: "member" }
  | { kind: "former"; untilPos: number; wasJoined: boolean }
  | { kind: "world_readable" };

/**
 * Whether the user joined the room at a point after any event they can read (for
 * `shared`, rule 3): current members, and former members who were joined when
 * they left, as "after a user has left a room, they may see any events which
 * they were allowed to see before they left" (spec: "Room History Visibility").
 */
export function joinedSinceReadableEvents(access: RoomAccess): boolean {
  return access.kind === "member" || (access.kind === "former" && access.wasJoined);
}

/**
 * What a reader may see of a room's events: nothing after `untilPos` (the
 * present for members, their departure for former members), and the rest as
 * canSeeEvent decides with `joinedSince`.
 */
export interface ReadBound {
  untilPos: number;
  joinedSince: boolean;
}

export function readBound(hs: Homeserver, access: RoomAccess): ReadBound {
  const untilPos = access.kind === "former" ? Math.min(access.untilPos, hs.store.stream.current) : hs.store.stream.current;
  return { untilPos, joinedSince: joinedSinceReadableEvents(access) };
}

function historyVisibilityAt(hs: Homeserver, roomId: string, pos: number): string {
  const event = stateEventAt(hs, roomId, "m.room.history_visibility", "", pos);
  return (event?.pdu.content.history_visibility as string | undefined) ?? "shared";
}

function membershipAt(hs: Homeserver, roomId: string, userId: string, pos: number): string {
  return (stateEventAt(hs, roomId, "m.room.member", userId, pos)?.pdu.content.membership as string | undefined) ?? "leave";
}

/**
 * Who may read a room at all: current members; former members (up to their
 * departure); anyone when the room is world_readable. Others get 403.
 */
export function roomAccess(hs: Homeserver, roomId: string, userId: string): RoomAccess {
  if (!hs.store.rooms.get(roomId)) throw forbidden("You are not allowed to view this room");
  const membershipEventId = hs.store.state.currentEventId(roomId, "m.room.member", userId);
  const membership = currentMembership(hs, roomId, userId);
  if (membership === "join") return { kind: "member" };
  const current = hs.store.state.currentEventId(roomId, "m.room.history_visibility", "");
  const visibility = current ? historyVisibilityAt(hs, roomId, Number.MAX_SAFE_INTEGER) : "shared";
  if (visibility === "world_readable") return { kind: "world_readable" };
  if (membershipEventId && (membership === "leave" || membership === "ban")) {
    // After POST /forget "a user will no longer be able to retrieve history for
    // this room" (spec: leaving.yaml, /forget).
    if (hs.store.rooms.forgottenAmong(userId, [roomId]).size > 0) throw forbidden("You have forgotten this room");
    // Only someone who was in the room (joined or invited) before leaving reads
    // anything, up to the event that took them out. Walking back through their
    // member events finds it even when more followed (a ban after they left does
    // not take back what they could read: "After a user has left a room, they may
    // see any events which they were allowed to see before they left").
    let departure = loadEvent(hs, membershipEventId);
    while (departure) {
      const previous = departure.row.replacesState ? loadEvent(hs, departure.row.replacesState) : undefined;
      const before = (previous?.pdu.content.membership as string | undefined) ?? "leave";
      if (before === "join" || before === "invite") {
        return { kind: "former", untilPos: departure.row.streamPos, wasJoined: before === "join" };
      }
      departure = previous;
    }
  }
  // Invitees read what `invited` history shows them. Knocking is asking to be let
  // in: it shows nothing of the room (only world_readable rooms, above).
  if (membership === "invite") return { kind: "former", untilPos: Number.MAX_SAFE_INTEGER, wasJoined: false };
  throw forbidden("You are not allowed to view this room");
}

/**
 * Who may read a room's state (GET /state, /state/{type}/{key}, /members):
 * as roomAccess, except a pending invitee, who sees only the stripped state
 * sent with the invite (Synapse answers 403 here too).
 */
export function roomStateAccess(hs: Homeserver, roomId: string, userId: string): RoomAccess {
  const access = roomAccess(hs, roomId, userId);
  if (access.kind === "former" && access.untilPos === Number.MAX_SAFE_INTEGER) {
    throw forbidden("You are invited to this room but have not joined it");
  }
  return access;
}

/**
 * Whether `userId` may see `event` (spec's rules). `joinedSince`: the user
 * joined the room after the event (see joinedSinceReadableEvents).
 */
export function canSeeEvent(hs: Homeserver, userId: string, event: StoredEvent, joinedSince: boolean): boolean {
  const roomId = event.row.roomId;
  const before = event.row.streamPos - 1;
  // (A user's own member event is decided below, with the membership it sets.)
  const ownMemberEvent = event.row.type === "m.room.member" && event.row.stateKey === userId;
  if (!ownMemberEvent && joinedThroughout(hs, roomId, userId, before)) return true;
  let visibility = historyVisibilityAt(hs, roomId, before);
  // A change of visibility is shown under the less restrictive of the old and new values.
  if (event.row.type === "m.room.history_visibility") {
    visibility = leastRestrictive(visibility, (event.pdu.content.history_visibility as string | undefined) ?? "shared");
  }
  if (visibility === "world_readable") return true;
  // A user's own membership event counts with the membership it sets.
  let membership = membershipAt(hs, roomId, userId, before);
  if (ownMemberEvent) {
    const own = event.pdu.content.membership as string;
    // Users always see their own leave or ban after an invite or join (the room
    // must disappear for them, and they should learn why).
    if ((own === "leave" || own === "ban") && (membership === "join" || membership === "invite")) return true;
    membership = own;
  }
  if (membership === "join") return true;
  if (visibility === "joined") return false;
  if (visibility === "invited") return membership === "invite";
  // shared: visible to users who joined after the event (not to peekers or invitees).
  return joinedSince;
}

/**
 * The user is joined now by a member event at or before `pos`: their
 * membership at `pos` was that join, and a member joined at an event sees it
 * whatever the history visibility. The common case of every read by a member
 * (/messages, receipts, relations), answered from the current state without
 * looking up the state at the event.
 */
function joinedThroughout(hs: Homeserver, roomId: string, userId: string, pos: number): boolean {
  const current = currentStateEvent(hs, roomId, "m.room.member", userId);
  return current !== undefined && current.row.streamPos <= pos && current.pdu.content.membership === "join";
}

const ORDER = ["world_readable", "shared", "invited", "joined"];

function leastRestrictive(a: string, b: string): string {
  const ia = ORDER.indexOf(a);
  const ib = ORDER.indexOf(b);
  return ORDER[Math.min(ia === -1 ? 3 : ia, ib === -1 ? 3 : ib)]!;
}

/** Throws 404 unless the user may see the event (GET /event, /context). */
export function requireVisibleEvent(hs: Homeserver, userId: string, event: StoredEvent | undefined, roomId: string): StoredEvent {
  if (!event || event.row.roomId !== roomId) throw notFound("Event not found");
  const access = roomAccess(hs, roomId, userId);
  if (access.kind === "former" && event.row.streamPos > access.untilPos) throw notFound("Event not found");
  if (!canSeeEvent(hs, userId, event, joinedSinceReadableEvents(access))) throw notFound("Event not found");
  return event;
}
