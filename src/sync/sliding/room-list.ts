// The server-side room list of a user (MSC4186 "Lists"): the rooms the user is
// joined to, invited to or knocked on, plus rooms they were kicked or banned from
// (and, once a connection has seen a room, rooms they left), ordered by recent
// activity; a list is that sequence filtered and cut to its ranges.
import type { Homeserver } from "../../homeserver";
import { loadEvent } from "../../rooms/room-state";
import { perInstance } from "../../util/per-instance";
import { bumpStamp, primeBumpStamps } from "./bump-stamp";
import type { RoomSent } from "./connection";
import type { ListFilters } from "./request";

export interface RoomEntry {
  roomId: string;
  membership: string;
  memberEventId: string;
  /** Ordering key: bump_stamp for joined rooms; the membership's position for others ("when the relevant membership happened"). */
  stamp: number;
}

/** The user's rooms as the list sees them, most recent first. */
export function userRoomList(hs: Homeserver, userId: string, sent: ReadonlyMap<string, RoomSent>): RoomEntry[] {
  const rooms: RoomEntry[] = [];
  const memberships = hs.store.state.roomsWithMembership(userId, ["join", "invite", "knock", "leave", "ban"]);
  primeBumpStamps(hs, memberships.filter((m) => m.membership === "join").map((m) => m.roomId));
  // Rooms the user left and then forgot are gone for good (spec: "forget"), as in /sync.
  const departed = memberships.filter((m) => m.membership === "leave" || m.membership === "ban").map((m) => m.roomId);
  const forgotten = departed.length > 0 ? hs.store.rooms.forgottenAmong(userId, departed) : new Set<string>();
  for (const { roomId, membership, eventId } of memberships) {
    if (forgotten.has(roomId)) continue;
    if (membership === "join") {
      rooms.push({ roomId, membership, memberEventId: eventId, stamp: bumpStamp(hs, roomId) });
      continue;
    }
    const event = loadEvent(hs, eventId);
    if (!event) continue;
    if (membership === "leave" || membership === "ban") {
      // The user left on their own (or rejected an invite): they know, so only a
      // connection that has the room gets to see it go. Kicked or banned: always,
      // unless they were never in the room ("banned ... but never joined").
      const byOther = event.pdu.sender !== userId;
      const before = event.row.replacesState ? loadEvent(hs, event.row.replacesState)?.pdu.content.membership : undefined;
      const wasIn = before === "join" || before === "invite" || before === "knock";
      if (!sent.has(roomId) && !(byOther && wasIn)) continue;
    }
    rooms.push({ roomId, membership, memberEventId: eventId, stamp: event.row.streamPos });
  }
  return rooms.sort((a, b) => b.stamp - a.stamp || (a.roomId < b.roomId ? -1 : 1));
}

const roomTypes = perInstance<string, string | null>();
const encryptedRooms = perInstance<string, true>();
const MAX_REMEMBERED = 100_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}

/**
 * The rooms of a user's m.direct, parsed once per change: the user's latest
 * account-data position (kept in memory by the store) tells when to read again.
 */
const directByUser = perInstance<string, { pos: number; rooms: Set<string> }>();

function directRooms(hs: Homeserver, userId: string): Set<string> {
  const pos = hs.store.accountData.latestPos(userId);
  const cache = directByUser(hs);
  const known = cache.get(userId);
  if (known && known.pos === pos) return known.rooms;
  const rooms = new Set<string>();
  const row = hs.store.accountData.get(userId, "", "m.direct");
  const content = row ? (JSON.parse(row.content) as Record<string, unknown>) : {};
  for (const ids of Object.values(content)) if (Array.isArray(ids)) for (const id of ids) if (typeof id === "string") rooms.add(id);
  remember(cache, userId, { pos, rooms });
  return rooms;
}

/** Answers the filters' questions about rooms, reading each piece of data at most once per request. */
export class RoomFacts {
  private dmRooms?: Set<string>;
  private readonly spaceChildren = new Map<string, Set<string>>();

  constructor(
    private readonly hs: Homeserver,
    private readonly userId: string,
  ) {}

  /** Rooms named in the user's m.direct account data (spec: "Direct Messaging"). */
  isDm(roomId: string): boolean {
    this.dmRooms ??= directRooms(this.hs, this.userId);
    return this.dmRooms.has(roomId);
  }

  /** Encryption cannot be turned off again (spec: "m.room.encryption"), so a yes is remembered. */
  isEncrypted(roomId: string): boolean {
    const known = encryptedRooms(this.hs);
    if (known.has(roomId)) return true;
    const encrypted = this.hs.store.state.currentEventId(roomId, "m.room.encryption", "") !== undefined;
    if (encrypted) remember(known, roomId, true);
    return encrypted;
  }

  /** The `type` of the room's m.room.create content (null: an ordinary room); the create event never changes. */
  roomType(roomId: string): string | null {
    const known = roomTypes(this.hs);
    const cached = known.get(roomId);
    if (cached !== undefined) return cached;
    const id = this.hs.store.state.currentEventId(roomId, "m.room.create", "");
    if (!id) return null;
    const type = loadEvent(this.hs, id)?.pdu.content.type;
    const result = typeof type === "string" ? type : null;
    remember(known, roomId, result);
    return result;
  }

  /** Reads the room types of many rooms at once (a list's first sight of a big account), before the filters ask one by one. */
  primeRoomTypes(roomIds: readonly string[]): void {
    const known = roomTypes(this.hs);
    const missing = roomIds.filter((roomId) => !known.has(roomId));
    if (missing.length < 16) return;
    for (const row of this.hs.store.state.createTypes(missing)) remember(known, row.roomId, typeof row.type === "string" ? row.type : null);
  }

  tags(roomId: string): string[] {
    const row = this.hs.store.accountData.get(this.userId, roomId, "m.tag");
    const tags = row ? (JSON.parse(row.content) as { tags?: unknown }).tags : undefined;
    return typeof tags === "object" && tags !== null ? Object.keys(tags) : [];
  }

  /** Children of a space the user is joined to, by its m.space.child events with a `via` (spec: "Spaces"); none otherwise. */
  childrenOf(spaceId: string): Set<string> {
    let children = this.spaceChildren.get(spaceId);
    if (children) return children;
    children = new Set();
    if (this.hs.store.state.joinedMembers(spaceId).has(this.userId)) {
      for (const entry of this.hs.store.state.current(spaceId)) {
        if (entry.type !== "m.space.child") continue;
        const via = loadEvent(this.hs, entry.eventId)?.pdu.content.via;
        if (Array.isArray(via) && via.length > 0) children.add(entry.stateKey);
      }
    }
    this.spaceChildren.set(spaceId, children);
    return children;
  }
}

/** Whether a room passes a list's filters (MSC4186 `SlidingRoomFilter`; unset filters pass everything). */
export function passesFilters(room: RoomEntry, filters: ListFilters, facts: RoomFacts): boolean {
  if (filters.isInvite !== undefined && (room.membership === "invite") !== filters.isInvite) return false;
  if (filters.isDm !== undefined && facts.isDm(room.roomId) !== filters.isDm) return false;
  if (filters.isEncrypted !== undefined && facts.isEncrypted(room.roomId) !== filters.isEncrypted) return false;
  if (filters.roomTypes !== undefined || filters.notRoomTypes !== undefined) {
    const type = facts.roomType(room.roomId);
    // "If a type is in both room_types and not_room_types, then not_room_types wins."
    if (filters.notRoomTypes?.includes(type)) return false;
    if (filters.roomTypes !== undefined && !filters.roomTypes.includes(type)) return false;
  }
  if (filters.spaces !== undefined && !filters.spaces.some((space) => facts.childrenOf(space).has(room.roomId))) return false;
  if (filters.tags !== undefined || filters.notTags !== undefined) {
    const tags = facts.tags(room.roomId);
    // "not_tags takes priority over tags."
    if (filters.notTags?.some((tag) => tags.includes(tag))) return false;
    if (filters.tags !== undefined && !filters.tags.some((tag) => tags.includes(tag))) return false;
  }
  return true;
}

/** The rooms of a filtered list inside its ranges (inclusive; no ranges: all). */
export function roomsInRanges(rooms: RoomEntry[], ranges: [number, number][] | null): RoomEntry[] {
  if (ranges === null) return rooms;
  const picked = new Set<number>();
  for (const [start, end] of ranges) for (let i = start; i <= Math.min(end, rooms.length - 1); i++) picked.add(i);
  return [...picked].sort((a, b) => a - b).map((i) => rooms[i]!);
}
