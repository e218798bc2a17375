// Resolving what a client asks to join (spec: "Joining rooms"): a room id or an alias.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { allowedRoomIds } from "./hierarchy";
import { isRoomAlias, isRoomId, serverNameOf } from "./ids";
import { changeMembership } from "./membership";
import { currentMembership, currentPowerLevels, currentStateEvent } from "./room-state";

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
  const extra = membership === "join" ? restrictedJoinAuthorisation(hs, roomId, userId) : undefined;
  changeMembership(hs, { roomId, sender: userId, target: userId, membership, reason, extra });
  return { room_id: roomId };
}

/**
 * A join to a restricted room by a user who is neither joined nor invited must
 * name, in `join_authorised_via_users_server`, a member of the room on the
 * resident server who may invite (auth rule 4.3.5.2); the resident server fills
 * it in once it has checked the allow conditions, that the user is joined to
 * one of the rooms the join rules list (spec: "Restricted rooms"). This server
 * is the resident server of every room it has. When the conditions do not
 * hold, nothing is added and the auth rules refuse the join (403). Of the
 * members able to invite, the one with the highest power level is named.
 */
function restrictedJoinAuthorisation(hs: Homeserver, roomId: string, userId: string): Record<string, unknown> | undefined {
  const joinRules = currentStateEvent(hs, roomId, "m.room.join_rules", "")?.pdu.content ?? {};
  if (joinRules.join_rule !== "restricted" && joinRules.join_rule !== "knock_restricted") return undefined;
  const membership = currentMembership(hs, roomId, userId);
  if (membership === "join" || membership === "invite") return undefined;
  if (!allowedRoomIds(joinRules).some((allowed) => currentMembership(hs, allowed, userId) === "join")) return undefined;
  const powerLevels = currentPowerLevels(hs, roomId);
  const authoriser = [...hs.store.state.joinedMembers(roomId)]
    .filter((member) => serverNameOf(member) === hs.config.server_name && powerLevels.userLevel(member) >= powerLevels.invite)
    .sort((a, b) => powerLevels.userLevel(b) - powerLevels.userLevel(a) || (a < b ? -1 : a > b ? 1 : 0))[0];
  return authoriser ? { join_authorised_via_users_server: authoriser } : undefined;
}
