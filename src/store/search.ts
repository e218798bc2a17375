// The full-text index of room events: the FTS5 table `event_search` of the
// custom migration `search`, its rowid the event's stream position, one column
// per searchable key and the room id (stored, not indexed). FTS5 is outside
// drizzle's builder, so these are prepared statements over `sqlite`.
import type { Database } from "bun:sqlite";
import type { EventRow } from "./events";
import { lazy } from "./lazy";

/** The searchable keys (spec: search.yaml `keys`) and their FTS5 columns. */
export const SEARCH_COLUMNS = { "content.body": "body", "content.name": "name", "content.topic": "topic" } as const;
export type SearchKey = keyof typeof SEARCH_COLUMNS;
export type SearchColumn = (typeof SEARCH_COLUMNS)[SearchKey];

/** `count` stops here. */
export const SEARCH_COUNT_CAP = 1000;

const EVENT_COLUMNS = `e.stream_pos AS streamPos, e.event_id AS eventId, e.room_id AS roomId, e.type AS type, e.state_key AS stateKey,
  e.sender AS sender, e.origin_server_ts AS originServerTs, e.pdu AS pdu, e.replaces_state AS replacesState,
  e.redacted_by AS redactedBy, e.txn_device_id AS txnDeviceId, e.txn_id AS txnId, e.contains_url AS containsUrl`;

const IN_ROOMS = "event_search MATCH $match AND room_id IN (SELECT value FROM json_each($rooms))";

export function createSearchStore(sqlite: Database) {
  // Positional: run with every message, without building an object of named parameters.
  const insertStmt = lazy(() => sqlite.query("INSERT INTO event_search (rowid, body, name, topic, room_id) VALUES (?1, ?2, ?3, ?4, ?5)"));
  const deleteStmt = lazy(() => sqlite.query("DELETE FROM event_search WHERE rowid = $pos"));
  // Ranking and paging happen in the index over the searched rooms' matches;
  // only the page's rows are read from `events`. bm25() is lower for better
  // matches; the spec's rank is "higher is closer". Equal ranks go newest
  // first, so that offsets page through a stable order.
  const byRank = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -s.rank AS rank
       FROM (SELECT rowid, bm25(event_search) AS rank FROM event_search WHERE ${IN_ROOMS} ORDER BY rank, rowid DESC LIMIT $limit OFFSET $offset) s
       JOIN events e ON e.stream_pos = s.rowid
      ORDER BY s.rank, s.rowid DESC`,
  ));
  const byRecent = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -s.rank AS rank
       FROM (SELECT rowid, bm25(event_search) AS rank FROM event_search WHERE ${IN_ROOMS} AND rowid < $beforePos ORDER BY rowid DESC LIMIT $limit) s
       JOIN events e ON e.stream_pos = s.rowid
      ORDER BY s.rowid DESC`,
  ));
  // Capped like the unread counts: counting every match of a word found in half
  // of 100,000 messages costs more than the search itself, and the spec asks
  // only for "an approximate count". Matches before a room's first position
  // (the `rooms` object's values) are not counted.
  const countStmt = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS n FROM (
       SELECT 1 FROM event_search JOIN json_each($rooms) r ON r.key = event_search.room_id
        WHERE event_search MATCH $match AND event_search.rowid >= r.value LIMIT ${SEARCH_COUNT_CAP})`,
  ));

  const rows = (raw: unknown[]) =>
    (raw as Record<string, unknown>[]).map((row) => {
      const { rank, ...event } = row;
      return { row: { ...(event as unknown as EventRow), containsUrl: event.containsUrl === 1 }, rank: rank as number };
    });

  return {
    index(pos: number, column: SearchColumn, text: string, roomId: string): void {
      insertStmt().run(pos, column === "body" ? text : null, column === "name" ? text : null, column === "topic" ? text : null, roomId);
    },
    /** Drops an event and its text from the index (redaction); nothing happens when it was not indexed. */
    unindex(pos: number): void {
      deleteStmt().run({ pos });
    },
    /** Best matches in `roomIds` first, skipping `offset` of them. */
    byRank(match: string, roomIds: string[], offset: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRank().all({ match, rooms: JSON.stringify(roomIds), offset, limit }));
    },
    /** Newest matches in `roomIds` before stream position `beforePos`. */
    byRecent(match: string, roomIds: string[], beforePos: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRecent().all({ match, rooms: JSON.stringify(roomIds), beforePos, limit }));
    },
    /** Matches in each room from its first position on (`rooms`: room id -> position), up to SEARCH_COUNT_CAP. */
    count(match: string, rooms: Record<string, number>): number {
      return (countStmt().get({ match, rooms: JSON.stringify(rooms) }) as { n: number }).n;
    },
  };
}

export type SearchStore = ReturnType<typeof createSearchStore>;
