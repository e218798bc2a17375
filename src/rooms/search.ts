// Server-side search (spec: Client-Server API, "Server Side Search"; search.yaml):
// the `room_events` category over an FTS5 index kept by appendEvent. Only rooms
// the user is joined to are searched, and every hit passes the same history
// visibility check as /messages before it is returned.
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { SEARCH_COLUMNS, type SearchKey } from "../store/search";
import { toClientEventsWithRelations } from "./aggregations";
import type { ClientEvent, Viewer } from "./client-format";
import { eventMatchesFilter, type RoomEventFilter } from "./event-filter";
import { roomMessages, visibleState } from "./reading";
import { currentStateEvent, eventOfRow, stateEventAt, type StoredEvent } from "./room-state";
import { canSeeEvent, type ReadBound } from "./visibility";

/** Indexes the searchable text of a stored event (body, room name, topic). */
export function indexForSearch(hs: Homeserver, event: StoredEvent): void {
  const { type, stateKey, streamPos, roomId } = event.row;
  const content = event.pdu.content;
  let column: "body" | "name" | "topic" | undefined;
  let text: unknown;
  if (type === "m.room.message") [column, text] = ["body", content.body];
  else if (type === "m.room.name" && stateKey === "") [column, text] = ["name", content.name];
  else if (type === "m.room.topic" && stateKey === "") [column, text] = ["topic", content.topic];
  if (column === undefined || typeof text !== "string") return;
  hs.store.search.index(streamPos, column, text, roomId);
}

/** A redacted event must not be found by its old text. */
export function unindexForSearch(hs: Homeserver, streamPos: number): void {
  hs.store.search.unindex(streamPos);
}

export interface RoomEventsCriteria {
  search_term: string;
  keys?: SearchKey[];
  filter?: RoomEventFilter;
  order_by?: "rank" | "recent";
  event_context?: { before_limit?: number; after_limit?: number; include_profile?: boolean };
  include_state?: boolean;
  groupings?: { group_by?: { key?: string }[] };
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
const MAX_EXAMINED = 10_000;
const DEFAULT_CONTEXT = 5;
const MAX_CONTEXT = 100;

/** More words than this add nothing to a search but work; the rest are ignored. */
const MAX_WORDS = 32;

/** The words of a search term, lower-cased, each once (also the response's `highlights`). */
export function searchWords(term: string): string[] {
  return [...new Set(term.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].slice(0, MAX_WORDS);
}

/** Words this long also match as prefixes ("meet" finds "meeting"); a shorter prefix would expand to too many words to rank. */
const MIN_PREFIX_LENGTH = 3;

/**
 * The words as an FTS5 query: every word must match, within the requested
 * keys. Words are quoted, so FTS5 syntax in the search term is taken literally.
 */
function ftsQuery(words: string[], keys: SearchKey[]): string {
  const columns = [...new Set(keys.map((key) => SEARCH_COLUMNS[key]))].join(" ");
  const terms = words.map((word) => (word.length >= MIN_PREFIX_LENGTH ? `"${word}"*` : `"${word}"`));
  return `{${columns}} : (${terms.join(" AND ")})`;
}

/**
 * `next_batch` of a search: "rank:<offset>" (matches examined so far, best
 * first) or "recent:<pos>" (the stream position to continue below).
 */
function parseNextBatch(token: string | undefined, order: "rank" | "recent"): number | undefined {
  if (token === undefined) return undefined;
  const match = /^(rank|recent):(\d{1,15})$/.exec(token);
  if (!match || match[1] !== order) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid next_batch token for this search");
  return Number(match[2]);
}

/**
 * The rooms to search and, for each, the first position worth looking at:
 * where history visibility is (now) `joined` or `invited`, nothing before the
 * user's join; elsewhere the whole room. Hits still pass canSeeEvent one by
 * one; this bound keeps `count` from counting most of what the user cannot see.
 */
function searchableRooms(hs: Homeserver, userId: string, filter: RoomEventFilter): Record<string, number> {
  const rooms: Record<string, number> = {};
  for (const { roomId, eventId } of hs.store.state.roomsWithMembership(userId, ["join"])) {
    if (filter.rooms && !filter.rooms.includes(roomId)) continue;
    if (filter.not_rooms?.includes(roomId)) continue;
    const visibility = currentStateEvent(hs, roomId, "m.room.history_visibility", "")?.pdu.content.history_visibility;
    const restricted = visibility === "joined" || visibility === "invited";
    rooms[roomId] = restricted ? (hs.store.events.get(eventId)?.streamPos ?? 0) : 0;
  }
  return rooms;
}

interface Hit {
  event: StoredEvent;
  rank: number;
}

/** POST /search, category room_events. `nextBatch` continues an earlier call. */
export function searchRoomEvents(hs: Homeserver, viewer: Viewer, criteria: RoomEventsCriteria, nextBatch: string | undefined) {
  const order = criteria.order_by ?? "rank";
  const filter = criteria.filter ?? {};
  const limit = Math.min(filter.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  let cursor = parseNextBatch(nextBatch, order);
  const words = searchWords(criteria.search_term);
  const rooms = searchableRooms(hs, viewer.userId, filter);
  if (words.length === 0 || Object.keys(rooms).length === 0 || limit === 0) return { count: 0, results: [], highlights: words };

  const keys = criteria.keys && criteria.keys.length > 0 ? criteria.keys : (Object.keys(SEARCH_COLUMNS) as SearchKey[]);
  const match = ftsQuery(words, keys);
  const roomIds = Object.keys(rooms);
  // Members see the present (readBound of a member): searched rooms are joined rooms.
  const bound: ReadBound = { untilPos: hs.store.stream.current, joinedSince: true };
  const hits: Hit[] = [];
  let exhausted = false;
  // Each batch by rank ranks all matches again, so batches grow when the filter
  // or history visibility turns many away, and one request examines at most
  // MAX_EXAMINED matches (the client continues with next_batch).
  let batch = Math.max(limit, 20);
  for (let examined = 0; hits.length < limit && !exhausted && examined < MAX_EXAMINED; examined += batch, batch = Math.min(batch * 4, 2000)) {
    const rows = order === "rank"
      ? hs.store.search.byRank(match, roomIds, cursor ?? 0, batch)
      : hs.store.search.byRecent(match, roomIds, cursor ?? Number.MAX_SAFE_INTEGER, batch);
    if (rows.length < batch) exhausted = true;
    for (const { row, rank } of rows) {
      cursor = order === "rank" ? (cursor ?? 0) + 1 : row.streamPos;
      const event = eventOfRow(hs, row);
      if (!eventMatchesFilter(event, filter) || !canSeeEvent(hs, viewer.userId, event, true)) continue;
      hits.push({ event, rank });
      if (hits.length === limit) break;
    }
  }

  const clientEvents = toClientEventsWithRelations(hs, hits.map((hit) => hit.event), viewer, bound);
  const results = hits.map((hit, i) => {
    const result: Record<string, unknown> = { rank: hit.rank, result: clientEvents[i] };
    if (criteria.event_context) result.context = resultContext(hs, hit.event, viewer, criteria.event_context);
    return result;
  });
  const response: Record<string, unknown> = { count: hs.store.search.count(match, rooms), results, highlights: words };
  const more = !exhausted || hits.length === limit;
  const token = more && cursor !== undefined ? `${order}:${cursor}` : undefined;
  if (token) response.next_batch = token;
  if (criteria.include_state) {
    const state: Record<string, ClientEvent[]> = {};
    for (const roomId of new Set(hits.map((hit) => hit.event.row.roomId))) {
      state[roomId] = toClientEventsWithRelations(hs, visibleState(hs, roomId, viewer.userId), viewer, bound);
    }
    response.state = state;
  }
  const groupBy = criteria.groupings?.group_by ?? [];
  if (groupBy.length > 0) response.groups = resultGroups(hits, groupBy, token);
  return response;
}

/** `event_context` of one result (spec: search.yaml "Event Context"): events around it and, if asked, the senders' profiles then. */
function resultContext(hs: Homeserver, event: StoredEvent, viewer: Viewer, options: NonNullable<RoomEventsCriteria["event_context"]>) {
  const before = Math.min(options.before_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT);
  const after = Math.min(options.after_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT);
  const pos = event.row.streamPos;
  const roomId = event.row.roomId;
  const earlier = roomMessages(hs, roomId, viewer, { from: pos - 1, dir: "b", limit: before, filter: { limit: before } });
  const later = roomMessages(hs, roomId, viewer, { from: pos, dir: "f", limit: after, filter: { limit: after } });
  const context: Record<string, unknown> = {
    start: earlier.end ?? earlier.start,
    end: later.end ?? later.start,
    events_before: earlier.chunk,
    events_after: later.chunk,
  };
  if (options.include_profile) {
    // "historic profile information": the senders' member events in force at the result.
    const profiles: Record<string, { displayname?: string; avatar_url?: string }> = {};
    const senders = new Set([event.row.sender, ...earlier.chunk.map((e) => e.sender), ...later.chunk.map((e) => e.sender)]);
    for (const sender of senders) {
      const member = stateEventAt(hs, roomId, "m.room.member", sender, pos)?.pdu.content;
      if (!member) continue;
      profiles[sender] = {
        ...(typeof member.displayname === "string" ? { displayname: member.displayname } : {}),
        ...(typeof member.avatar_url === "string" ? { avatar_url: member.avatar_url } : {}),
      };
    }
    context.profile_info = profiles;
  }
  return context;
}

/** `groups` (spec: search.yaml "Groups"): the results' ids by room or sender, in order of first appearance. */
function resultGroups(hits: Hit[], groupBy: { key?: string }[], nextBatch: string | undefined) {
  const groups: Record<string, Record<string, { results: string[]; order: number; next_batch?: string }>> = {};
  for (const { key } of groupBy) {
    if (key !== "room_id" && key !== "sender") continue;
    const byValue: Record<string, { results: string[]; order: number; next_batch?: string }> = {};
    for (const { event } of hits) {
      const value = key === "room_id" ? event.row.roomId : event.row.sender;
      const group = (byValue[value] ??= { results: [], order: Object.keys(byValue).length + 1, ...(nextBatch ? { next_batch: nextBatch } : {}) });
      group.results.push(event.eventId);
    }
    groups[key] = byValue;
  }
  return groups;
}
