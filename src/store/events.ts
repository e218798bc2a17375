import { and, asc, desc, eq, gt, gte, lt, lte, sql } from "drizzle-orm";
import { events } from "../../schema";
import type { Database } from "bun:sqlite";
import type { Db } from "./db";
import { byLimitBucket, lazy, literalLimit } from "./lazy";

export type EventRow = typeof events.$inferSelect;

export function createEventsStore(db: Db, sqlite: Database) {
  const byId = lazy(() => db.select().from(events).where(eq(events.eventId, sql.placeholder("eventId"))).prepare());
  // The send's own statement, on SQLite directly: drizzle's placeholder
  // filling showed in profiles of the send path at about a third of their cost.
  const insertRow = lazy(() => sqlite.query(
    `INSERT INTO events (stream_pos, event_id, room_id, type, state_key, sender, origin_server_ts, pdu,
       replaces_state, redacted_by, txn_device_id, txn_id, contains_url)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
  ));
  // The latest stream position of each room, kept in step with insert(), so that
  // an incremental sync can skip rooms without news without a query.
  const latestByRoom = new Map<string, number>();
  const latestStmt = lazy(() => db
    .select({ pos: sql<number>`COALESCE(MAX(${events.streamPos}), 0)` })
    .from(events)
    .where(eq(events.roomId, sql.placeholder("roomId")))
    .prepare());

  // Variable-length id lists go in as one JSON array, so the statement can be prepared once.
  const manyById = lazy(() =>
    db
      .select()
      .from(events)
      .where(sql`${events.eventId} IN (SELECT value FROM json_each(${sql.placeholder("ids")}))`)
      .prepare(),
  );
  const pageForwards = byLimitBucket((bucket) =>
    db
      .select()
      .from(events)
      .where(and(eq(events.roomId, sql.placeholder("roomId")), gt(events.streamPos, sql.placeholder("fromPos")), lte(events.streamPos, sql.placeholder("toPos"))))
      .orderBy(asc(events.streamPos))
      .limit(literalLimit(bucket))
      .prepare(),
  );
  const pageBackwards = byLimitBucket((bucket) =>
    db
      .select()
      .from(events)
      .where(and(eq(events.roomId, sql.placeholder("roomId")), lt(events.streamPos, sql.placeholder("fromPos")), gte(events.streamPos, sql.placeholder("toPos"))))
      .orderBy(desc(events.streamPos))
      .limit(literalLimit(bucket))
      .prepare(),
  );
  const latestPositionsStmt = lazy(() =>
    db
      .select({
        roomId: events.roomId,
        latest: sql<number>`MAX(${events.streamPos})`,
        latestOfTypes: sql<number>`COALESCE(MAX(CASE WHEN ${events.type} IN (SELECT value FROM json_each(${sql.placeholder("types")})) THEN ${events.streamPos} END), 0)`,
      })
      .from(events)
      .where(sql`${events.roomId} IN (SELECT value FROM json_each(${sql.placeholder("ids")}))`)
      .groupBy(events.roomId)
      .prepare(),
  );
  const latestOfTypesStmt = lazy(() =>
    db
      .select({ pos: events.streamPos })
      .from(events)
      .where(
        and(
          eq(events.roomId, sql.placeholder("roomId")),
          gt(events.streamPos, sql.placeholder("afterPos")),
          sql`${events.type} IN (SELECT value FROM json_each(${sql.placeholder("types")}))`,
        ),
      )
      .orderBy(desc(events.streamPos))
      .limit(literalLimit(1))
      .prepare(),
  );

  return {
    latestPos(roomId: string): number {
      let pos = latestByRoom.get(roomId);
      if (pos === undefined) {
        pos = (latestStmt().get({ roomId }) as { pos: number }).pos;
        latestByRoom.set(roomId, pos);
      }
      return pos;
    },
    dropCaches(): void {
      latestByRoom.clear();
    },
    get(eventId: string): EventRow | undefined {
      return byId().get({ eventId }) as EventRow | undefined;
    },
    getMany(eventIds: string[]): EventRow[] {
      if (eventIds.length === 0) return [];
      return manyById().all({ ids: JSON.stringify(eventIds) }) as EventRow[];
    },
    insert(row: EventRow): void {
      insertRow().run(
        row.streamPos, row.eventId, row.roomId, row.type, row.stateKey, row.sender, row.originServerTs, row.pdu,
        row.replacesState, row.redactedBy, row.txnDeviceId, row.txnId, row.containsUrl ? 1 : 0,
      );
      if (latestByRoom.has(row.roomId)) latestByRoom.set(row.roomId, row.streamPos);
    },
    /** Stores the redacted PDU in place of the original: the content is gone from storage. */
    markRedacted(eventId: string, redactedPdu: string, redactedBy: string): void {
      db.update(events).set({ pdu: redactedPdu, redactedBy, containsUrl: false }).where(eq(events.eventId, eventId)).run();
    },
    /**
     * Events of a room strictly after `fromPos` going forwards, or strictly before
     * it going backwards, up to `limit`, stopping at `toPos` (inclusive bound) if given.
     */
    page(roomId: string, options: { fromPos: number; dir: "f" | "b"; limit: number; toPos?: number }): EventRow[] {
      const rows = (
        options.dir === "f"
          ? pageForwards(options.limit).all({ roomId, fromPos: options.fromPos, toPos: options.toPos ?? Number.MAX_SAFE_INTEGER })
          : pageBackwards(options.limit).all({ roomId, fromPos: options.fromPos, toPos: options.toPos ?? 0 })
      ) as EventRow[];
      return rows.length > options.limit ? rows.slice(0, options.limit) : rows;
    },
    /** The event of a room closest to a timestamp in one direction (timestamp_to_event). */
    closestToTimestamp(roomId: string, ts: number, dir: "f" | "b"): EventRow | undefined {
      const forwards = dir === "f";
      return db
        .select()
        .from(events)
        .where(and(eq(events.roomId, roomId), forwards ? gte(events.originServerTs, ts) : lte(events.originServerTs, ts)))
        .orderBy(forwards ? asc(events.originServerTs) : desc(events.originServerTs), forwards ? asc(events.streamPos) : desc(events.streamPos))
        .limit(1)
        .get();
    },

    /**
     * For each of many rooms, in one read of the room/position index: its latest
     * stream position and that of its newest event whose type is one of `types`
     * (0 when none). The latest positions also fill latestPos's cache.
     */
    latestPositions(roomIds: readonly string[], types: readonly string[]): { roomId: string; latest: number; latestOfTypes: number }[] {
      if (roomIds.length === 0) return [];
      const rows = latestPositionsStmt().all({ ids: JSON.stringify(roomIds), types: JSON.stringify(types) }) as { roomId: string; latest: number; latestOfTypes: number }[];
      for (const row of rows) if (!latestByRoom.has(row.roomId)) latestByRoom.set(row.roomId, row.latest);
      return rows;
    },
    /** Stream position of the newest event of a room after `afterPos` whose type is one of `types` (by the room/position index). */
    latestOfTypes(roomId: string, types: readonly string[], afterPos: number): number | undefined {
      return (latestOfTypesStmt().get({ roomId, afterPos, types: JSON.stringify(types) }) as { pos: number } | null)?.pos;
    },
  };
}

export type EventsStore = ReturnType<typeof createEventsStore>;
