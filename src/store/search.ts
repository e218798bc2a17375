// The full-text index of room events: the FTS5 table `event_search` of the
// custom migration `search`, its rowid the event's stream position, one column
// per searchable key and one (`room`) for the room's search token. FTS5 is
// outside drizzle's builder, so these are prepared statements over `sqlite`.
import type { Database } from "bun:sqlite";
import type { EventRow } from "./events";
import { lazy } from "./lazy";

/** The searchable keys (spec: search.yaml `keys`) and their FTS5 columns. */
export const SEARCH_COLUMNS = { "content.body": "body", "content.name": "name", "content.topic": "topic" } as const;
export type SearchKey = keyof typeof SEARCH_COLUMNS;
export type SearchColumn = (typeof SEARCH_COLUMNS)[SearchKey];

/** `count` stops here. */
export const SEARCH_COUNT_CAP = 1000;

/** Which matches to count: an FTS5 expression, and the rooms with the first stream position worth counting in each. */
export interface SearchCount {
  match: string;
  rooms: Record<string, number>;
}

const EVENT_COLUMNS = `e.stream_pos AS streamPos, e.event_id AS eventId, e.room_id AS roomId, e.type AS type, e.state_key AS stateKey,
  e.sender AS sender, e.origin_server_ts AS originServerTs, e.pdu AS pdu, e.replaces_state AS replacesState,
  e.redacted_by AS redactedBy, e.txn_device_id AS txnDeviceId, e.txn_id AS txnId, e.contains_url AS containsUrl`;

export function createSearchStore(sqlite: Database) {
  const insertStmt = lazy(() => sqlite.query("INSERT INTO event_search (rowid, body, name, topic, room) VALUES ($pos, $body, $name, $topic, $room)"));
  const deleteStmt = lazy(() => sqlite.query("DELETE FROM event_search WHERE rowid = $pos"));
  // The rooms are part of the FTS5 expression (the `room` column), so ranking and
  // paging happen inside the index, and only the page's rows are read from
  // `events`. bm25() is lower for better matches; the spec's rank is "higher is closer".
  const byRank = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -s.rank AS rank
       FROM (SELECT rowid, rank FROM event_search WHERE event_search MATCH $match ORDER BY rank LIMIT $limit OFFSET $offset) s
       JOIN events e ON e.stream_pos = s.rowid
      ORDER BY s.rank`,
  ));
  const byRecent = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -s.rank AS rank
       FROM (SELECT rowid, rank FROM event_search WHERE event_search MATCH $match AND rowid < $beforePos ORDER BY rowid DESC LIMIT $limit) s
       JOIN events e ON e.stream_pos = s.rowid
      ORDER BY s.rowid DESC`,
  ));
  // Capped like the unread counts: counting every match of a word found in half
  // of 100,000 messages costs more than the search itself, and the spec asks
  // only for "an approximate count". Matches before a room's first position are
  // not counted.
  const countStmt = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS n FROM (
       SELECT 1 FROM event_search JOIN events e ON e.stream_pos = event_search.rowid
         JOIN json_each($rooms) r ON r.key = e.room_id AND e.stream_pos >= r.value
        WHERE event_search MATCH $match LIMIT ${SEARCH_COUNT_CAP})`,
  ));

  const rows = (raw: unknown[]) =>
    (raw as Record<string, unknown>[]).map((row) => {
      const { rank, ...event } = row;
      return { row: { ...(event as unknown as EventRow), containsUrl: event.containsUrl === 1 }, rank: rank as number };
    });

  return {
    /** Indexes `text` under `column`; `room` is the room's search token (see the domain's roomSearchToken). */
    index(pos: number, column: SearchColumn, text: string, room: string): void {
      insertStmt().run({ pos, body: null, name: null, topic: null, [column]: text, room });
    },
    /** Drops an event from the index (redaction); nothing happens when it was not indexed. */
    unindex(pos: number): void {
      deleteStmt().run({ pos });
    },
    /** Best matches first, skipping `offset` of them. */
    byRank(match: string, offset: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRank().all({ match, offset, limit }));
    },
    /** Newest matches before stream position `beforePos`. */
    byRecent(match: string, beforePos: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRecent().all({ match, beforePos, limit }));
    },
    /** Matches in the rooms from their first positions on, up to SEARCH_COUNT_CAP. */
    count(query: SearchCount): number {
      return (countStmt().get({ match: query.match, rooms: JSON.stringify(query.rooms) }) as { n: number }).n;
    },
  };
}

export type SearchStore = ReturnType<typeof createSearchStore>;
