// The e2ee extension's device_lists (MSC3884, as /sync's "Tracking the device
// list for a user"): since the connection's last position, the users sharing a
// room whose devices changed or who newly share a room (`changed`), and those
// who no longer share any room (`left`).
import type { Homeserver } from "../../homeserver";
import { loadEvent, usersSharingARoom } from "../../rooms/room-state";
import { userMemberships } from "./room-list";

export function deviceListChanges(hs: Homeserver, userId: string, since: number | null, now: number): { changed: string[]; left: string[] } {
  // A new connection gets none: the client queries everyone's keys anyway.
  if (since === null) return { changed: [], left: [] };
  const changedKeys = hs.store.keys.changedUsers(since, now);
  // Membership changes in the user's rooms since then (their own leaves included).
  const joinedOthers = new Set<string>();
  const departed = new Set<string>();
  for (const { roomId, membership } of userMemberships(hs, userId)) {
    if (membership !== "join" && membership !== "leave" && membership !== "ban") continue;
    if (hs.store.events.latestPos(roomId) <= since) continue;
    for (const change of hs.store.state.changedBetween(roomId, since, now)) {
      if (change.type !== "m.room.member") continue;
      // changedBetween gives the entries in force now: this is the member's current event.
      const membership = loadEvent(hs, change.eventId)?.pdu.content.membership;
      if (change.stateKey === userId) {
        // The user left: everyone of that room may be gone for them.
        if (membership !== "join") for (const member of hs.store.state.joinedMembers(roomId)) departed.add(member);
        continue;
      }
      if (membership === "join") joinedOthers.add(change.stateKey);
      else departed.add(change.stateKey);
    }
  }
  if (changedKeys.length === 0 && joinedOthers.size === 0 && departed.size === 0) return { changed: [], left: [] };
  const sharing = usersSharingARoom(hs, userId);
  const changed = new Set([...changedKeys, ...joinedOthers].filter((other) => other !== userId && sharing.has(other)));
  const left = [...departed].filter((other) => other !== userId && !sharing.has(other));
  return { changed: [...changed], left };
}
