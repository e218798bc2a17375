// Assembles a /sync response (spec: Client-Server API, "Syncing"): a pure function
// of (user, filter, since, store). The long-poll in the route only decides when
// to call it again.
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { loadEvent } from "../rooms/room-state";
import { roomIncluded, typeIncluded, type Filter } from "./filter";
import { roomSection, strippedState, type RoomWindow, type SyncOptions } from "./rooms";
import { formatSyncToken, type SyncToken } from "./token";
import { presenceEvents } from "./presence";
import { deviceListChanges } from "../e2ee/keys";
import { PUSH_RULES_TYPE, pushRulesContent } from "../push/ruleset";

const TO_DEVICE_LIMIT = 100;

export interface SyncRequest {
  since: SyncToken | null;
  filter: Filter;
  fullState: boolean;
  useStateAfter: boolean;
}

export interface SyncResult {
  response: Record<string, any>;
  /** Nothing new for the client: a long-poll should wait and try again. */
  empty: boolean;
}

function membershipAt(hs: Homeserver, roomId: string, userId: string, pos: number): string {
  const id = hs.store.state.eventIdAt(roomId, "m.room.member", userId, pos);
  return (id ? (loadEvent(hs, id)?.pdu.content.membership as string | undefined) : undefined) ?? "leave";
}

/** Membership set by a stored member event ("leave" when unknown). */
function membershipOf(hs: Homeserver, eventId: string | null | undefined): string {
  return ((eventId ? loadEvent(hs, eventId)?.pdu.content.membership : undefined) as string | undefined) ?? "leave";
}

/**
 * Whether the user's membership was anything but "join" at some point after
 * `pos`, walking back from their current member event (each one records the
 * event it replaced): they left (or were kicked) and joined again in between.
 */
function leftAndRejoinedSince(hs: Homeserver, memberEvent: { row: { streamPos: number; replacesState: string | null } }, pos: number): boolean {
  let row = memberEvent.row;
  while (row.replacesState) {
    const previous = loadEvent(hs, row.replacesState);
    if (!previous || previous.row.streamPos <= pos) return false;
    if (previous.pdu.content.membership !== "join") return true;
    row = previous.row;
  }
  return false;
}

export function buildSync(hs: Homeserver, requester: Requester, request: SyncRequest): SyncResult {
  const { store } = hs;
  // A woken long-poll builds after the commit that woke it, outside any request's start.
  store.readInTransaction();
  const userId = requester.userId;
  const viewer = { userId, deviceId: requester.deviceId };
  const now = store.stream.current;
  const typingSerial = hs.typing.serial;
  const since = request.since;
  const initial = since === null || request.fullState;
  const options: SyncOptions = { filter: request.filter, useStateAfter: request.useStateAfter };

  // Nothing concerned the user since the token (the notifier hears of every such
  // write) and no send-to-device message waits: answer without visiting the rooms.
  if (
    since !== null &&
    !request.fullState &&
    hs.notifier.nothingSince(userId, since.pos, since.typing) &&
    !store.toDevice.hasAfter(userId, requester.deviceId, since.toDevice)
  ) {
    // Syncing with the token still acknowledges the messages it delivered.
    store.toDevice.acknowledge(userId, requester.deviceId, since.toDevice);
    const keys = store.keys.keyCounts(userId, requester.deviceId);
    return { response: emptyResponse(formatSyncToken({ pos: now, typing: typingSerial, toDevice: since.toDevice }), keys), empty: true };
  }

  const join: Record<string, unknown> = {};
  const invite: Record<string, unknown> = {};
  const leave: Record<string, unknown> = {};
  const knock: Record<string, unknown> = {};

  // Account data of the window, read once and handed to each room by id.
  const accountFrom = initial ? 0 : since!.pos;
  const accountRows = store.accountData.latestPos(userId) > accountFrom ? store.accountData.changed(userId, accountFrom, now) : [];
  const roomAccountData = new Map<string, typeof accountRows>();
  for (const row of accountRows) {
    if (row.roomId === "") continue;
    const rows = roomAccountData.get(row.roomId);
    if (rows) rows.push(row);
    else roomAccountData.set(row.roomId, [row]);
  }
  options.roomAccountData = roomAccountData;
  options.initialSync = initial;

  const memberships = store.state.roomsWithMembership(userId, ["join", "invite", "leave", "ban", "knock"]);
  const forgotten = store.rooms.forgottenAmong(userId, memberships.filter((m) => m.membership === "leave" || m.membership === "ban").map((m) => m.roomId));

  for (const { roomId, membership, eventId: memberEventId } of memberships) {
    if (!roomIncluded(request.filter, roomId)) continue;
    const memberEvent = loadEvent(hs, memberEventId)!;
    const memberPos = memberEvent.row.streamPos;
    // The membership at the token equals the current one when the user's member
    // event is older than the token: only newer ones need the lookup.
    const sinceMembership = since === null ? "leave" : memberPos <= since.pos ? membership : membershipAt(hs, roomId, userId, since.pos);

    if (membership === "join") {
      let window: RoomWindow;
      // Left and joined again since the token: the client dropped the room when it
      // saw the leave (or never saw it), so it gets the room afresh, as Synapse
      // does ("newly joined"): full state, or changes made while away are lost.
      if (initial || sinceMembership !== "join" || (memberPos > since!.pos && leftAndRejoinedSince(hs, memberEvent, since!.pos))) {
        // Initial sync, full_state, or joined since the token: the whole room.
        window = { roomId, from: 0, to: now, initial: true, joined: true, joinedAt: memberPos };
      } else {
        const news =
          store.events.latestPos(roomId) > since!.pos ||
          store.receipts.latestPos(roomId) > since!.pos ||
          store.accountData.latestPos(userId) > since!.pos ||
          hs.typing.changedSince(roomId, since!.typing);
        if (!news) continue;
        window = { roomId, from: since!.pos, to: now, initial: false, joined: true, joinedAt: memberPos };
      }
      const section = roomSection(hs, viewer, window, options, initial ? null : since!.typing);
      if (!window.initial && isEmptyRoomSection(section)) continue;
      join[roomId] = section;
    } else if (membership === "invite" || membership === "knock") {
      if (!initial && memberPos <= since!.pos) continue;
      const stripped = { events: strippedState(hs, roomId, memberEvent) };
      if (membership === "invite") invite[roomId] = { invite_state: stripped };
      else knock[roomId] = { knock_state: stripped };
    } else {
      // leave or ban: shown once, when it happens; on initial sync only with include_leave.
      if (forgotten.has(roomId)) continue;
      const changed = since !== null && memberPos > since.pos;
      if (!changed && !(initial && request.filter.room?.include_leave)) continue;
      const wasInRoom = sinceMembership === "join";
      const window: RoomWindow = {
        roomId,
        from: wasInRoom && since ? since.pos : 0,
        to: memberPos,
        initial: !wasInRoom,
        joined: false,
        departure: { eventId: memberEventId, wasJoined: membershipOf(hs, memberEvent.row.replacesState) === "join" },
      };
      leave[roomId] = roomSection(hs, viewer, window, options, null);
    }
  }

  // Global account data. m.push_rules is the user's ruleset, with the
  // server-default rules of this version; clients expect it from the first sync
  // on, before the user has changed any rule (spec: "Push Rules: Events").
  const accountEvents = accountRows
    .filter((row) => row.roomId === "" && typeIncluded(request.filter.account_data, row.type))
    .map((row) => ({ type: row.type, content: row.type === PUSH_RULES_TYPE ? pushRulesContent(hs, userId) : JSON.parse(row.content) }));
  if (initial && typeIncluded(request.filter.account_data, PUSH_RULES_TYPE) && !accountEvents.some((event) => event.type === PUSH_RULES_TYPE)) {
    accountEvents.push({ type: PUSH_RULES_TYPE, content: pushRulesContent(hs, userId) });
  }

  // Send-to-device: syncing with a token acknowledges what it delivered.
  let toDeviceCursor = since?.toDevice ?? 0;
  if (since) store.toDevice.acknowledge(userId, requester.deviceId, since.toDevice);
  const toDevice = store.toDevice.pending(userId, requester.deviceId, now, TO_DEVICE_LIMIT);
  if (toDevice.length > 0) toDeviceCursor = toDevice.at(-1)!.streamPos;

  const presence = presenceEvents(hs, userId, initial ? 0 : since!.pos, now, request.filter.presence);

  const response = {
    next_batch: formatSyncToken({ pos: now, typing: typingSerial, toDevice: toDeviceCursor }),
    rooms: { join, invite, leave, knock },
    account_data: { events: accountEvents },
    presence: { events: presence },
    to_device: {
      events: toDevice.map((row) => ({ type: row.type, sender: row.sender, content: JSON.parse(row.content) })),
    },
    device_lists: initial ? { changed: [], left: [] } : deviceListChanges(hs, userId, since!.pos, now, memberships),
    device_one_time_keys_count: store.keys.oneTimeKeyCounts(userId, requester.deviceId),
    device_unused_fallback_key_types: store.keys.unusedFallbackKeyTypes(userId, requester.deviceId),
  };
  const empty =
    response.device_lists.changed.length + response.device_lists.left.length === 0 &&
    Object.keys(join).length + Object.keys(invite).length + Object.keys(leave).length + Object.keys(knock).length === 0 &&
    accountEvents.length === 0 &&
    toDevice.length === 0 &&
    presence.length === 0;
  if (empty && since !== null && !request.fullState) hs.notifier.recordQuiet(userId, since.pos);
  return { response, empty };
}

function isEmptyRoomSection(section: Record<string, any>): boolean {
  return (
    section.timeline.events.length === 0 &&
    (section.state?.events.length ?? 0) === 0 &&
    (section.state_after?.events.length ?? 0) === 0 &&
    (section.ephemeral?.events.length ?? 0) === 0 &&
    section.account_data.events.length === 0
  );
}

function emptyResponse(nextBatch: string, keys: { counts: Record<string, number>; fallback: string[] }) {
  return {
    next_batch: nextBatch,
    rooms: { join: {}, invite: {}, leave: {}, knock: {} },
    account_data: { events: [] },
    presence: { events: [] },
    to_device: { events: [] },
    device_lists: { changed: [], left: [] },
    device_one_time_keys_count: keys.counts,
    device_unused_fallback_key_types: keys.fallback,
  };
}
