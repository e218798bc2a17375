// Membership changes (spec: Client-Server API, "Room membership"): every change is
// an m.room.member event through appendEvent; the auth rules decide who may.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { appendEvent } from "./append";
import { currentMembership, type StoredEvent } from "./room-state";

export type Membership = "join" | "invite" | "leave" | "ban" | "knock";

export interface MembershipChange {
  roomId: string;
  sender: string;
  target: string;
  membership: Membership;
  reason?: string;
  /** Extra content (e.g. is_direct on invites). */
  extra?: Record<string, unknown>;
}

/** Sends the m.room.member event; a joining user's event carries their profile (spec: "m.room.member"). */
export function changeMembership(hs: Homeserver, change: MembershipChange): StoredEvent {
  if (!hs.store.rooms.get(change.roomId)) throw notFound("Unknown room");
  const content: Record<string, unknown> = { ...change.extra, membership: change.membership };
  if (change.membership === "join" || change.membership === "invite" || change.membership === "knock") {
    const profile = hs.store.users.get(change.target);
    if (profile?.displayName) content.displayname = profile.displayName;
    if (profile?.avatarUrl) content.avatar_url = profile.avatarUrl;
  }
  if (change.reason !== undefined) content.reason = change.reason;
  const event = appendEvent(hs, {
    roomId: change.roomId,
    sender: change.sender,
    type: "m.room.member",
    stateKey: change.target,
    content,
  });
  // Joining a room again makes it visible again after a /forget.
  if (change.membership === "join" || change.membership === "invite") hs.store.rooms.unforget(change.target, change.roomId);
  // Whoever is no longer in the room stops typing there (spec: typing lists only members).
  if (change.membership !== "join") hs.typing.set(change.roomId, change.target, false);
  return event;
}

/** Invites need a target that exists (local users only until federation). */
export function invite(hs: Homeserver, roomId: string, sender: string, target: string, options: { reason?: string; isDirect?: boolean } = {}): StoredEvent {
  const user = hs.store.users.get(target);
  if (!user || user.deactivated) throw notFound(`Unknown user ${target}`);
  return changeMembership(hs, {
    roomId,
    sender,
    target,
    membership: "invite",
    reason: options.reason,
    extra: options.isDirect ? { is_direct: true } : undefined,
  });
}

/** POST /forget: only rooms the user has left (spec: "Leaving rooms"). */
export function forgetRoom(hs: Homeserver, roomId: string, userId: string): void {
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  const membership = currentMembership(hs, roomId, userId);
  if (membership === "join" || membership === "invite" || membership === "knock") {
    throw new MatrixError(400, "M_UNKNOWN", "The user has not left the room");
  }
  hs.store.rooms.forget(userId, roomId);
}

/** POST /kick: the target must be in the room (joined, invited or knocking), as Synapse requires. */
export function kick(hs: Homeserver, roomId: string, sender: string, target: string, reason?: string): StoredEvent {
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  const membership = currentMembership(hs, roomId, target);
  if (membership !== "join" && membership !== "invite" && membership !== "knock") {
    throw new MatrixError(403, "M_FORBIDDEN", "The target user is not in the room");
  }
  return changeMembership(hs, { roomId, sender, target, membership: "leave", reason });
}

/**
 * POST /unban: only a banned user can be unbanned (otherwise it would be a kick);
 * anything else is M_BAD_STATE, the spec's example for that code ("Other error
 * codes": "attempting to unban a user who is not banned").
 */
export function unban(hs: Homeserver, roomId: string, sender: string, target: string, reason?: string): StoredEvent {
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  if (currentMembership(hs, roomId, target) !== "ban") throw new MatrixError(403, "M_BAD_STATE", "The target user is not banned");
  return changeMembership(hs, { roomId, sender, target, membership: "leave", reason });
}
