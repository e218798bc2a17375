// Profiles (spec: Client-Server API, "Profiles"): a user's global display name and
// avatar, copied into a new m.room.member event in every joined room on change
// (through appendEvent), except rooms where the user set a per-room name.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden, notFound } from "../http/errors";
import { appendEvent } from "../rooms/append";
import { currentStateEvent } from "../rooms/room-state";

export type ProfileField = "displayname" | "avatar_url";

const MAX_DISPLAYNAME_LENGTH = 256;
const MAX_AVATAR_URL_LENGTH = 1000;

export function getProfile(hs: Homeserver, userId: string): { displayname?: string; avatar_url?: string } {
  const user = hs.store.users.get(userId);
  if (!user) throw notFound("Profile was not found");
  const profile: { displayname?: string; avatar_url?: string } = {};
  if (user.displayName) profile.displayname = user.displayName;
  if (user.avatarUrl) profile.avatar_url = user.avatarUrl;
  return profile;
}

export function setProfileField(hs: Homeserver, requesterId: string, userId: string, field: ProfileField, value: string | null): void {
  if (requesterId !== userId) throw forbidden("You cannot change another user's profile");
  const user = hs.store.users.get(userId);
  if (!user) throw notFound("Profile was not found");
  const limit = field === "displayname" ? MAX_DISPLAYNAME_LENGTH : MAX_AVATAR_URL_LENGTH;
  if (value !== null && value.length > limit) throw new MatrixError(400, "M_TOO_LARGE", `${field} is longer than ${limit} characters`);
  if (field === "avatar_url" && value !== null && value !== "" && !value.startsWith("mxc://")) {
    throw new MatrixError(400, "M_INVALID_PARAM", "avatar_url must be an mxc:// URI");
  }
  const normalised = value === "" ? null : value;
  const previous = field === "displayname" ? user.displayName : user.avatarUrl;
  // Setting the value it already has changes nothing, so no room hears of it
  // (clients re-send their profile on start; each would be a member event).
  if (normalised === previous) return;
  if (field === "displayname") hs.store.users.setDisplayName(userId, normalised);
  else hs.store.users.setAvatarUrl(userId, normalised);
  propagate(hs, userId, field, previous, normalised);
}

/** New member events in each joined room whose member event still shows the old global value. */
function propagate(hs: Homeserver, userId: string, field: ProfileField, previous: string | null, next: string | null): void {
  for (const { roomId } of hs.store.state.roomsWithMembership(userId, ["join"])) {
    const member = currentStateEvent(hs, roomId, "m.room.member", userId);
    if (!member) continue;
    const current = member.pdu.content[field] as string | undefined;
    if ((current ?? null) !== previous) continue; // a per-room value: leave it alone
    const { reason: _reason, ...content } = member.pdu.content;
    if (next === null) delete content[field];
    else content[field] = next;
    try {
      appendEvent(hs, { roomId, sender: userId, type: "m.room.member", stateKey: userId, content });
    } catch (error) {
      // One room refusing the change (e.g. its power levels) must not undo the others.
      hs.log.warn(`profile change not propagated to ${roomId}: ${(error as Error).message}`);
    }
  }
}
