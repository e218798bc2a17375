// One room's entry in a sliding sync response (MSC4186 "Room results"): the
// whole room the first time a connection gets it (`initial`), afterwards only
// what changed since the connection last dealt with it. The timeline and unread
// counts come from the /sync code (sync/rooms.ts), so both APIs agree.
import type { Homeserver } from "../../homeserver";
import { toClientEventsWithRelations } from "../../rooms/aggregations";
import { toSyncEvent, type Viewer } from "../../rooms/client-format";
import { loadEvent, type StoredEvent } from "../../rooms/room-state";
import type { StateEntry } from "../../store/state";
import { unreadNotifications } from "../../push/counts";
import { roomTimeline, strippedState, type RoomWindow } from "../rooms";
import { sharedStateChanges } from "../shared-reads";
import type { RoomSent } from "./connection";
import type { RoomConfig } from "./request";
import { requiredStateSignature, stateLookups, wantsState } from "./room-config";
import type { RoomEntry, RoomFacts } from "./room-list";
import { roomIdentity } from "./room-name";

export interface RoomContext {
  viewer: Viewer;
  now: number;
  /** Stream position of the snapshot the request resumes (null: a new connection). */
  since: number | null;
  facts: RoomFacts;
  /** The user's m.direct changed since the snapshot: is_dm may have changed anywhere. */
  directChanged: boolean;
}

export interface RoomBuild {
  /** The room's entry, or null when there is nothing new to send. */
  result: Record<string, unknown> | null;
  sent: RoomSent;
}

/** Fields sent once and then only when they change ("If the room name hasn't changed then the name field will only be sent down the first sync"). */
type Fields = Record<string, unknown>;

export function buildRoomResult(hs: Homeserver, entry: RoomEntry, config: RoomConfig, previous: RoomSent | undefined, ctx: RoomContext): RoomBuild {
  if (entry.membership === "invite" || entry.membership === "knock") return strippedRoomResult(hs, entry, previous, ctx);
  if (entry.membership !== "join" && !wasJoinedBefore(hs, loadEvent(hs, entry.memberEventId)!)) return departureResult(hs, entry, previous, ctx);
  return roomResult(hs, entry, config, previous, ctx);
}

/**
 * A rejected or withdrawn invite (or knock): the user never was in the room, so
 * they get their own membership event and nothing of the room's state (MSC4186:
 * "The server MUST NOT send any room information down that the user does not
 * have permission to see").
 */
function departureResult(hs: Homeserver, entry: RoomEntry, previous: RoomSent | undefined, ctx: RoomContext): RoomBuild {
  if (previous && previous.membership === entry.membership) return { result: null, sent: previous };
  const memberEvent = toSyncEvent(hs, loadEvent(hs, entry.memberEventId)!, ctx.viewer);
  return {
    result: { initial: true, membership: entry.membership, bump_stamp: entry.stamp, timeline: [memberEvent], num_live: 0, required_state: [memberEvent] },
    sent: { pos: ctx.now, membership: entry.membership, timelineLimit: 0, stateSignature: "", fields: {}, lazyMembers: new Set() },
  };
}

/** Invites and knocks: only the stripped state the membership event carries ("Invite/knock/rejections"), once. */
function strippedRoomResult(hs: Homeserver, entry: RoomEntry, previous: RoomSent | undefined, ctx: RoomContext): RoomBuild {
  if (previous && previous.membership === entry.membership) return { result: null, sent: previous };
  const memberEvent = loadEvent(hs, entry.memberEventId)!;
  const stripped = strippedState(hs, entry.roomId, memberEvent);
  const result: Record<string, unknown> = {
    initial: true,
    membership: entry.membership,
    bump_stamp: entry.stamp,
    stripped_state: stripped,
    // The unstable field names matrix-rust-sdk reads.
    [entry.membership === "invite" ? "invite_state" : "knock_state"]: stripped,
  };
  if (ctx.facts.isDm(entry.roomId)) result.is_dm = true;
  return {
    result,
    sent: { pos: ctx.now, membership: entry.membership, timelineLimit: 0, stateSignature: "", fields: {}, lazyMembers: new Set() },
  };
}

function roomResult(hs: Homeserver, entry: RoomEntry, config: RoomConfig, previous: RoomSent | undefined, ctx: RoomContext): RoomBuild {
  const { roomId } = entry;
  const joined = entry.membership === "join";
  const memberEvent = loadEvent(hs, entry.memberEventId)!;
  // A room the user is no longer in is shown up to their departure.
  const to = joined ? ctx.now : memberEvent.row.streamPos;
  // First sight, or the client only had the invite: the whole room.
  const initial = !previous || previous.membership === "invite" || previous.membership === "knock" || (joined && previous.membership !== "join");
  // "If the timeline_limit has increased ... the server SHOULD send down the latest N events" (MSC4186 "Changes to timeline_limit").
  const expanded = !initial && config.timelineLimit > previous!.timelineLimit;
  const stateSignature = requiredStateSignature(config);
  const stateExpanded = !initial && stateSignature !== previous!.stateSignature;
  const newEvents = initial || Math.min(hs.store.events.latestPos(roomId), to) > previous!.pos;
  const fieldsMayChange = newEvents || ctx.directChanged || (joined && hs.store.receipts.latestPos(roomId) > previous!.pos);
  if (!initial && !expanded && !stateExpanded && !fieldsMayChange) {
    return { result: null, sent: previous!.pos >= to ? previous! : { ...previous!, pos: to } };
  }

  const result: Record<string, unknown> = {};
  let lazyMembers = initial ? new Set<string>() : new Set(previous!.lazyMembers);
  let timelineEvents: StoredEvent[] = [];
  if (initial || expanded || newEvents) {
    const window: RoomWindow = {
      roomId,
      from: initial || expanded ? 0 : previous!.pos,
      to,
      initial: initial || expanded,
      joined,
      joinedAt: joined ? memberEvent.row.streamPos : undefined,
      departure: joined ? undefined : { eventId: entry.memberEventId, wasJoined: wasJoinedBefore(hs, memberEvent) },
    };
    const timeline = roomTimeline(hs, ctx.viewer, window, { limit: config.timelineLimit });
    timelineEvents = timeline.events;
    // Events after the point the client had synced to are live ("num_live").
    const liveFrom = previous?.pos ?? ctx.since ?? Number.MAX_SAFE_INTEGER;
    // Without room_id, as /sync serves them (Synapse: format_event_for_client_v2_without_room_id),
    // so one object per event serves every woken connection; with bundled aggregations.
    result.timeline = toClientEventsWithRelations(hs, timelineEvents, ctx.viewer, { untilPos: to, joinedSince: window.joined || window.departure?.wasJoined === true }, true, "sync");
    result.prev_batch = timeline.prevBatch;
    result.num_live = timelineEvents.filter((event) => event.row.streamPos > liveFrom).length;
    if (timeline.limited) {
      result.limited = true;
      // "clients must flush any membership cache when limited is true" (MSC4186 "Lazy loaded memberships").
      lazyMembers = new Set();
    }
    // The unstable name matrix-rust-sdk reads, and the MSC's final one.
    if (expanded) result.unstable_expanded_timeline = result.expanded_timeline = true;
  }

  const fullState = initial || stateExpanded;
  // State set since the connection last had the room (read once: required_state,
  // lazy members and the room's identity all follow from it).
  const stateChanges = initial ? null : sharedStateChanges(hs, roomId, previous!.pos, to);
  const state = requiredState(hs, roomId, config, fullState ? null : stateChanges!, to, joined);
  if (config.requiredState.lazy) {
    // Members of the timeline's senders and targets the connection has not had yet.
    const wanted = new Set<string>();
    for (const event of timelineEvents) {
      wanted.add(event.row.sender);
      if (event.row.type === "m.room.member" && event.row.stateKey !== null) wanted.add(event.row.stateKey);
    }
    // Without a gap, every membership change reaches the client (MSC4186, lazy members, point 3),
    // whether or not it had that member before.
    if (!fullState && result.limited !== true) {
      for (const change of stateChanges!) {
        if (change.type !== "m.room.member") continue;
        state.add(change.eventId);
        lazyMembers.add(change.stateKey);
      }
    }
    for (const userId of wanted) {
      if (lazyMembers.has(userId)) continue;
      const id = joined ? hs.store.state.currentEventId(roomId, "m.room.member", userId) : hs.store.state.eventIdAt(roomId, "m.room.member", userId, to);
      if (id) state.add(id);
      lazyMembers.add(userId);
    }
  }
  if (state.size > 0 || fullState) {
    result.required_state = [...state].map((id) => loadEvent(hs, id)).filter((event) => event !== undefined).map((event) => toSyncEvent(hs, event, ctx.viewer));
  }

  // Name, avatar, heroes and member counts come from state: with no state change they stand.
  const identityStands = stateChanges !== null && stateChanges.length === 0;
  const fields = roomFields(hs, entry, ctx, joined, to, !identityStands);
  const sentFields: Record<string, string> = identityStands ? { ...previous!.fields } : {};
  for (const [key, value] of Object.entries(fields)) {
    const json = JSON.stringify(value);
    sentFields[key] = json;
    if (value === undefined) continue;
    if (initial || previous!.fields[key] !== json) result[key] = value;
  }
  // A room that stopped being a DM says so ("Must be included in an incremental sync if the DM state changes").
  if (!initial && fields.is_dm === undefined && previous!.fields.is_dm === "true") result.is_dm = false;
  // A name or avatar that went away since the last response: null says so (MSC4186 `name`, `avatar`).
  if (!initial && !identityStands) for (const key of ["name", "avatar"]) if (fields[key] === undefined && previous!.fields[key] !== undefined && previous!.fields[key] !== "null") result[key] = null;

  const sent: RoomSent = {
    pos: to,
    membership: entry.membership,
    timelineLimit: config.timelineLimit,
    stateSignature,
    fields: sentFields,
    lazyMembers,
  };
  const hasNews =
    initial ||
    expanded ||
    (Array.isArray(result.timeline) && result.timeline.length > 0) ||
    (Array.isArray(result.required_state) && result.required_state.length > 0) ||
    Object.keys(result).some((key) => key in fields);
  if (!hasNews) return { result: null, sent };
  if (initial) result.initial = true;
  return { result, sent };
}

/** The member event before the departure was a join: the user saw the room until then. */
function wasJoinedBefore(hs: Homeserver, memberEvent: StoredEvent): boolean {
  const before = memberEvent.row.replacesState ? loadEvent(hs, memberEvent.row.replacesState) : undefined;
  return before?.pdu.content.membership === "join";
}

/** bump_stamp, is_dm, membership and unread counts as they are now, and (withIdentity) name, avatar, heroes and member counts. */
function roomFields(hs: Homeserver, entry: RoomEntry, ctx: RoomContext, joined: boolean, to: number, withIdentity: boolean): Fields {
  const fields: Fields = {
    membership: entry.membership,
    bump_stamp: entry.stamp,
    is_dm: ctx.facts.isDm(entry.roomId) ? true : undefined,
  };
  if (withIdentity) {
    const identity = roomIdentity(hs, entry.roomId, ctx.viewer.userId);
    fields.name = identity.name;
    fields.avatar = identity.avatar;
    fields.heroes = identity.heroes;
    fields.joined_count = identity.joinedCount;
    fields.invited_count = identity.invitedCount;
  }
  if (joined) {
    // The same push-rule counters as /sync's unread_notifications.
    const { unread_notifications: counts } = unreadNotifications(hs, entry.roomId, ctx.viewer.userId, false);
    fields.notification_count = counts.notification_count;
    fields.highlight_count = counts.highlight_count;
  }
  return fields;
}

/**
 * State the config asks for: all of it in force at `to` (changes = null), or
 * among the entries that changed. Returns event ids.
 */
function requiredState(hs: Homeserver, roomId: string, config: RoomConfig, changes: readonly StateEntry[] | null, to: number, joined: boolean): Set<string> {
  const ids = new Set<string>();
  if (config.requiredState.include.length === 0) return ids;
  let entries: readonly StateEntry[];
  if (changes !== null) entries = changes;
  else {
    const lookups = stateLookups(config);
    if (lookups === null || !joined) {
      // Everything, or a left room's state at the departure (rare): one read of the whole state.
      entries = joined ? hs.store.state.current(roomId) : hs.store.state.at(roomId, to);
    } else {
      const found: StateEntry[] = [];
      for (const { type, stateKey } of lookups) {
        if (stateKey === null) found.push(...hs.store.state.currentOfType(roomId, type));
        else {
          const eventId = hs.store.state.currentEventId(roomId, type, stateKey);
          if (eventId) found.push({ type, stateKey, eventId });
        }
      }
      entries = found;
    }
  }
  for (const entry of entries) if (wantsState(config, entry.type, entry.stateKey)) ids.add(entry.eventId);
  return ids;
}
