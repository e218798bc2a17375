// The rooms part of /sync (spec: Client-Server API, "Syncing"): for each room,
// what changed between two stream positions, as seen by one user.
import type { Homeserver } from "../homeserver";
import { toClientEvent, type ClientEvent, type Viewer } from "../rooms/client-format";
import { eventMatchesFilter, type RoomEventFilter } from "../rooms/event-filter";
import { loadEvent, storedEvent, type StoredEvent } from "../rooms/room-state";
import { positionToken } from "../rooms/tokens";
import { canSeeEvent } from "../rooms/visibility";
import type { StateEntry } from "../store/state";
import { applyEventFields, type Filter } from "./filter";

export const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 1000;

/** What one room section is built from. */
export interface RoomWindow {
  roomId: string;
  /** Events after this position are new to the client (0 for a room it has not seen). */
  from: number;
  /** Events up to this position are included. */
  to: number;
  /** The client has never seen this room (initial sync, newly joined, full_state). */
  initial: boolean;
  /** The user is joined now (current members are not peekers for history visibility). */
  joined: boolean;
}

interface Timeline {
  events: StoredEvent[];
  limited: boolean;
  prevBatch: string;
}

/** The newest `limit` events of (from, to] the user may see and the filter keeps. */
export function roomTimeline(hs: Homeserver, viewer: Viewer, window: RoomWindow, filter: RoomEventFilter | undefined): Timeline {
  const limit = Math.min(filter?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
  const picked: StoredEvent[] = [];
  let cursor = window.to;
  let exhausted = false;
  while (picked.length < limit && !exhausted) {
    const batch = Math.max(limit - picked.length, 20);
    const rows = hs.store.events.page(window.roomId, { fromPos: cursor + 1, dir: "b", limit: batch, toPos: window.from + 1 });
    if (rows.length < batch) exhausted = true;
    for (const row of rows) {
      cursor = row.streamPos - 1;
      const event = storedEvent(row);
      if (filter && !eventMatchesFilter(event, filter)) continue;
      if (!canSeeEvent(hs, viewer.userId, event, window.joined)) continue;
      picked.push(event);
      if (picked.length === limit) break;
    }
  }
  picked.reverse();
  // Limited: events of the window were left out (older than the first one returned).
  const limited = cursor > window.from && hs.store.events.page(window.roomId, { fromPos: cursor + 1, dir: "b", limit: 1, toPos: window.from + 1 }).length > 0;
  const first = picked[0];
  return { events: picked, limited, prevBatch: positionToken(first ? first.row.streamPos - 1 : window.to) };
}

function stateMap(entries: StateEntry[]): Map<string, string> {
  return new Map(entries.map((entry) => [`${entry.type}\u0000${entry.stateKey}`, entry.eventId]));
}

/** State entries in force at `to` that were not in force at `from` (from = 0: all of them). */
function stateDelta(hs: Homeserver, roomId: string, from: number, to: number): string[] {
  const after = hs.store.state.at(roomId, to);
  if (from <= 0) return after.map((entry) => entry.eventId);
  const before = stateMap(hs.store.state.at(roomId, from));
  return after.filter((entry) => before.get(`${entry.type}\u0000${entry.stateKey}`) !== entry.eventId).map((entry) => entry.eventId);
}

/** Applies the state filter and lazy loading of members (spec: "Lazy-loading room members"). */
function filterState(events: StoredEvent[], filter: RoomEventFilter | undefined, neededMembers: Set<string> | null): StoredEvent[] {
  return events.filter((event) => {
    if (filter && !eventMatchesFilter(event, filter)) return false;
    if (neededMembers && event.row.type === "m.room.member" && !neededMembers.has(event.row.stateKey!)) return false;
    return true;
  });
}

function toClient(hs: Homeserver, events: StoredEvent[], viewer: Viewer, filter: Filter): ClientEvent[] {
  return events.map((event) => {
    const client = toClientEvent(hs, event, viewer);
    const { room_id: _roomId, ...withoutRoomId } = client;
    return applyEventFields(withoutRoomId as Record<string, unknown>, filter.event_fields) as unknown as ClientEvent;
  });
}

/** m.heroes and member counts (spec: "summary"), from the current membership. */
function roomSummary(hs: Homeserver, roomId: string, userId: string) {
  const members = hs.store.state.members(roomId);
  const joined = members.filter((m) => m.membership === "join");
  const invited = members.filter((m) => m.membership === "invite");
  const heroes = [...joined, ...invited]
    .map((m) => m.userId)
    .filter((id) => id !== userId)
    .sort()
    .slice(0, 5);
  return { "m.heroes": heroes, "m.joined_member_count": joined.length, "m.invited_member_count": invited.length };
}

/** Messages from others after the user's read receipt (push rules refine this later). */
function unreadCount(hs: Homeserver, roomId: string, userId: string): number {
  const receipt = hs.store.receipts.get(roomId, "m.read", userId, "") ?? hs.store.receipts.get(roomId, "m.read.private", userId, "");
  const readPos = receipt ? (hs.store.events.get(receipt.eventId)?.streamPos ?? 0) : 0;
  return hs.store.events.countUnread(roomId, userId, readPos);
}

export interface SyncOptions {
  filter: Filter;
  useStateAfter: boolean;
}

/** A joined (or left: `joined` false) room's section. */
export function roomSection(hs: Homeserver, viewer: Viewer, window: RoomWindow, options: SyncOptions, typingSince: number | null) {
  const { filter } = options;
  const timelineFilter = filter.room?.timeline;
  const stateFilter = filter.room?.state;
  const timeline = roomTimeline(hs, viewer, window, timelineFilter);
  const firstPos = timeline.events[0]?.row.streamPos;
  const lazy = stateFilter?.lazy_load_members === true;
  const neededMembers = lazy ? new Set([viewer.userId, ...timeline.events.map((event) => event.row.sender)]) : null;

  const section: Record<string, unknown> = {};
  if (options.useStateAfter) {
    // state_after (MSC4222): the state at the end of the timeline, as a delta from `from`.
    const ids = stateDelta(hs, window.roomId, window.initial ? 0 : window.from, window.to);
    const events = filterState(ids.map((id) => loadEvent(hs, id)!).filter(Boolean), stateFilter, neededMembers);
    section.state_after = { events: toClient(hs, events, viewer, filter) };
    section["org.matrix.msc4222.state_after"] = section.state_after;
  } else {
    // state: up to the start of the timeline; nothing when the timeline already carries every change.
    const stateAt = firstPos !== undefined ? firstPos - 1 : window.to;
    let ids: string[] = [];
    if (window.initial) ids = stateDelta(hs, window.roomId, 0, stateAt);
    else if (timeline.limited) ids = stateDelta(hs, window.roomId, window.from, stateAt);
    const events = filterState(ids.map((id) => loadEvent(hs, id)!).filter(Boolean), stateFilter, neededMembers);
    section.state = { events: toClient(hs, events, viewer, filter) };
  }
  section.timeline = {
    events: toClient(hs, timeline.events, viewer, filter),
    limited: timeline.limited,
    prev_batch: timeline.prevBatch,
  };

  const membersChanged = window.initial || timeline.events.some((event) => event.row.type === "m.room.member");
  if (membersChanged) section.summary = roomSummary(hs, window.roomId, viewer.userId);

  if (window.joined) {
    section.ephemeral = { events: ephemeralEvents(hs, viewer.userId, window, typingSince) };
    section.unread_notifications = { notification_count: unreadCount(hs, window.roomId, viewer.userId), highlight_count: 0 };
  }
  const accountData = hs.store.accountData
    .changed(viewer.userId, window.initial ? 0 : window.from, window.to)
    .filter((row) => row.roomId === window.roomId);
  section.account_data = { events: accountData.map((row) => ({ type: row.type, content: JSON.parse(row.content) })) };
  return section;
}

/** m.typing (when it changed) and m.receipt (receipts new since `from`). */
function ephemeralEvents(hs: Homeserver, userId: string, window: RoomWindow, typingSince: number | null): unknown[] {
  const events: unknown[] = [];
  if (typingSince === null || hs.typing.changedSince(window.roomId, typingSince)) {
    const users = hs.typing.usersIn(window.roomId);
    if (typingSince !== null || users.length > 0) events.push({ type: "m.typing", content: { user_ids: users } });
  }
  const receipts = hs.store.receipts.changed([window.roomId], window.initial ? 0 : window.from, window.to);
  const content: Record<string, Record<string, Record<string, Record<string, unknown>>>> = {};
  for (const receipt of receipts) {
    // Private read receipts go to their owner only (spec: "Private read receipts").
    if (receipt.receiptType === "m.read.private" && receipt.userId !== userId) continue;
    const byType = (content[receipt.eventId] ??= {});
    const byUser = (byType[receipt.receiptType] ??= {});
    byUser[receipt.userId] = { ts: receipt.ts, ...(receipt.threadId ? { thread_id: receipt.threadId } : {}) };
  }
  if (Object.keys(content).length > 0) events.push({ type: "m.receipt", content });
  return events;
}

/** Stripped state shown with an invite or knock (spec: "Stripped state"). */
const STRIPPED_STATE_TYPES = [
  "m.room.create",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.join_rules",
  "m.room.canonical_alias",
  "m.room.encryption",
];

export function strippedState(hs: Homeserver, roomId: string, membershipEvent: StoredEvent): unknown[] {
  const strip = (event: StoredEvent) => ({
    type: event.pdu.type,
    state_key: event.pdu.state_key,
    content: event.pdu.content,
    sender: event.pdu.sender,
  });
  const events: StoredEvent[] = [];
  for (const type of STRIPPED_STATE_TYPES) {
    const id = hs.store.state.eventIdAt(roomId, type, "", membershipEvent.row.streamPos);
    const event = id ? loadEvent(hs, id) : undefined;
    if (event) events.push(event);
  }
  const inviter = membershipEvent.pdu.sender;
  if (inviter !== membershipEvent.pdu.state_key) {
    const id = hs.store.state.eventIdAt(roomId, "m.room.member", inviter, membershipEvent.row.streamPos);
    const event = id ? loadEvent(hs, id) : undefined;
    if (event) events.push(event);
  }
  events.push(membershipEvent);
  return events.map(strip);
}
