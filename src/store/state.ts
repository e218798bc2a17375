import { and, eq, gt, isNull, lte, or, sql } from "drizzle-orm";
import { currentState, stateHistory } from "../../schema";
import type { Db } from "./db";

export interface StateEntry {
  type: string;
  stateKey: string;
  eventId: string;
}

/** Room state: current (a table) and at any stream position (state_history intervals). */
export function createStateStore(db: Db) {
  const currentOne = db
    .select({ eventId: currentState.eventId })
    .from(currentState)
    .where(and(eq(currentState.roomId, sql.placeholder("roomId")), eq(currentState.type, sql.placeholder("type")), eq(currentState.stateKey, sql.placeholder("stateKey"))))
    .prepare();
  const atOne = db
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
    .prepare();

  return {
    currentEventId(roomId: string, type: string, stateKey: string): string | undefined {
      return (currentOne.get({ roomId, type, stateKey }) as { eventId: string } | undefined)?.eventId;
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
      return (atOne.get({ roomId, type, stateKey, pos }) as { eventId: string } | undefined)?.eventId;
    },
    /** The whole state in force after the event at `pos`. */
    at(roomId: string, pos: number): StateEntry[] {
      return db
        .select({ type: stateHistory.type, stateKey: stateHistory.stateKey, eventId: stateHistory.eventId })
        .from(stateHistory)
        .where(and(eq(stateHistory.roomId, roomId), lte(stateHistory.fromPos, pos), or(isNull(stateHistory.toPos), gt(stateHistory.toPos, pos))))
        .all();
    },
    /** Records that the event at `pos` sets (type, stateKey); closes the interval of the one it replaces. */
    set(roomId: string, entry: StateEntry, pos: number, membership: string | null): void {
      db.update(stateHistory)
        .set({ toPos: pos })
        .where(and(eq(stateHistory.roomId, roomId), eq(stateHistory.type, entry.type), eq(stateHistory.stateKey, entry.stateKey), isNull(stateHistory.toPos)))
        .run();
      db.insert(stateHistory).values({ roomId, ...entry, fromPos: pos, toPos: null }).run();
      db.insert(currentState)
        .values({ roomId, ...entry, membership })
        .onConflictDoUpdate({ target: [currentState.roomId, currentState.type, currentState.stateKey], set: { eventId: entry.eventId, membership } })
        .run();
    },
    /** Rooms where the user's current membership is one of `memberships`. */
    roomsWithMembership(userId: string, memberships: string[]): { roomId: string; membership: string }[] {
      return db
        .select({ roomId: currentState.roomId, membership: currentState.membership })
        .from(currentState)
        .where(and(eq(currentState.type, "m.room.member"), eq(currentState.stateKey, userId)))
        .all()
        .filter((row): row is { roomId: string; membership: string } => row.membership !== null && memberships.includes(row.membership));
    },
    /** Current members of a room and their membership. */
    members(roomId: string): { userId: string; membership: string; eventId: string }[] {
      return db
        .select({ userId: currentState.stateKey, membership: currentState.membership, eventId: currentState.eventId })
        .from(currentState)
        .where(and(eq(currentState.roomId, roomId), eq(currentState.type, "m.room.member")))
        .all() as { userId: string; membership: string; eventId: string }[];
    },
  };
}

export type StateStore = ReturnType<typeof createStateStore>;
