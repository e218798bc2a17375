// Reading a room (spec: Client-Server API, "Getting events for a room"): /messages,
// /context, /members, /state, /event — all through the user's RoomAccess and
// canSeeEvent, so nothing the history visibility hides leaks out.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { toClientEventsWithRelations } from "./aggregations";
import { toClientEvent, type ClientEvent, type Viewer } from "./client-format";
import { eventMatchesFilter, type RoomEventFilter } from "./event-filter";
import { eventOfRow, loadEvent, loadEvents, loadState, type StoredEvent } from "./room-state";
import { positionToken } from "./tokens";
import { canSeeEvent, joinedSinceReadableEvents, readBound, requireVisibleEvent, roomAccess, roomStateAccess, type RoomAccess } from "./visibility";

export const MAX_PAGE = 1000;

/** The last stream position the user may read in the room. */
function readableUntil(hs: Homeserver, access: RoomAccess): number {
  return readBound(hs, access).untilPos;
}

/**
 * Member events for lazy-loading: each sender's membership as it was at their
 * latest event in the page (a display name changed since then does not
 * rename old messages).
 */
function membersFor(hs: Homeserver, roomId: string, events: StoredEvent[], viewer: Viewer): ClientEvent[] {
  const latestBySender = new Map<string, number>();
  for (const event of events) {
    latestBySender.set(event.row.sender, Math.max(latestBySender.get(event.row.sender) ?? 0, event.row.streamPos));
  }
  const ids: string[] = [];
  for (const [sender, pos] of latestBySender) {
    const id = hs.store.state.eventIdAt(roomId, "m.room.member", sender, pos);
    if (id) ids.push(id);
  }
  return hs.store.events.getMany(ids).map((row) => toClientEvent(hs, eventOfRow(hs, row), viewer));
}

export interface MessagesRequest {
  from?: number;
  to?: number;
  dir: "b" | "f";
  limit: number;
  filter: RoomEventFilter;
}

/**
 * One page of /messages. The `end` token is the point after the last event
 * examined (not only returned), so filtered-out events never cause a gap, and it
 * is absent when there is nothing further in that direction.
 */
export function roomMessages(hs: Homeserver, roomId: string, viewer: Viewer, request: MessagesRequest) {
  const access = roomAccess(hs, roomId, viewer.userId);
  const until = readableUntil(hs, access);
  const joinedSince = joinedSinceReadableEvents(access);
  const limit = Math.min(request.filter.limit ?? request.limit, MAX_PAGE);
  const backwards = request.dir === "b";
  let cursor = Math.min(request.from ?? (backwards ? until : 0), until);
  const start = positionToken(cursor);
  const chunk: StoredEvent[] = [];
  let exhausted = false;
  while (chunk.length < limit && !exhausted) {
    const batchSize = Math.max(limit - chunk.length, 20);
    const rows = backwards
      ? hs.store.events.page(roomId, { fromPos: cursor + 1, dir: "b", limit: batchSize, toPos: request.to !== undefined ? request.to + 1 : undefined })
      : hs.store.events.page(roomId, { fromPos: cursor, dir: "f", limit: batchSize, toPos: Math.min(request.to ?? until, until) });
    if (rows.length < batchSize) exhausted = true;
    for (const row of rows) {
      cursor = backwards ? row.streamPos - 1 : row.streamPos;
      const event = eventOfRow(hs, row);
      if (eventMatchesFilter(event, request.filter) && canSeeEvent(hs, viewer.userId, event, joinedSince)) {
        chunk.push(event);
        if (chunk.length === limit) break;
      }
    }
  }
  const response: { chunk: ClientEvent[]; start: string; end?: string; state?: ClientEvent[] } = {
    chunk: toClientEventsWithRelations(hs, chunk, viewer, { untilPos: until, joinedSince }),
    start,
  };
  const moreInDirection = !exhausted || chunk.length === limit;
  if (moreInDirection && (backwards ? cursor > 0 : cursor < until)) response.end = positionToken(cursor);
  if (request.filter.lazy_load_members) {
    response.state = membersFor(hs, roomId, chunk, viewer);
  }
  return response;
}

/** GET /context/{eventId}: the event, some before and after, and the state at the end. */
export function eventContext(hs: Homeserver, roomId: string, eventId: string, viewer: Viewer, limit: number, filter: RoomEventFilter) {
  const event = requireVisibleEvent(hs, viewer.userId, loadEvent(hs, eventId), roomId);
  const bound = readBound(hs, roomAccess(hs, roomId, viewer.userId));
  const capped = Math.min(filter.limit ?? limit, MAX_PAGE);
  const beforeCount = Math.floor(capped / 2);
  const afterCount = capped - beforeCount;
  const pos = event.row.streamPos;
  const before = roomMessages(hs, roomId, viewer, { from: pos - 1, dir: "b", limit: beforeCount, filter: { ...filter, limit: beforeCount } });
  const after = roomMessages(hs, roomId, viewer, { from: pos, dir: "f", limit: afterCount, filter: { ...filter, limit: afterCount } });
  const lastPos = after.chunk.length > 0 ? hs.store.events.get(after.chunk.at(-1)!.event_id)!.streamPos : pos;
  let state = loadState(hs, hs.store.state.at(roomId, lastPos));
  if (filter.lazy_load_members) {
    const senders = new Set([event.row.sender, ...before.chunk.map((e) => e.sender), ...after.chunk.map((e) => e.sender)]);
    state = state.filter((s) => s.row.type !== "m.room.member" || senders.has(s.row.stateKey!));
  }
  return {
    event: toClientEventsWithRelations(hs, [event], viewer, bound)[0]!,
    events_before: before.chunk,
    events_after: after.chunk,
    start: before.end ?? positionToken(0),
    end: after.end ?? positionToken(lastPos),
    state: state.map((s) => toClientEvent(hs, s, viewer)),
  };
}

/** GET /event/{eventId}: one event the user may see, with its bundled aggregations. */
export function visibleEvent(hs: Homeserver, roomId: string, eventId: string, viewer: Viewer): ClientEvent {
  const event = requireVisibleEvent(hs, viewer.userId, loadEvent(hs, eventId), roomId);
  return toClientEventsWithRelations(hs, [event], viewer, readBound(hs, roomAccess(hs, roomId, viewer.userId)))[0]!;
}

/** The state a user may see: current for members, as it was when they left for former members. */
export function visibleState(hs: Homeserver, roomId: string, userId: string): StoredEvent[] {
  const access = roomStateAccess(hs, roomId, userId);
  if (access.kind === "former") return loadState(hs, hs.store.state.at(roomId, access.untilPos));
  return loadState(hs, hs.store.state.current(roomId));
}

export function visibleStateEvent(hs: Homeserver, roomId: string, userId: string, type: string, stateKey: string): StoredEvent {
  const access = roomStateAccess(hs, roomId, userId);
  const eventId =
    access.kind === "former"
      ? hs.store.state.eventIdAt(roomId, type, stateKey, access.untilPos)
      : hs.store.state.currentEventId(roomId, type, stateKey);
  const event = eventId ? loadEvent(hs, eventId) : undefined;
  if (!event) throw notFound("Event not found");
  return event;
}

/** GET /members with `at`, `membership` and `not_membership`. */
export function roomMembers(
  hs: Homeserver,
  roomId: string,
  viewer: Viewer,
  options: { at?: number; membership?: string; notMembership?: string },
): ClientEvent[] {
  const access = roomStateAccess(hs, roomId, viewer.userId);
  const until = readableUntil(hs, access);
  const pos = Math.min(options.at ?? until, until);
  const entries = hs.store.state.at(roomId, pos).filter((entry) => entry.type === "m.room.member");
  return loadState(hs, entries)
    .filter((event) => {
      const membership = event.pdu.content.membership as string;
      if (options.membership !== undefined && membership !== options.membership) return false;
      if (options.notMembership !== undefined && membership === options.notMembership) return false;
      return true;
    })
    .map((event) => toClientEvent(hs, event, viewer));
}

/**
 * GET /timestamp_to_event (spec v1.6): the event closest to `ts` in direction
 * `dir` that the user may see. Events are stamped as they are appended here, so
 * stream order follows timestamps: from the closest event by timestamp the search
 * goes on in stream order past events history visibility hides (a late joiner
 * asking for the room's start gets their first visible event, not a 404).
 */
export function eventNearTimestamp(hs: Homeserver, roomId: string, userId: string, ts: number, dir: "f" | "b"): StoredEvent | undefined {
  const access = roomAccess(hs, roomId, userId);
  const joinedSince = joinedSinceReadableEvents(access);
  const until = readableUntil(hs, access);
  const visible = (event: StoredEvent) => event.row.streamPos <= until && canSeeEvent(hs, userId, event, joinedSince);
  const closest = hs.store.events.closestToTimestamp(roomId, ts, dir);
  if (!closest) return undefined;
  const first = eventOfRow(hs, closest);
  if (visible(first)) return first;
  let cursor = dir === "f" ? closest.streamPos : Math.min(closest.streamPos, until + 1);
  for (let examined = 0; examined < MAX_PAGE; ) {
    const rows = hs.store.events.page(roomId, { fromPos: cursor, dir, limit: 100, toPos: dir === "f" ? until : undefined });
    for (const row of rows) {
      const event = eventOfRow(hs, row);
      if (visible(event)) return event;
    }
    if (rows.length < 100) return undefined;
    examined += rows.length;
    cursor = rows.at(-1)!.streamPos;
  }
  return undefined;
}

/** GET /joined_members: only for current members (as Synapse). */
export function joinedMembers(hs: Homeserver, roomId: string, userId: string) {
  if (roomAccess(hs, roomId, userId).kind !== "member") {
    throw new MatrixError(403, "M_FORBIDDEN", "You are not joined to this room");
  }
  const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
  const members = hs.store.state.members(roomId).filter((member) => member.membership === "join");
  for (const event of loadEvents(hs, members.map((member) => member.eventId))) {
    const content = event.pdu.content;
    joined[event.pdu.state_key!] = {
      ...(typeof content.displayname === "string" ? { display_name: content.displayname } : {}),
      ...(typeof content.avatar_url === "string" ? { avatar_url: content.avatar_url } : {}),
    };
  }
  return { joined };
}

