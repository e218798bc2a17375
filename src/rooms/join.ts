// Resolving what a client asks to join (spec: "Joining rooms"): a room id or an alias.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { isRoomAlias, isRoomId } from "./ids";
import { changeMembership } from "./membership";

export function resolveRoomIdOrAlias(hs: Homeserver, roomIdOrAlias: string): string {
  if (isRoomId(roomIdOrAlias)) return roomIdOrAlias;
  if (isRoomAlias(roomIdOrAlias)) {
    const target = hs.store.rooms.aliasTarget(roomIdOrAlias);
    if (!target) throw notFound(`Room alias ${roomIdOrAlias} not found`);
    return target.roomId;
  }
  throw new MatrixError(400, "M_INVALID_PARAM", `${roomIdOrAlias} is neither a room id nor a room alias`);
}

/** Joins (or knocks on) a room on this server; remote rooms need federation, which is not available. */
export function joinRoom(hs: Homeserver, userId: string, roomIdOrAlias: string, membership: "join" | "knock", reason?: string): { room_id: string } {
  const roomId = resolveRoomIdOrAlias(hs, roomIdOrAlias);
  if (!hs.store.rooms.get(roomId)) throw notFound("No known servers for this room");
  changeMembership(hs, { roomId, sender: userId, target: userId, membership, reason });
  return { room_id: roomId };
}
