// Event relationships (schema/relations.ts): the children of events, read a
// page of parents at a time for bundled aggregations, one parent at a time for
// /relations, and grouped by thread root for /threads. Aggregates and the
// replacement choice are SQL that drizzle's builder does not express (grouped
// counts, a join of child and parent), so those are prepared statements over
// `sqlite` directly.
import { eq, sql } from "drizzle-orm";
import type { Database } from "bun:sqlite";
import { eventRelations } from "../../schema";
import type { Db } from "./db";
import type { EventRow } from "./events";
import { lazy } from "./lazy";

export type RelationRow = typeof eventRelations.$inferSelect;

/** The rel_types with bundled aggregations (spec: "Aggregations of child events"); m.annotation has none. */
export const BUNDLED_REL_TYPES = ["m.thread", "m.replace", "m.reference"];
const BUNDLED_SQL = `(${BUNDLED_REL_TYPES.map((type) => `'${type}'`).join(", ")})`;
/** Beyond this many parents in one room, the room's set is not kept in memory. */
const MAX_KNOWN_PARENTS = 50_000;

/** Per parent and rel_type: how many children, the latest one, and whether `userId` sent one. */
export interface RelationAggregate {
  parent: string;
  relType: string;
  count: number;
  latestPos: number;
  participated: number;
  /** m.reference only: the children's ids, space-separated. */
  references: string | null;
}

/** Event columns selected under their drizzle names, so that raw rows are EventRows. */
const EVENT_COLUMNS = `e.stream_pos AS streamPos, e.event_id AS eventId, e.room_id AS roomId, e.type AS type, e.state_key AS stateKey,
  e.sender AS sender, e.origin_server_ts AS originServerTs, e.pdu AS pdu, e.replaces_state AS replacesState,
  e.redacted_by AS redactedBy, e.txn_device_id AS txnDeviceId, e.txn_id AS txnId, e.contains_url AS containsUrl`;

function eventRow(row: Record<string, unknown>): EventRow {
  return { ...(row as unknown as EventRow), containsUrl: row.containsUrl === 1 };
}

export function createRelationsStore(db: Db, sqlite: Database) {
  const insertRow = lazy(() => db.insert(eventRelations).values({
    eventId: sql.placeholder("eventId"),
    relatesTo: sql.placeholder("relatesTo"),
    relType: sql.placeholder("relType"),
    roomId: sql.placeholder("roomId"),
    type: sql.placeholder("type"),
    sender: sql.placeholder("sender"),
    streamPos: sql.placeholder("streamPos"),
  }).onConflictDoNothing().prepare());
  const bundledParentsStmt = lazy(() => sqlite.query(
    `SELECT DISTINCT relates_to AS parent FROM event_relations WHERE room_id = $roomId AND rel_type IN ${BUNDLED_SQL} LIMIT ${MAX_KNOWN_PARENTS + 1}`,
  ));

  // The bundled aggregations of a page of parents in one indexed lookup (spec:
  // "Aggregations of child events"): counts and latest position per (parent,
  // rel_type), the user's participation for m.thread, the ids for m.reference.
  const aggregateStmt = lazy(() => sqlite.query(
    `SELECT relates_to AS parent, rel_type AS relType, COUNT(*) AS count, MAX(stream_pos) AS latestPos,
            MAX(sender = $userId) AS participated,
            group_concat(CASE WHEN rel_type = 'm.reference' THEN event_id END, ' ') AS "references"
       FROM event_relations
      WHERE relates_to IN (SELECT value FROM json_each($parents))
        AND rel_type IN ${BUNDLED_SQL} AND stream_pos <= $untilPos
      GROUP BY relates_to, rel_type`,
  ));
  // Replacement candidates (spec: "Validity of replacement events"): same sender
  // and type as the parent; the rest is checked on the events. Most recent first
  // by origin_server_ts, then event_id (spec: "Server-side aggregation of m.replace").
  const replacementsStmt = lazy(() => sqlite.query(
    `SELECT r.relates_to AS parent, ${EVENT_COLUMNS}
       FROM event_relations r
       JOIN events e ON e.event_id = r.event_id
       JOIN events p ON p.event_id = r.relates_to
      WHERE r.relates_to IN (SELECT value FROM json_each($parents)) AND r.rel_type = 'm.replace'
        AND r.stream_pos <= $untilPos AND e.sender = p.sender AND e.type = p.type
      ORDER BY r.relates_to, e.origin_server_ts DESC, e.event_id DESC`,
  ));
  const byPositions = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_pos IN (SELECT value FROM json_each($positions))`,
  ));
  const childrenStmt = (dir: "f" | "b") => sqlite.query(
    `SELECT ${EVENT_COLUMNS}
       FROM event_relations r JOIN events e ON e.stream_pos = r.stream_pos
      WHERE r.relates_to IN (SELECT value FROM json_each($parents)) AND r.room_id = $roomId
        AND ($relType IS NULL OR r.rel_type = $relType) AND ($eventType IS NULL OR r.type = $eventType)
        AND r.stream_pos ${dir === "f" ? "> $fromPos AND r.stream_pos <= $toPos" : "<= $fromPos AND r.stream_pos > $toPos"}
      ORDER BY r.stream_pos ${dir === "f" ? "ASC" : "DESC"} LIMIT $limit`,
  );
  const childrenForwards = lazy(() => childrenStmt("f"));
  const childrenBackwards = lazy(() => childrenStmt("b"));
  const childIdsStmt = lazy(() => sqlite.query(
    `SELECT event_id AS eventId FROM event_relations
      WHERE relates_to IN (SELECT value FROM json_each($parents)) AND room_id = $roomId AND stream_pos <= $untilPos`,
  ));
  // Thread roots by their latest reply up to what the reader may see (spec:
  // threads_list.yaml, "ordered by the latest_event"), read from the covering
  // index event_relations_room.
  const threadsStmt = lazy(() => sqlite.query(
    `SELECT relates_to AS rootId, MAX(stream_pos) AS latestPos
       FROM event_relations
      WHERE room_id = $roomId AND rel_type = 'm.thread' AND stream_pos <= $untilPos
      GROUP BY relates_to
     HAVING latestPos < $beforePos
        AND ($userId IS NULL OR MAX(sender = $userId) = 1
             OR EXISTS (SELECT 1 FROM events e WHERE e.event_id = relates_to AND e.sender = $userId))
      ORDER BY latestPos DESC LIMIT $limit`,
  ));

  // Per room, the events that have children of a bundled rel_type, so that a
  // page of events without any (a new message fanned out to every sync, most
  // history) needs no lookup at all. Read once per room, kept in step by
  // insert(); rows only disappear by redaction, which at worst leaves a stale
  // entry (one empty lookup). null: too many to keep, always look up.
  const bundledParents = new Map<string, Set<string> | null>();
  const parentsOf = (roomId: string): Set<string> | null => {
    let parents = bundledParents.get(roomId);
    if (parents === undefined) {
      const rows = bundledParentsStmt().all({ roomId }) as { parent: string }[];
      parents = rows.length > MAX_KNOWN_PARENTS ? null : new Set(rows.map((row) => row.parent));
      if (bundledParents.size > 10_000) bundledParents.clear();
      bundledParents.set(roomId, parents);
    }
    return parents;
  };

  return {
    dropCaches(): void {
      bundledParents.clear();
    },
    insert(row: RelationRow): void {
      insertRow().run(row as never);
      const parents = bundledParents.get(row.roomId);
      if (parents && BUNDLED_REL_TYPES.includes(row.relType)) {
        parents.add(row.relatesTo);
        if (parents.size > MAX_KNOWN_PARENTS) bundledParents.set(row.roomId, null);
      }
    },
    /** Removes the relation of a redacted child (redaction strips m.relates_to). */
    delete(eventId: string): void {
      db.delete(eventRelations).where(eq(eventRelations.eventId, eventId)).run();
    },
    get(eventId: string): RelationRow | undefined {
      return db.select().from(eventRelations).where(eq(eventRelations.eventId, eventId)).get();
    },
    /** Whether the event may have children that bundled aggregations show (false: it has none). */
    mayHaveBundledChildren(roomId: string, eventId: string): boolean {
      const parents = parentsOf(roomId);
      return parents === null || parents.has(eventId);
    },
    aggregates(parents: string[], untilPos: number, userId: string): RelationAggregate[] {
      if (parents.length === 0) return [];
      return aggregateStmt().all({ parents: JSON.stringify(parents), untilPos, userId }) as RelationAggregate[];
    },
    /** Replacement candidates of each parent, most recent first. */
    replacementCandidates(parents: string[], untilPos: number): { parent: string; row: EventRow }[] {
      if (parents.length === 0) return [];
      const rows = replacementsStmt().all({ parents: JSON.stringify(parents), untilPos }) as Record<string, unknown>[];
      return rows.map((row) => ({ parent: row.parent as string, row: eventRow(row) }));
    },
    eventsAt(positions: number[]): EventRow[] {
      if (positions.length === 0) return [];
      return (byPositions().all({ positions: JSON.stringify(positions) }) as Record<string, unknown>[]).map(eventRow);
    },
    /**
     * Children of any of `parents` in a room, optionally of one rel_type and
     * event type: going backwards, those at or before `fromPos` and after
     * `toPos`; forwards, after `fromPos` up to `toPos`.
     */
    children(roomId: string, parents: string[], options: { relType?: string; eventType?: string; fromPos: number; toPos: number; dir: "f" | "b"; limit: number }): EventRow[] {
      const statement = options.dir === "f" ? childrenForwards() : childrenBackwards();
      const rows = statement.all({
        parents: JSON.stringify(parents),
        roomId,
        relType: options.relType ?? null,
        eventType: options.eventType ?? null,
        fromPos: options.fromPos,
        toPos: options.toPos,
        limit: options.limit,
      }) as Record<string, unknown>[];
      return rows.map(eventRow);
    },
    /** Ids of the direct children of any of `parents` (any rel_type), for recursion. */
    childIds(roomId: string, parents: string[], untilPos: number): string[] {
      if (parents.length === 0) return [];
      return (childIdsStmt().all({ parents: JSON.stringify(parents), roomId, untilPos }) as { eventId: string }[]).map((row) => row.eventId);
    },
    threads(roomId: string, options: { untilPos: number; beforePos: number; limit: number; participatedBy?: string }): { rootId: string; latestPos: number }[] {
      return threadsStmt().all({
        roomId,
        untilPos: options.untilPos,
        beforePos: options.beforePos,
        limit: options.limit,
        userId: options.participatedBy ?? null,
      }) as { rootId: string; latestPos: number }[];
    },
  };
}

export type RelationsStore = ReturnType<typeof createRelationsStore>;
