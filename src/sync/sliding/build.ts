// Assembles a simplified sliding sync response (MSC4186): the lists' counts, the
// rooms of the lists' ranges and of the subscriptions that are new to the
// connection or changed since its snapshot, and the extensions. Like buildSync, a
// function of (user, request, snapshot, store); `slidingSync` adds the long-poll.
import type { Requester } from "../../accounts/credentials";
import type { Homeserver } from "../../homeserver";
import { loadEvent } from "../../rooms/room-state";
import { waitForChange } from "../notifier";
import { presenceOnlyWake } from "../presence";
import { bumpStamp } from "./bump-stamp";
import { formatPos, slidingConnections, type RoomSent, type Snapshot } from "./connection";
import { accountDataExtension, e2eeExtension, receiptsExtension, scopedRooms, toDeviceExtension, typingExtension, type ResponseRooms } from "./extensions";
import type { RoomConfig, SlidingRequest } from "./request";
import { combineConfigs } from "./room-config";
import { passesFilters, RoomFacts, roomsInRanges, userRoomList, type RoomEntry } from "./room-list";
import { buildRoomResult } from "./room-result";

export interface SlidingResult {
  response: Record<string, any>;
  /** Nothing new for the client: a long-poll waits and builds again. */
  empty: boolean;
  /** The connection's state after this response; null when it is the snapshot resumed, unchanged. */
  snapshot: Omit<Snapshot, "seq"> | null;
}

interface WantedRoom {
  entry: RoomEntry;
  config: RoomConfig;
  lists: string[];
}

/** The user's membership of a subscribed room as a list entry; only members, invitees and knockers may see a room ("Subscriptions"). */
function subscribedEntry(hs: Homeserver, userId: string, roomId: string): RoomEntry | undefined {
  const eventId = hs.store.state.currentEventId(roomId, "m.room.member", userId);
  const event = eventId ? loadEvent(hs, eventId) : undefined;
  const membership = event?.pdu.content.membership;
  if (!event || (membership !== "join" && membership !== "invite" && membership !== "knock")) return undefined;
  return { roomId, membership, memberEventId: event.eventId, stamp: membership === "join" ? bumpStamp(hs, roomId) : event.row.streamPos };
}

export function buildSlidingSync(hs: Homeserver, requester: Requester, request: SlidingRequest, base: Snapshot | null): SlidingResult {
  const { store } = hs;
  // A woken long-poll builds after the commit that woke it, outside any request's start.
  store.readInTransaction();
  const { userId, deviceId } = requester;
  const now = store.stream.current;
  const typing = hs.typing.serial;
  const since = base?.pos ?? null;
  const toDevice = request.extensions.toDevice;

  // The same request as the snapshot answered and nothing concerned the user
  // since (the notifier hears of every such write): nothing to send, no room visited.
  if (
    base !== null &&
    base.signature === request.signature &&
    hs.notifier.nothingSince(userId, base.pos, base.typing) &&
    !(toDevice && store.toDevice.hasAfter(userId, deviceId, toDevice.since ?? 0))
  ) {
    return { response: quietResponse(hs, requester, request, base), empty: true, snapshot: null };
  }

  const sentRooms: ReadonlyMap<string, RoomSent> = base?.rooms ?? new Map();
  const facts = new RoomFacts(hs, userId);
  const wanted = new Map<string, WantedRoom>();
  const want = (entry: RoomEntry, config: RoomConfig, list?: string) => {
    const known = wanted.get(entry.roomId);
    if (known) {
      known.config = combineConfigs(known.config, config);
      if (list !== undefined) known.lists.push(list);
    } else wanted.set(entry.roomId, { entry, config, lists: list === undefined ? [] : [list] });
  };

  const listCounts = new Map<string, number>();
  const responseRooms: ResponseRooms = { lists: new Map(), subscriptions: [] };
  if (request.lists.size > 0) {
    const all = userRoomList(hs, userId, sentRooms);
    if ([...request.lists.values()].some((list) => list.filters.roomTypes !== undefined || list.filters.notRoomTypes !== undefined)) {
      facts.primeRoomTypes(all.map((room) => room.roomId));
    }
    for (const [name, list] of request.lists) {
      const filtered = all.filter((room) => passesFilters(room, list.filters, facts));
      listCounts.set(name, filtered.length);
      const inRange = roomsInRanges(filtered, list.ranges);
      responseRooms.lists.set(name, inRange.map((room) => room.roomId));
      for (const entry of inRange) want(entry, list, name);
    }
  }
  for (const [roomId, config] of request.subscriptions) {
    const entry = wanted.get(roomId)?.entry ?? subscribedEntry(hs, userId, roomId);
    if (!entry) continue;
    responseRooms.subscriptions.push(roomId);
    want(entry, config);
  }

  const directChanged = since !== null && store.accountData.latestPos(userId) > since && (store.accountData.get(userId, "", "m.direct")?.streamPos ?? 0) > since;
  const ctx = { viewer: { userId, deviceId }, now, since, facts, directChanged };
  const rooms: Record<string, Record<string, unknown>> = {};
  let nextRooms: Map<string, RoomSent> | null = null;
  const initialRooms = new Set<string>();
  const initialTimelines = new Map<string, Set<string>>();
  for (const { entry, config, lists } of wanted.values()) {
    const previous = sentRooms.get(entry.roomId);
    const { result, sent } = buildRoomResult(hs, entry, config, previous, ctx);
    if (sent !== previous) (nextRooms ??= new Map(sentRooms)).set(entry.roomId, sent);
    if (!result) continue;
    if (lists.length > 0) result.lists = lists;
    rooms[entry.roomId] = result;
    if (result.initial === true) {
      initialRooms.add(entry.roomId);
      initialTimelines.set(entry.roomId, new Set(((result.timeline as { event_id: string }[] | undefined) ?? []).map((event) => event.event_id)));
    }
  }

  const extensions: Record<string, unknown> = {};
  let extensionNews = false;
  if (toDevice) {
    const result = toDeviceExtension(hs, requester, toDevice.since, toDevice.limit, now);
    extensions.to_device = result;
    extensionNews ||= result.events.length > 0;
  }
  if (request.extensions.e2ee) {
    const result = e2eeExtension(hs, requester, since, now);
    extensions.e2ee = result;
    extensionNews ||= result.device_lists.changed.length + result.device_lists.left.length > 0;
  }
  if (request.extensions.accountData) {
    const result = accountDataExtension(hs, userId, scopedRooms(request.extensions.accountData, responseRooms), initialRooms, since, now);
    if (result.global.length > 0 || Object.keys(result.rooms).length > 0) {
      extensions.account_data = result;
      extensionNews = true;
    }
  }
  if (request.extensions.receipts) {
    const result = receiptsExtension(hs, userId, scopedRooms(request.extensions.receipts, responseRooms), initialTimelines, since, now);
    if (Object.keys(result.rooms).length > 0) {
      extensions.receipts = result;
      extensionNews = true;
    }
  }
  if (request.extensions.typing) {
    const result = typingExtension(hs, scopedRooms(request.extensions.typing, responseRooms), base?.typing ?? null);
    if (Object.keys(result.rooms).length > 0) {
      extensions.typing = result;
      extensionNews = true;
    }
  }

  const countsChanged = base === null || [...listCounts].some(([name, count]) => base.listCounts.get(name) !== count);
  const response: Record<string, any> = {
    lists: Object.fromEntries([...listCounts].map(([name, count]) => [name, { count }])),
    rooms,
    extensions,
  };
  if (request.txnId !== undefined) response.txn_id = request.txnId;
  return {
    response,
    empty: !countsChanged && Object.keys(rooms).length === 0 && !extensionNews,
    snapshot: { pos: now, typing, rooms: nextRooms ?? sentRooms, listCounts, signature: request.signature },
  };
}

/** The answer when nothing changed: the lists' counts as last sent, and the device's key counts for the e2ee extension. */
function quietResponse(hs: Homeserver, requester: Requester, request: SlidingRequest, base: Snapshot): Record<string, any> {
  const extensions: Record<string, unknown> = {};
  const toDevice = request.extensions.toDevice;
  if (toDevice) {
    // Polling with a `since` still acknowledges what it covered.
    if (toDevice.since !== null) hs.store.toDevice.acknowledge(requester.userId, requester.deviceId, toDevice.since);
    extensions.to_device = { next_batch: String(toDevice.since ?? 0), events: [] };
  }
  if (request.extensions.e2ee) extensions.e2ee = e2eeExtension(hs, requester, base.pos, base.pos);
  const response: Record<string, any> = {
    lists: Object.fromEntries([...base.listCounts].map(([name, count]) => [name, { count }])),
    rooms: {},
    extensions,
  };
  if (request.txnId !== undefined) response.txn_id = request.txnId;
  return response;
}

/**
 * One sliding sync request: resume the connection's snapshot (M_UNKNOWN_POS if
 * gone) or start afresh, answer at once when there is news, else wait for a
 * commit that concerns the user (the broadcaster /sync uses) until the timeout.
 * Build and wait registration happen in one synchronous stretch, so no commit
 * slips between them.
 */
export async function slidingSync(hs: Homeserver, requester: Requester, request: SlidingRequest, signal: AbortSignal): Promise<Record<string, any>> {
  const connections = slidingConnections(hs);
  const { userId, deviceId } = requester;
  let base: Snapshot | null = null;
  if (request.pos === null) connections.reset(userId, deviceId, request.connId);
  else base = connections.resume(userId, deviceId, request.connId, request.pos);

  const deadline = Date.now() + request.timeoutMs;
  let typing = hs.typing.serial;
  let result = buildSlidingSync(hs, requester, request, base);
  while (result.empty && base !== null && Date.now() < deadline && !signal.aborted && !hs.notifier.closing) {
    const position = await waitForChange(hs.notifier, userId, deadline - Date.now(), signal);
    // Sliding sync carries no presence: a wake by a presence change alone needs no rebuild.
    if (presenceOnlyWake(hs, userId, position, typing)) continue;
    typing = hs.typing.serial;
    result = buildSlidingSync(hs, requester, request, base);
  }
  const snapshot = result.snapshot ? connections.save(userId, deviceId, request.connId, result.snapshot) : base!;
  return { pos: formatPos(snapshot), ...result.response };
}
