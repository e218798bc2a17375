import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { forgottenRooms, roomAliases, rooms } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type RoomRow = typeof rooms.$inferSelect;

export function createRoomsStore(db: Db) {
  const byId = lazy(() => db.select().from(rooms).where(eq(rooms.roomId, sql.placeholder("roomId"))).prepare());
  const updateLastEvent = lazy(() => db
    .update(rooms)
    .set({ lastEventId: sql.placeholder("eventId") as unknown as string, lastDepth: sql.placeholder("depth") as unknown as number })
    .where(eq(rooms.roomId, sql.placeholder("roomId")))
    .prepare());
  return {
    get(roomId: string): RoomRow | undefined {
      return byId().get({ roomId }) as RoomRow | undefined;
    },
    insert(room: { roomId: string; roomVersion: string; creator: string; createdTs: number }): void {
      db.insert(rooms).values(room).run();
    },
    setLastEvent(roomId: string, eventId: string, depth: number): void {
      updateLastEvent().run({ roomId, eventId, depth });
    },
    setPublished(roomId: string, published: boolean): void {
      db.update(rooms).set({ published }).where(eq(rooms.roomId, roomId)).run();
    },
    listPublished(): RoomRow[] {
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
