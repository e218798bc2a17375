// A room's name, avatar and heroes as sliding sync sends them (MSC4186
// "Currently or previously joined rooms"), the name computed as the spec's
// "Calculating the display name for a room" says: m.room.name, else
// m.room.canonical_alias, else from the heroes, else "Empty Room".
import type { Homeserver } from "../../homeserver";
import { currentStateEvent } from "../../rooms/room-state";
import { roomSummary } from "../rooms";

export interface StrippedHero {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
}

export interface RoomIdentity {
  name: string;
  /** m.room.avatar's url; null when the avatar was removed, undefined when never set. */
  avatar: string | null | undefined;
  /** Only when the room has no m.room.name ("Heroes are only included if the room name is not set"). */
  heroes: StrippedHero[] | undefined;
  joinedCount: number;
  invitedCount: number;
}

/** The hero as their member event shows them. */
function strippedHero(hs: Homeserver, roomId: string, userId: string): StrippedHero {
  const content = currentStateEvent(hs, roomId, "m.room.member", userId)?.pdu.content ?? {};
  const hero: StrippedHero = { user_id: userId };
  if (typeof content.displayname === "string" && content.displayname !== "") hero.displayname = content.displayname;
  if (typeof content.avatar_url === "string" && content.avatar_url !== "") hero.avatar_url = content.avatar_url;
  return hero;
}

/** "Alice", "Alice and Bob", "Alice, Bob and Carol", "Alice, Bob and 3 others" (spec: room display name, step 3). */
function nameFromHeroes(heroes: StrippedHero[], others: number): string {
  const names = heroes.map((hero) => hero.displayname ?? hero.user_id);
  if (others > names.length) return `${names.join(", ")} and ${others - names.length} others`;
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

export function roomIdentity(hs: Homeserver, roomId: string, userId: string): RoomIdentity {
  const summary = roomSummary(hs, roomId, userId);
  const joinedCount = summary["m.joined_member_count"];
  const invitedCount = summary["m.invited_member_count"];
  const explicit = currentStateEvent(hs, roomId, "m.room.name", "")?.pdu.content.name;
  const avatarEvent = currentStateEvent(hs, roomId, "m.room.avatar", "");
  const avatarUrl = avatarEvent?.pdu.content.url;
  const avatar = avatarEvent ? (typeof avatarUrl === "string" && avatarUrl !== "" ? avatarUrl : null) : undefined;
  if (typeof explicit === "string" && explicit !== "") return { name: explicit, avatar, heroes: undefined, joinedCount, invitedCount };

  const heroes = summary["m.heroes"].map((hero) => strippedHero(hs, roomId, hero));
  const alias = currentStateEvent(hs, roomId, "m.room.canonical_alias", "")?.pdu.content.alias;
  let name: string;
  if (typeof alias === "string" && alias !== "") name = alias;
  else {
    const others = joinedCount + invitedCount - 1;
    if (others >= 1 && heroes.length > 0) name = nameFromHeroes(heroes, others);
    // Alone in the room: "Empty Room", naming who was there if anyone.
    else name = heroes.length > 0 ? `Empty Room (was ${nameFromHeroes(heroes, heroes.length)})` : "Empty Room";
  }
  return { name, avatar, heroes, joinedCount, invitedCount };
}
