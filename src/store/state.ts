import { and, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import { currentState, events, stateHistory } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export interface StateEntry {
  type: string;
  stateKey: string;
  eventId: string;
}

/** Room state: current (a table) and at any stream position (state_history intervals). */
export function createStateStore(db: Db) {
  const closeInterval = lazy(() => db
    .update(stateHistory)
    .set({ toPos: sql.placeholder("pos") as unknown as number })
    .where(
      and(
        eq(stateHistory.roomId, sql.placeholder("roomId")),
        eq(stateHistory.type, sql.placeholder("type")),
        eq(stateHistory.stateKey, sql.placeholder("stateKey")),
        isNull(stateHistory.toPos),
      ),
    )
    .prepare());
  const openInterval = lazy(() => db
    .insert(stateHistory)
    .values({
      roomId: sql.placeholder("roomId"),
      type: sql.placeholder("type"),
      stateKey: sql.placeholder("stateKey"),
      eventId: sql.placeholder("eventId"),
      fromPos: sql.placeholder("pos"),
      toPos: null,
    })
    .prepare());
  const upsertCurrent = lazy(() => db
    .insert(currentState)
    .values({
      roomId: sql.placeholder("roomId"),
      type: sql.placeholder("type"),
      stateKey: sql.placeholder("stateKey"),
      eventId: sql.placeholder("eventId"),
      membership: sql.placeholder("membership"),
    })
    .onConflictDoUpdate({
      target: [currentState.roomId, currentState.type, currentState.stateKey],
      set: { eventId: sql`excluded.event_id`, membership: sql`excluded.membership` },
    })
    .prepare());
  const membersOf = lazy(() => db
    .select({ userId: currentState.stateKey, membership: currentState.membership, eventId: currentState.eventId })
    .from(currentState)
    .where(and(eq(currentState.roomId, sql.placeholder("roomId")), eq(currentState.type, "m.room.member")))
    .prepare());
  const roomsOfUser = lazy(() =>
    db
      .select({ roomId: currentState.roomId, membership: currentState.membership, eventId: currentState.eventId })
      .from(currentState)
      .where(and(eq(currentState.type, "m.room.member"), eq(currentState.stateKey, sql.placeholder("userId"))))
      .prepare(),
  );
  const memberChanges = lazy(() =>
    db
      .select({ userId: stateHistory.stateKey, eventId: stateHistory.eventId })
      .from(stateHistory)
      .where(
        and(
          eq(stateHistory.roomId, sql.placeholder("roomId")),
          gt(stateHistory.fromPos, sql.placeholder("from")),
          lte(stateHistory.fromPos, sql.placeholder("to")),
          eq(stateHistory.type, "m.room.member"),
        ),
      )
      .orderBy(stateHistory.fromPos)
      .prepare(),
  );
  const latestMemberStmt = lazy(() =>
    db
      .select({ pos: sql<number>`COALESCE(MAX(${stateHistory.fromPos}), 0)` })
      .from(stateHistory)
      .where(and(eq(stateHistory.roomId, sql.placeholder("roomId")), eq(stateHistory.type, "m.room.member")))
      .prepare(),
  );
  // The position of each room's latest member event, kept in step with `set`, so
  // that /sync can tell without a query that a room had no membership change.
  const latestMemberByRoom = new Map<string, number>();
  const latestStateStmt = lazy(() =>
    db
      .select({ pos: sql<number>`COALESCE(MAX(${stateHistory.fromPos}), 0)` })
      .from(stateHistory)
      .where(eq(stateHistory.roomId, sql.placeholder("roomId")))
      .prepare(),
  );
  // The same for any state event: most syncs follow messages only, and each
  // asked the room/position index for state changes that were not there.
  const latestStateByRoom = new Map<string, number>();
  // Joined members per room, kept in step with `set` (the one writer), so that
  // waking a room's members after each message costs no query.
  const joinedCache = new Map<string, Set<string>>();
  const JOINED_CACHE_ROOMS = 10_000;
  // Each user's current memberships, forgotten by `set` when one of them changes:
  // every sync reads them, and the list of a big account is its costly part.
  type UserMembership = { roomId: string; membership: string; eventId: string };
  const membershipsOfUser = new Map<string, UserMembership[]>();
  const MEMBERSHIP_CACHE_USERS = 20_000;
  // Current state entries as looked up (null: no such state), kept in step with
  // `set`: every append checks its auth rules against the create event, the
  // power levels and the sender's membership, and each was a query.
  const currentByKey = new Map<string, string | null>();
  const CURRENT_CACHE_ENTRIES = 100_000;
  const currentKey = (roomId: string, type: string, stateKey: string) => `${roomId}\u0000${type}\u0000${stateKey}`;
  const currentOne = lazy(() => db
    .select({ eventId: currentState.eventId })
    .from(currentState)
    .where(and(eq(currentState.roomId, sql.placeholder("roomId")), eq(currentState.type, sql.placeholder("type")), eq(currentState.stateKey, sql.placeholder("stateKey"))))
    .prepare());
  const atOne = lazy(() => db
    .select({ eventId: stateHistory.eventId })
    .from(stateHistory)
    .where(
      and(
        eq(stateHistory.roomId, sql.placeholder("roomId")),
        eq(stateHistory.type, sql.placeholder("type")),
        eq(stateHistory.stateKey, sql.placeholder("stateKey")),
        lte(stateHistory.fromPos, sql.placeholder("pos")),
        or(isNull(stateHistory.toPos), gt(stateHistory.toPos, sql.placeholder("pos"))),
      ),
    )
    .prepare());

  const createTypesStmt = lazy(() =>
    db
      .select({ roomId: currentState.roomId, type: sql<string | null>`json_extract(${events.pdu}, '$.content.type')` })
      .from(currentState)
      .innerJoin(events, eq(events.eventId, currentState.eventId))
      .where(
        and(
          eq(currentState.type, "m.room.create"),
          eq(currentState.stateKey, ""),
          sql`${currentState.roomId} IN (SELECT value FROM json_each(${sql.placeholder("ids")}))`,
        ),
      )
      .prepare(),
  );
  const currentOfTypeStmt = lazy(() =>
    db
      .select({ type: currentState.type, stateKey: currentState.stateKey, eventId: currentState.eventId })
      .from(currentState)
      .where(and(eq(currentState.roomId, sql.placeholder("roomId")), eq(currentState.type, sql.placeholder("type"))))
      .prepare(),
  );
  /** A room's latest position as `read` gives it, remembered in `byRoom` (which `set` keeps in step). */
  const rememberedPos = (byRoom: Map<string, number>, read: () => { get(params: { roomId: string }): unknown }, roomId: string): number => {
    let pos = byRoom.get(roomId);
    if (pos === undefined) {
      if (byRoom.size >= JOINED_CACHE_ROOMS) byRoom.clear();
      pos = (read().get({ roomId }) as { pos: number }).pos;
      byRoom.set(roomId, pos);
    }
    return pos;
  };
  /** The stream position of the room's latest state event (0 if none). */
  const latestStateChangePos = (roomId: string): number => rememberedPos(latestStateByRoom, latestStateStmt, roomId);
  // State entries in force at `to` that were set after `from`; with from = -1,
  // the whole state at `to`.
  const changedStmt = lazy(() =>
    db
      .select({ type: stateHistory.type, stateKey: stateHistory.stateKey, eventId: stateHistory.eventId })
      .from(stateHistory)
      .where(
        and(
          eq(stateHistory.roomId, sql.placeholder("roomId")),
          gt(stateHistory.fromPos, sql.placeholder("from")),
          lte(stateHistory.fromPos, sql.placeholder("to")),
          or(isNull(stateHistory.toPos), gt(stateHistory.toPos, sql.placeholder("to"))),
        ),
      )
      .prepare(),
  );

  return {
    currentEventId(roomId: string, type: string, stateKey: string): string | undefined {
      const key = currentKey(roomId, type, stateKey);
      let eventId = currentByKey.get(key);
      if (eventId === undefined) {
        if (currentByKey.size >= CURRENT_CACHE_ENTRIES) currentByKey.clear();
        eventId = (currentOne().get({ roomId, type, stateKey }) as { eventId: string } | undefined)?.eventId ?? null;
        currentByKey.set(key, eventId);
      }
      return eventId ?? undefined;
    },
    current(roomId: string): StateEntry[] {
      return db
        .select({ type: currentState.type, stateKey: currentState.stateKey, eventId: currentState.eventId })
        .from(currentState)
        .where(eq(currentState.roomId, roomId))
        .all();
    },
    /** The state event for (type, stateKey) in force after the event at `pos`. */
    eventIdAt(roomId: string, type: string, stateKey: string, pos: number): string | undefined {
      return (atOne().get({ roomId, type, stateKey, pos }) as { eventId: string } | undefined)?.eventId;
    },
    /** The `type` in the content of each room's m.room.create (null: none), for many rooms in one query. */
    createTypes(roomIds: readonly string[]): { roomId: string; type: string | null }[] {
      if (roomIds.length === 0) return [];
      return createTypesStmt().all({ ids: JSON.stringify(roomIds) }) as { roomId: string; type: string | null }[];
    },
    /** The current state entries of one type in a room (all its state keys). */
    currentOfType(roomId: string, type: string): StateEntry[] {
      return currentOfTypeStmt().all({ roomId, type }) as StateEntry[];
    },
    /** State entries in force at `to` that were set after `from` (what changed in between, by the room/position index). */
    changedBetween(roomId: string, from: number, to: number): StateEntry[] {
      if (from >= 0 && latestStateChangePos(roomId) <= from) return [];
      return changedStmt().all({ roomId, from, to }) as StateEntry[];
    },
    /** The whole state in force after the event at `pos`. */
    at(roomId: string, pos: number): StateEntry[] {
      return changedStmt().all({ roomId, from: -1, to: pos }) as StateEntry[];
    },
    /** Records that the event at `pos` sets (type, stateKey); closes the interval of the one it replaces. */
    set(roomId: string, entry: StateEntry, pos: number, membership: string | null): void {
      const keys = { roomId, type: entry.type, stateKey: entry.stateKey };
      closeInterval().run({ ...keys, pos });
      openInterval().run({ ...keys, eventId: entry.eventId, pos });
      upsertCurrent().run({ ...keys, eventId: entry.eventId, membership });
      const key = currentKey(roomId, entry.type, entry.stateKey);
      if (currentByKey.has(key)) currentByKey.set(key, entry.eventId);
      if (latestStateByRoom.has(roomId)) latestStateByRoom.set(roomId, pos);
      if (entry.type === "m.room.member") {
        if (latestMemberByRoom.has(roomId)) latestMemberByRoom.set(roomId, pos);
        membershipsOfUser.delete(entry.stateKey);
        const joined = joinedCache.get(roomId);
        if (joined && membership === "join") joined.add(entry.stateKey);
        else if (joined) joined.delete(entry.stateKey);
      }
    },
    /**
     * The users currently joined to a room. The set is shared and kept current:
     * read it, do not change it. (A transaction that rolls back drops the cache.)
     */
    joinedMembers(roomId: string): ReadonlySet<string> {
      let joined = joinedCache.get(roomId);
      if (!joined) {
        if (joinedCache.size >= JOINED_CACHE_ROOMS) joinedCache.clear();
        const rows = membersOf().all({ roomId }) as { userId: string; membership: string | null }[];
        joined = new Set(rows.filter((row) => row.membership === "join").map((row) => row.userId));
        joinedCache.set(roomId, joined);
      }
      return joined;
    },
    /** Forgets cached membership (after a rolled-back transaction). */
    dropCaches(): void {
      joinedCache.clear();
      latestMemberByRoom.clear();
      latestStateByRoom.clear();
      membershipsOfUser.clear();
      currentByKey.clear();
    },
    /** Rooms where the user's current membership is one of `memberships`. */
    roomsWithMembership(userId: string, memberships: string[]): UserMembership[] {
      let all = membershipsOfUser.get(userId);
      if (!all) {
        if (membershipsOfUser.size >= MEMBERSHIP_CACHE_USERS) membershipsOfUser.clear();
        all = (roomsOfUser().all({ userId }) as { roomId: string; membership: string | null; eventId: string }[]).filter(
          (row): row is UserMembership => row.membership !== null,
        );
        membershipsOfUser.set(userId, all);
      }
      return all.filter((row) => memberships.includes(row.membership));
    },
    /** The stream position of the room's latest member event (0 if none). */
    latestMemberChangePos(roomId: string): number {
      return rememberedPos(latestMemberByRoom, latestMemberStmt, roomId);
    },
    /** The member events that took effect in a room in (from, to], oldest first. */
    memberChangesBetween(roomId: string, from: number, to: number): { userId: string; eventId: string }[] {
      return memberChanges().all({ roomId, from, to }) as { userId: string; eventId: string }[];
    },
    /** Current members of a room and their membership. */
    members(roomId: string): { userId: string; membership: string; eventId: string }[] {
      return membersOf().all({ roomId }) as { userId: string; membership: string; eventId: string }[];
    },
  };
}

export type StateStore = ReturnType<typeof createStateStore>;
