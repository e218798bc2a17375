import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { forgottenRooms, roomAliases, rooms } from "../../schema";
import type { Database } from "bun:sqlite";
import type { Db } from "./db";
import { lazy } from "./lazy";

/**
 * A room's row with its forward extremity: the event with the highest stream
 * position (the next event's only prev_event, see schema/rooms.ts) and its depth.
 */
export type RoomRow = typeof rooms.$inferSelect & { lastEventId: string | null; lastDepth: number };

export function createRoomsStore(db: Db, sqlite: Database) {
  const byId = lazy(() => db.select().from(rooms).where(eq(rooms.roomId, sql.placeholder("roomId"))).prepare());
  // The extremity is read from the events, not stored apart: an append then
  // writes no room row (one statement and one WAL page fewer per message).
  // Reads the newest entry of the (room_id, stream_pos, ...) index.
  const latestEvent = lazy(() =>
    sqlite.query(`SELECT event_id AS eventId, json_extract(pdu, '$.depth') AS depth FROM events WHERE room_id = ?1 ORDER BY stream_pos DESC LIMIT 1`),
  );
  // Room rows as read, kept in step with the appends (every append reads the
  // room's version and forward extremity, then moves the extremity here).
  const rowById = new Map<string, RoomRow>();
  const CACHED_ROOMS = 10_000;
  return {
    get(roomId: string): RoomRow | undefined {
      let row = rowById.get(roomId);
      if (!row) {
        const stored = byId().get({ roomId }) as typeof rooms.$inferSelect | undefined;
        if (!stored) return undefined;
        const latest = latestEvent().get(roomId) as { eventId: string; depth: number } | null;
        row = { ...stored, lastEventId: latest?.eventId ?? null, lastDepth: latest?.depth ?? 0 };
        if (rowById.size >= CACHED_ROOMS) rowById.clear();
        rowById.set(roomId, row);
      }
      return row;
    },
    insert(room: { roomId: string; roomVersion: string; creator: string; createdTs: number }): void {
      db.insert(rooms).values(room).run();
    },
    /** After an append: the event is the new extremity (a row not cached is read afresh from the events). */
    setLastEvent(roomId: string, eventId: string, depth: number): void {
      const row = rowById.get(roomId);
      if (row) rowById.set(roomId, { ...row, lastEventId: eventId, lastDepth: depth });
    },
    setPublished(roomId: string, published: boolean): void {
      db.update(rooms).set({ published }).where(eq(rooms.roomId, roomId)).run();
      rowById.delete(roomId);
    },
    /** Forgets cached rows (after a rolled-back transaction). */
    dropCaches(): void {
      rowById.clear();
    },
    listPublished(): (typeof rooms.$inferSelect)[] {
      return db.select().from(rooms).where(eq(rooms.published, true)).orderBy(asc(rooms.roomId)).all();
    },

    aliasTarget(alias: string): { roomId: string; creator: string } | undefined {
      return db.select({ roomId: roomAliases.roomId, creator: roomAliases.creator }).from(roomAliases).where(eq(roomAliases.alias, alias)).get();
    },
    aliasesOf(roomId: string): string[] {
      return db.select({ alias: roomAliases.alias }).from(roomAliases).where(eq(roomAliases.roomId, roomId)).orderBy(asc(roomAliases.alias)).all().map((r) => r.alias);
    },
    insertAlias(alias: string, roomId: string, creator: string): void {
      db.insert(roomAliases).values({ alias, roomId, creator }).run();
    },
    deleteAlias(alias: string): void {
      db.delete(roomAliases).where(eq(roomAliases.alias, alias)).run();
    },

    forget(userId: string, roomId: string): void {
      db.insert(forgottenRooms).values({ userId, roomId }).onConflictDoNothing().run();
    },
    unforget(userId: string, roomId: string): void {
      db.delete(forgottenRooms).where(and(eq(forgottenRooms.userId, userId), eq(forgottenRooms.roomId, roomId))).run();
    },
    forgottenAmong(userId: string, roomIds: string[]): Set<string> {
      if (roomIds.length === 0) return new Set();
      const rows = db.select({ roomId: forgottenRooms.roomId }).from(forgottenRooms).where(and(eq(forgottenRooms.userId, userId), inArray(forgottenRooms.roomId, roomIds))).all();
      return new Set(rows.map((r) => r.roomId));
    },
  };
}

export type RoomsStore = ReturnType<typeof createRoomsStore>;
