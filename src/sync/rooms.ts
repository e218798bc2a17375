// The rooms part of /sync (spec: Client-Server API, "Syncing"): for each room,
// what changed between two stream positions, as seen by one user.
import type { Homeserver } from "../homeserver";
import { perInstance } from "../util/per-instance";
import { toClientEventsWithRelations } from "../rooms/aggregations";
import { toSyncEvent, type ClientEvent, type Viewer } from "../rooms/client-format";
import { eventMatchesFilter, type RoomEventFilter } from "../rooms/event-filter";
import { eventOfRow, loadEvent, type StoredEvent } from "../rooms/room-state";
import { positionToken } from "../rooms/tokens";
import { canSeeEvent, type ReadBound } from "../rooms/visibility";
import type { StateEntry } from "../store/state";
import type { AccountDataRow } from "../store/sync-data";
import { unreadNotifications } from "../push/counts";
import { applyEventFields, typeIncluded, type Filter } from "./filter";
import { sharedMemberEventAt, sharedRead, sharedStateChanges } from "./shared-reads";

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
  /**
   * Stream position of the user's current join when joined: every later event
   * was sent while they were in the room, so it is visible without a lookup.
   */
  joinedAt?: number;
  /**
   * A left room's section: the event that took the user out, and whether they
   * were joined until then ("After a user has left a room, they may see any
   * events which they were allowed to see before they left", spec: "History
   * visibility").
   */
  departure?: { eventId: string; wasJoined: boolean };
}

interface Timeline {
  events: StoredEvent[];
  limited: boolean;
  prevBatch: string;
}

/** The newest `limit` events of (from, to] the user may see and the filter keeps. */
export function roomTimeline(hs: Homeserver, viewer: Viewer, window: RoomWindow, filter: RoomEventFilter | undefined): Timeline {
  // Joined since before the window: every event in it was sent while the user
  // was in the room, so what they see depends on the room and the filter only,
  // and the members woken by the same event share one read.
  if (window.joinedAt !== undefined && window.joinedAt <= window.from && window.departure === undefined) {
    const key = `timeline\u0000${window.roomId}\u0000${window.to}\u0000${JSON.stringify(filter ?? null)}`;
    const scan = sharedRead(hs, key, () => new TailScan(hs, window.roomId, window.to, filter));
    return scan.timelineSince(window.from);
  }
  return readTimeline(hs, viewer, window, filter);
}

/**
 * The newest events of a room up to `to` that a filter (and `keep`, when given)
 * keeps, read backwards. A sync from `from` extends the scan down to `from` (or
 * until `limit` events are found) and takes what is newer. Shared (no `keep`)
 * by all the syncs built at one position, however far behind each is: under a
 * steady load every client syncs from a token of its own, and each would read
 * its own window of the same rows. Rows are read a batch at a time, a few more
 * than still needed for the events the filter drops; a small limit, as sliding
 * sync's room lists use, reads only a few rows.
 */
class TailScan {
  /** Events the filter and `keep` keep, newest first, at most `limit`. */
  private readonly picked: StoredEvent[] = [];
  /** Every row after this position (up to `to`) has been looked at. */
  private cursor: number;
  /** Position of the newest row at or before `cursor` once `limit` events are found (0: none); read when first needed. */
  private olderPos: number | undefined;
  private readonly limit: number;

  constructor(
    private readonly hs: Homeserver,
    private readonly roomId: string,
    private readonly to: number,
    private readonly filter: RoomEventFilter | undefined,
    private readonly keep?: (event: StoredEvent) => boolean,
  ) {
    this.limit = Math.min(filter?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
    this.cursor = to;
  }

  timelineSince(from: number): Timeline {
    this.scanDownTo(from);
    const events = this.picked.filter((event) => event.row.streamPos > from).reverse();
    // Limited: the window holds older events than the first one returned, which
    // happens only when the limit cut the scan short above `from`.
    let limited = false;
    if (this.picked.length === this.limit && this.cursor > from) {
      this.olderPos ??= this.hs.store.events.page(this.roomId, { fromPos: this.cursor + 1, dir: "b", limit: 1 })[0]?.streamPos ?? 0;
      limited = this.olderPos > from;
    }
    const first = events[0];
    return { events, limited, prevBatch: positionToken(first ? first.row.streamPos - 1 : this.to) };
  }

  /** Looks at every row in (from, cursor] backwards until `limit` events are picked. */
  private scanDownTo(from: number): void {
    while (this.picked.length < this.limit && this.cursor > from) {
      const wanted = this.limit - this.picked.length;
      const batch = Math.max(wanted, Math.min(20, 2 * this.limit));
      const rows = this.hs.store.events.page(this.roomId, { fromPos: this.cursor + 1, dir: "b", limit: batch, toPos: from + 1 });
      for (const row of rows) {
        this.cursor = row.streamPos - 1;
        const event = eventOfRow(this.hs, row);
        if (this.filter && !eventMatchesFilter(event, this.filter)) continue;
        if (this.keep && !this.keep(event)) continue;
        this.picked.push(event);
        if (this.picked.length === this.limit) return;
      }
      // Fewer rows than asked: none is left in (from, cursor].
      if (rows.length < batch) this.cursor = from;
    }
  }
}

/**
 * One reader's own read of a window: the same scan, unshared, keeping only
 * the events the reader may see (spec: "History visibility").
 */
function readTimeline(hs: Homeserver, viewer: Viewer, window: RoomWindow, filter: RoomEventFilter | undefined): Timeline {
  const joinedSince = window.joined || window.departure?.wasJoined === true;
  const visible = (event: StoredEvent) =>
    // Sent while the reader was in the room; or the departure itself, which always
    // ends a left room's timeline ("up to the point when the user left", spec:
    // sync.yaml `leave`), whatever the history visibility.
    (window.joinedAt !== undefined && event.row.streamPos > window.joinedAt) ||
    event.eventId === window.departure?.eventId ||
    canSeeEvent(hs, viewer.userId, event, joinedSince);
  return new TailScan(hs, window.roomId, window.to, filter, visible).timelineSince(window.from);
}

function stateMap(entries: StateEntry[]): Map<string, string> {
  return new Map(entries.map((entry) => [`${entry.type}\u0000${entry.stateKey}`, entry.eventId]));
}

/** State entries in force at `to` that were not in force at `from` (from = 0: all of them). */
function stateDelta(hs: Homeserver, roomId: string, from: number, to: number): string[] {
  if (from <= 0) return hs.store.state.at(roomId, to).map((entry) => entry.eventId);
  // Entries set after `from` and still in force at `to` (read from the
  // room/position index): in a big room a catching-up client costs the few
  // changes, not two copies of the whole member list.
  return sharedStateChanges(hs, roomId, from, to).map((entry) => entry.eventId);
}

/**
 * The `state` block: the state at the start of the timeline, as a delta from
 * `from` (0: all of it). A key the timeline does not touch takes its value at
 * the end instead (as Synapse): a change the user may not see (history
 * visibility hides the event) still reaches the client, or its state would
 * stay stale for good.
 */
function stateBeforeTimeline(hs: Homeserver, roomId: string, from: number, stateAt: number, to: number, timeline: StoredEvent[]): string[] {
  const key = (type: string, stateKey: string) => `${type}\u0000${stateKey}`;
  const touched = new Set(timeline.filter((event) => event.row.stateKey !== null).map((event) => key(event.row.type, event.row.stateKey!)));
  if (from > 0) {
    // Incremental: only keys that changed after `from` can differ from what the
    // client has, so only those are looked at (not the whole state, twice).
    const ids: string[] = [];
    for (const entry of sharedStateChanges(hs, roomId, from, to)) {
      if (!touched.has(key(entry.type, entry.stateKey))) {
        ids.push(entry.eventId);
        continue;
      }
      const atStart = hs.store.state.eventIdAt(roomId, entry.type, entry.stateKey, stateAt);
      if (atStart !== undefined && atStart !== hs.store.state.eventIdAt(roomId, entry.type, entry.stateKey, from)) ids.push(atStart);
    }
    return ids;
  }
  const state = stateMap(hs.store.state.at(roomId, stateAt));
  if (to !== stateAt) {
    for (const entry of hs.store.state.at(roomId, to)) {
      const k = key(entry.type, entry.stateKey);
      if (!touched.has(k)) state.set(k, entry.eventId);
    }
  }
  if (from <= 0) return [...state.values()];
  const before = stateMap(hs.store.state.at(roomId, from));
  return [...state].filter(([k, eventId]) => before.get(k) !== eventId).map(([, eventId]) => eventId);
}

/** Applies the state filter and lazy loading of members (spec: "Lazy-loading room members"). */
function filterState(events: StoredEvent[], filter: RoomEventFilter | undefined, neededMembers: Set<string> | null): StoredEvent[] {
  return events.filter((event) => {
    if (filter && !eventMatchesFilter(event, filter)) return false;
    if (neededMembers && event.row.type === "m.room.member" && !neededMembers.has(event.row.stateKey!)) return false;
    return true;
  });
}

/** Events in sync's format; timeline events (`bound` given) with their bundled aggregations. */
function toClient(hs: Homeserver, events: StoredEvent[], viewer: Viewer, filter: Filter, bound?: ReadBound): ClientEvent[] {
  const clientEvents = bound ? toClientEventsWithRelations(hs, events, viewer, bound, true, "sync") : events.map((event) => toSyncEvent(hs, event, viewer));
  if (!filter.event_fields) return clientEvents;
  return clientEvents.map((client) => applyEventFields(client as unknown as Record<string, unknown>, filter.event_fields) as unknown as ClientEvent);
}

/**
 * m.heroes and member counts (spec: sync.yaml `summary`), from the current
 * membership. Heroes are "the first 5 members of the room, ordered by stream
 * ordering, which are joined or invited", never the user; "when no joined or
 * invited members are available, ... the banned and left users".
 */
export function roomSummary(hs: Homeserver, roomId: string, userId: string) {
  const known = membershipSummary(hs, roomId);
  // The viewer is never a hero; one spare candidate per list covers leaving them out.
  const pick = (list: string[]) => list.filter((member) => member !== userId).slice(0, 5);
  const active = pick(known.active);
  const heroes = active.length > 0 ? active : pick(known.departed);
  return { "m.heroes": heroes, "m.joined_member_count": known.joined, "m.invited_member_count": known.invited };
}

interface MembershipSummary {
  joined: number;
  invited: number;
  /** The first six joined or invited members by stream ordering. */
  active: string[];
  /** The first six who left or were banned, by stream ordering. */
  departed: string[];
}

/**
 * The user-independent part of a room's summary, kept until the room's next
 * member event: every member of a big room syncing after a message would
 * otherwise read the whole member list each time.
 */
function membershipSummary(hs: Homeserver, roomId: string): MembershipSummary {
  const cache = membershipSummaries(hs);
  const pos = hs.store.state.latestMemberChangePos(roomId);
  const cached = cache.get(roomId);
  if (cached && cached.pos === pos) return cached.summary;
  const members = hs.store.state.members(roomId);
  const order = new Map(hs.store.events.getMany(members.map((m) => m.eventId)).map((row) => [row.eventId, row.streamPos]));
  const byStream = (a: { eventId: string }, b: { eventId: string }) => (order.get(a.eventId) ?? 0) - (order.get(b.eventId) ?? 0);
  const firstSix = (wanted: (membership: string | null) => boolean) =>
    members.filter((m) => wanted(m.membership)).sort(byStream).slice(0, 6).map((m) => m.userId);
  const summary: MembershipSummary = {
    joined: members.filter((m) => m.membership === "join").length,
    invited: members.filter((m) => m.membership === "invite").length,
    active: firstSix((membership) => membership === "join" || membership === "invite"),
    departed: firstSix((membership) => membership === "leave" || membership === "ban"),
  };
  if (cache.size >= 10_000) cache.clear();
  cache.set(roomId, { pos, summary });
  return summary;
}

const membershipSummaries = perInstance<string, { pos: number; summary: MembershipSummary }>();

/** Whether the room has a name or canonical alias (else clients name it from the heroes). */
function hasName(hs: Homeserver, roomId: string): boolean {
  for (const type of ["m.room.name", "m.room.canonical_alias"]) {
    const id = hs.store.state.currentEventId(roomId, type, "");
    const content = id ? loadEvent(hs, id)?.pdu.content : undefined;
    if (content && ((typeof content.name === "string" && content.name !== "") || (typeof content.alias === "string" && content.alias !== ""))) return true;
  }
  return false;
}

export interface SyncOptions {
  filter: Filter;
  useStateAfter: boolean;
  /** Room account data changed in the sync's window, by room (read once per sync). */
  roomAccountData?: Map<string, AccountDataRow[]>;
  /** An initial (or full_state) sync: roomAccountData then holds everything. */
  initialSync?: boolean;
}

/** A joined (or left: `joined` false) room's section. */
export function roomSection(hs: Homeserver, viewer: Viewer, window: RoomWindow, options: SyncOptions, typingSince: number | null) {
  const { filter } = options;
  const timelineFilter = filter.room?.timeline;
  const stateFilter = filter.room?.state;
  const timeline = roomTimeline(hs, viewer, window, timelineFilter);
  const firstPos = timeline.events[0]?.row.streamPos;
  const lazy = stateFilter?.lazy_load_members === true;
  const senders = new Set(timeline.events.map((event) => event.row.sender));

  // Summary: on first sight, and when membership changed (in the timeline, or in a gap).
  const stateFrom = window.initial ? 0 : window.from;
  const membersChanged =
    window.initial ||
    timeline.events.some((event) => event.row.type === "m.room.member") ||
    (timeline.limited && stateDelta(hs, window.roomId, stateFrom, window.to).some((id) => loadEvent(hs, id)?.row.type === "m.room.member"));
  const summary = membersChanged ? roomSummary(hs, window.roomId, viewer.userId) : undefined;

  // Lazy-loading (spec: "Lazy-loading room members"): member events only for the
  // timeline's senders and the user, and for the heroes when the client names the
  // room from them ("the membership events for the heroes MUST be included").
  const wanted = new Set(senders);
  if (summary && !hasName(hs, window.roomId)) for (const hero of summary["m.heroes"]) wanted.add(hero);
  const neededMembers = lazy ? new Set([viewer.userId, ...wanted]) : null;
  /** State ids plus, when lazy, the wanted members' events at `pos` (a delta alone lacks senders the client never got). */
  const withWantedMembers = (ids: string[], pos: number): string[] => {
    if (!lazy) return ids;
    const all = new Set(ids);
    for (const userId of wanted) {
      if (userId === viewer.userId) continue;
      const id = sharedMemberEventAt(hs, window.roomId, userId, pos);
      if (id) all.add(id);
    }
    return [...all];
  };
  const stateEvents = (ids: string[]) => filterState(ids.map((id) => loadEvent(hs, id)!).filter(Boolean), stateFilter, neededMembers);

  const section: Record<string, unknown> = {};
  if (options.useStateAfter) {
    // state_after (MSC4222): the state at the end of the timeline, as a delta from `from`.
    const ids = withWantedMembers(stateDelta(hs, window.roomId, stateFrom, window.to), window.to);
    section.state_after = { events: toClient(hs, stateEvents(ids), viewer, filter) };
    section["org.matrix.msc4222.state_after"] = section.state_after;
  } else {
    // state: up to the start of the timeline; nothing when the timeline already carries every change.
    const stateAt = firstPos !== undefined ? firstPos - 1 : window.to;
    let ids: string[] = [];
    if (window.initial || timeline.limited) ids = stateBeforeTimeline(hs, window.roomId, stateFrom, stateAt, window.to, timeline.events);
    section.state = { events: toClient(hs, stateEvents(withWantedMembers(ids, stateAt)), viewer, filter) };
  }
  section.timeline = {
    // Children after `to` reach the client in a later sync; a left room's stop at the departure.
    events: toClient(hs, timeline.events, viewer, filter, { untilPos: window.to, joinedSince: window.joined || window.departure?.wasJoined === true }),
    limited: timeline.limited,
    prev_batch: timeline.prevBatch,
  };

  if (summary) section.summary = summary;

  if (window.joined) {
    // room.ephemeral filters m.typing / m.receipt by type (spec: "Filtering", RoomFilter).
    const ephemeral = ephemeralEvents(hs, viewer.userId, window, typingSince).filter((event) => typeIncluded(filter.room?.ephemeral, event.type));
    section.ephemeral = { events: ephemeral };
    // Counts of the push rules' notifications after the read receipts (spec: "Receiving notifications").
    Object.assign(section, unreadNotifications(hs, window.roomId, viewer.userId, timelineFilter?.unread_thread_notifications === true));
  }
  const accountFrom = window.initial ? 0 : window.from;
  // A room seen afresh in an incremental sync needs its account data from the start.
  const accountRows = window.initial && options.roomAccountData !== undefined && !options.initialSync
    ? hs.store.accountData.all(viewer.userId, window.roomId)
    : (options.roomAccountData?.get(window.roomId) ?? []);
  const accountData = accountRows.filter(
    (row) => row.streamPos > accountFrom && row.streamPos <= window.to && typeIncluded(filter.room?.account_data, row.type),
  );
  section.account_data = { events: accountData.map((row) => ({ type: row.type, content: JSON.parse(row.content) })) };
  return section;
}

/** m.typing (when it changed) and m.receipt (receipts new since `from`). */
function ephemeralEvents(hs: Homeserver, userId: string, window: RoomWindow, typingSince: number | null): { type: string; content: unknown }[] {
  const events: { type: string; content: unknown }[] = [];
  if (typingSince === null || hs.typing.changedSince(window.roomId, typingSince)) {
    const users = hs.typing.usersIn(window.roomId);
    if (typingSince !== null || users.length > 0) events.push({ type: "m.typing", content: { user_ids: users } });
  }
  const receipts = hs.store.receipts.changed(window.roomId, window.initial ? 0 : window.from, window.to);
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
