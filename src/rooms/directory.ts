// Room aliases and the public room directory (spec: Client-Server API, "Room
// aliases", "Listing rooms").
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden, notFound } from "../http/errors";
import { isRoomAlias, serverNameOf } from "./ids";
import { currentPowerLevels, currentStateEvent } from "./room-state";
import { roomAccess } from "./visibility";

function requireLocalAlias(hs: Homeserver, alias: string): string {
  if (!isRoomAlias(alias)) throw new MatrixError(400, "M_INVALID_PARAM", "Room alias invalid");
  if (serverNameOf(alias) !== hs.config.server_name) {
    throw new MatrixError(400, "M_INVALID_PARAM", "Room alias must be on this server");
  }
  return alias;
}

export function resolveAlias(hs: Homeserver, alias: string) {
  if (!isRoomAlias(alias)) throw new MatrixError(400, "M_INVALID_PARAM", "Room alias invalid");
  const target = hs.store.rooms.aliasTarget(alias);
  if (!target) throw notFound(`Room alias ${alias} not found.`);
  return { room_id: target.roomId, servers: [hs.config.server_name] };
}

/**
 * PUT /directory/room/{roomAlias}. As Synapse (its default
 * `require_membership_for_aliases`), only members of the room (or server admins)
 * may point an alias at it, so nobody can squat names on rooms they are not in.
 */
export function createAlias(hs: Homeserver, requester: Requester, alias: string, roomId: string): void {
  requireLocalAlias(hs, alias);
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  if (!requester.isAdmin && currentStateEvent(hs, roomId, "m.room.member", requester.userId)?.pdu.content.membership !== "join") {
    throw forbidden("You must be in the room to create an alias for it");
  }
  if (hs.store.rooms.aliasTarget(alias)) throw new MatrixError(409, "M_UNKNOWN", `Room alias ${alias} already exists.`);
  hs.store.rooms.insertAlias(alias, roomId, requester.userId);
}

/**
 * Who may delete an alias: whoever created it, a server admin, or (as Synapse) a
 * member able to change the room's canonical alias.
 */
export function deleteAlias(hs: Homeserver, requester: Requester, alias: string): void {
  requireLocalAlias(hs, alias);
  const target = hs.store.rooms.aliasTarget(alias);
  if (!target) throw notFound(`Room alias ${alias} not found.`);
  if (target.creator !== requester.userId && !requester.isAdmin) {
    const levels = currentPowerLevels(hs, target.roomId);
    if (levels.userLevel(requester.userId) < levels.eventLevel("m.room.canonical_alias", true)) {
      throw forbidden("You don't have permission to delete this alias");
    }
  }
  hs.store.rooms.deleteAlias(alias);
}

export function localAliases(hs: Homeserver, userId: string, roomId: string): { aliases: string[] } {
  roomAccess(hs, roomId, userId);
  return { aliases: hs.store.rooms.aliasesOf(roomId) };
}

/** GET/PUT /directory/list/room/{roomId}. Publishing needs the power to change the canonical alias (as Synapse). */
export function directoryVisibility(hs: Homeserver, roomId: string): { visibility: "public" | "private" } {
  const room = hs.store.rooms.get(roomId);
  if (!room) throw notFound("Unknown room");
  return { visibility: room.published ? "public" : "private" };
}

export function setDirectoryVisibility(hs: Homeserver, requester: Requester, roomId: string, visibility: "public" | "private"): void {
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  if (!requester.isAdmin) {
    const levels = currentPowerLevels(hs, roomId);
    const membership = currentStateEvent(hs, roomId, "m.room.member", requester.userId)?.pdu.content.membership;
    if (membership !== "join" || levels.userLevel(requester.userId) < levels.eventLevel("m.room.canonical_alias", true)) {
      throw forbidden("You don't have permission to change the directory visibility of this room");
    }
  }
  hs.store.rooms.setPublished(roomId, visibility === "public");
}

export interface PublicRoomChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  join_rule?: string;
  room_type?: string;
}

/** The directory entry of a room, from its current state. */
export function publicRoomChunk(hs: Homeserver, roomId: string): PublicRoomChunk {
  const content = (type: string) => currentStateEvent(hs, roomId, type, "")?.pdu.content ?? {};
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const chunk: PublicRoomChunk = {
    room_id: roomId,
    num_joined_members: hs.store.state.members(roomId).filter((m) => m.membership === "join").length,
    world_readable: content("m.room.history_visibility").history_visibility === "world_readable",
    guest_can_join: content("m.room.guest_access").guest_access === "can_join",
  };
  const optional: Partial<PublicRoomChunk> = {
    name: text(content("m.room.name").name),
    topic: text(content("m.room.topic").topic),
    avatar_url: text(content("m.room.avatar").url),
    canonical_alias: text(content("m.room.canonical_alias").alias),
    join_rule: text(content("m.room.join_rules").join_rule),
    room_type: text(content("m.room.create").type),
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (chunk as any)[key] = value;
  return chunk;
}

export interface PublicRoomsQuery {
  limit?: number;
  since?: string;
  genericSearchTerm?: string;
  roomTypes?: (string | null)[];
}

/**
 * GET/POST /publicRooms: published rooms, most joined members first, paged by
 * offset tokens ("p<offset>"), filtered by a search term over name, topic and alias.
 */
export function listPublicRooms(hs: Homeserver, query: PublicRoomsQuery) {
  let offset = 0;
  if (query.since !== undefined) {
    const match = /^p(\d{1,9})$/.exec(query.since);
    if (!match) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid since token");
    offset = Number(match[1]);
  }
  const term = query.genericSearchTerm?.toLowerCase();
  let chunks = hs.store.rooms.listPublished().map((room) => publicRoomChunk(hs, room.roomId));
  const total = chunks.length;
  if (term) {
    chunks = chunks.filter((chunk) =>
      [chunk.name, chunk.topic, chunk.canonical_alias, chunk.room_id].some((field) => field?.toLowerCase().includes(term)),
    );
  }
  if (query.roomTypes && query.roomTypes.length > 0) {
    chunks = chunks.filter((chunk) => query.roomTypes!.includes(chunk.room_type ?? null));
  }
  chunks.sort((a, b) => b.num_joined_members - a.num_joined_members || a.room_id.localeCompare(b.room_id));
  const limit = query.limit !== undefined && query.limit > 0 ? query.limit : chunks.length;
  const page = chunks.slice(offset, offset + limit);
  const response: { chunk: PublicRoomChunk[]; total_room_count_estimate: number; next_batch?: string; prev_batch?: string } = {
    chunk: page,
    total_room_count_estimate: total,
  };
  if (offset + limit < chunks.length) response.next_batch = `p${offset + limit}`;
  if (offset > 0) response.prev_batch = `p${Math.max(0, offset - limit)}`;
  return response;
}
