// Space hierarchy (spec: Client-Server API, "Spaces", GET
// /_matrix/client/v1/rooms/{roomId}/hierarchy): a depth-first walk over
// m.space.child state events, showing each room the requester may see.
// Only rooms this server knows are shown: there is no federation to ask.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { publicRoomChunk, type PublicRoomChunk } from "./directory";
import { isRoomId } from "./ids";
import { currentMembership, currentStateEvent, loadState, type StoredEvent } from "./room-state";

export const DEFAULT_HIERARCHY_LIMIT = 50;
export const MAX_HIERARCHY_LIMIT = 100;
/** The deepest a walk goes ("Servers should ... impose a maximum value"). */
export const MAX_HIERARCHY_DEPTH = 50;

export interface HierarchyQuery {
  suggestedOnly: boolean;
  maxDepth: number;
  limit: number;
  from?: string;
}

export interface StrippedChildState {
  type: string;
  state_key: string;
  content: Record<string, unknown>;
  sender: string;
  origin_server_ts: number;
}

export interface HierarchyRoom extends PublicRoomChunk {
  children_state: StrippedChildState[];
  room_version?: string;
  encryption?: string;
  allowed_room_ids?: string[];
}

/**
 * Whether the requester may see a room in the hierarchy (spec, the `rooms`
 * response field): joined; or allowed to join (invited, join rule public, or
 * restricted with membership of an allowed room); or the room is knockable; or
 * its history is world_readable. A banned user sees it only when world_readable.
 */
export function canPreviewRoom(hs: Homeserver, userId: string, roomId: string): boolean {
  if (!hs.store.rooms.get(roomId)) return false;
  const membership = currentMembership(hs, roomId, userId);
  if (membership === "join" || membership === "invite") return true;
  if (currentStateEvent(hs, roomId, "m.room.history_visibility", "")?.pdu.content.history_visibility === "world_readable") return true;
  if (membership === "ban") return false;
  const joinRules = currentStateEvent(hs, roomId, "m.room.join_rules", "")?.pdu.content ?? {};
  const rule = joinRules.join_rule;
  if (rule === "public" || rule === "knock" || rule === "knock_restricted") return true;
  if (rule === "restricted") return allowedRoomIds(joinRules).some((allowed) => currentMembership(hs, allowed, userId) === "join");
  return false;
}

/** The rooms whose members may join a restricted room (spec: "Restricted rooms"). */
export function allowedRoomIds(joinRules: Record<string, unknown>): string[] {
  const allow = Array.isArray(joinRules.allow) ? joinRules.allow : [];
  return allow
    .filter((entry): entry is { type: string; room_id: string } => typeof entry === "object" && entry !== null && entry.type === "m.room_membership" && typeof entry.room_id === "string")
    .map((entry) => entry.room_id);
}

/**
 * The m.space.child events of a room that name a child: a valid room id as
 * state key and a non-empty `via` ("Children where via is not present are
 * ignored", spec: m.space.child), only the suggested ones with `suggestedOnly`.
 */
function childEvents(hs: Homeserver, roomId: string, suggestedOnly: boolean): StoredEvent[] {
  const entries = hs.store.state.currentOfType(roomId, "m.space.child").filter((entry) => isRoomId(entry.stateKey));
  return loadState(hs, entries)
    .filter((event) => Array.isArray(event.pdu.content.via) && event.pdu.content.via.length > 0)
    .filter((event) => !suggestedOnly || event.pdu.content.suggested === true);
}

/**
 * Children in the spec's order ("Ordering of children within a space"): those
 * with a valid `order` (printable ASCII, at most 50 characters) first, by it;
 * then by the child event's origin_server_ts; then by room id.
 */
function sortChildren(children: StoredEvent[]): StoredEvent[] {
  const orderOf = (event: StoredEvent) => {
    const order = event.pdu.content.order;
    return typeof order === "string" && order.length <= 50 && /^[\x20-\x7e]*$/.test(order) ? order : undefined;
  };
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...children].sort((a, b) => {
    const orderA = orderOf(a);
    const orderB = orderOf(b);
    if (orderA !== undefined && orderB !== undefined && orderA !== orderB) return compare(orderA, orderB);
    if (orderA !== undefined && orderB === undefined) return -1;
    if (orderA === undefined && orderB !== undefined) return 1;
    return a.pdu.origin_server_ts - b.pdu.origin_server_ts || compare(a.pdu.state_key!, b.pdu.state_key!);
  });
}

/** A room's summary (spec: RoomSummary) and its child events, stripped, with origin_server_ts. */
function hierarchyRoom(hs: Homeserver, roomId: string, children: StoredEvent[]): HierarchyRoom {
  const room: HierarchyRoom = {
    ...publicRoomChunk(hs, roomId),
    children_state: children.map(({ pdu }) => ({
      type: pdu.type,
      state_key: pdu.state_key!,
      content: pdu.content,
      sender: pdu.sender,
      origin_server_ts: pdu.origin_server_ts,
    })),
  };
  const version = hs.store.rooms.get(roomId)?.roomVersion;
  if (version) room.room_version = version;
  const algorithm = currentStateEvent(hs, roomId, "m.room.encryption", "")?.pdu.content.algorithm;
  if (typeof algorithm === "string") room.encryption = algorithm;
  const joinRules = currentStateEvent(hs, roomId, "m.room.join_rules", "")?.pdu.content ?? {};
  if (joinRules.join_rule === "restricted" || joinRules.join_rule === "knock_restricted") room.allowed_room_ids = allowedRoomIds(joinRules);
  return room;
}

/**
 * `from` tokens: how many rooms earlier pages returned, with the parameters
 * that may not change between pages (spec: "If specified, max_depth and
 * suggested_only cannot be changed from the first request"). The walk is
 * deterministic, so a page is the walk again with that many rooms skipped.
 */
function paginationToken(roomId: string, query: HierarchyQuery, offset: number): string {
  return Buffer.from(JSON.stringify([roomId, query.suggestedOnly, query.maxDepth, offset])).toString("base64url");
}

function parseFrom(roomId: string, query: HierarchyQuery): number {
  if (query.from === undefined) return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(query.from, "base64url").toString());
  } catch {
    throw new MatrixError(400, "M_INVALID_PARAM", "Unknown pagination token");
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || !Number.isSafeInteger(parsed[3]) || parsed[3] < 0) {
    throw new MatrixError(400, "M_INVALID_PARAM", "Unknown pagination token");
  }
  if (parsed[0] !== roomId || parsed[1] !== query.suggestedOnly || parsed[2] !== query.maxDepth) {
    throw new MatrixError(400, "M_INVALID_PARAM", "suggested_only and max_depth cannot change during pagination");
  }
  return parsed[3] as number;
}

/**
 * GET /rooms/{roomId}/hierarchy. 403 when the requester cannot see the room at
 * the root (or it does not exist: "The room does not exist" is among the spec's
 * 403 reasons). Children the requester cannot see are left out, and so is
 * everything below them.
 */
export function spaceHierarchy(hs: Homeserver, userId: string, rootId: string, query: HierarchyQuery) {
  const skip = parseFrom(rootId, query);
  if (!canPreviewRoom(hs, userId, rootId)) throw forbidden("You cannot view or peek on this room");
  const rooms: HierarchyRoom[] = [];
  const seen = new Set<string>();
  let index = 0;
  let more = false;
  // Depth-first: a stack of (room, depth), children pushed in reverse order.
  const stack: { roomId: string; depth: number }[] = [{ roomId: rootId, depth: 0 }];
  while (stack.length > 0) {
    const { roomId, depth } = stack.pop()!;
    if (seen.has(roomId)) continue;
    seen.add(roomId);
    if (roomId !== rootId && !canPreviewRoom(hs, userId, roomId)) continue;
    if (rooms.length === query.limit) {
      more = true;
      break;
    }
    const children = sortChildren(childEvents(hs, roomId, query.suggestedOnly));
    if (index >= skip) rooms.push(hierarchyRoom(hs, roomId, children));
    index++;
    if (depth < query.maxDepth) {
      for (let i = children.length - 1; i >= 0; i--) stack.push({ roomId: children[i]!.pdu.state_key!, depth: depth + 1 });
    }
  }
  const response: { rooms: HierarchyRoom[]; next_batch?: string } = { rooms };
  if (more) response.next_batch = paginationToken(rootId, query, skip + rooms.length);
  return response;
}
