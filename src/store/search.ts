// The full-text index of room events: the FTS5 table `event_search` of the
// custom migration `search`, its rowid the event's stream position and one
// column per searchable key. FTS5 is outside drizzle's builder, so these are
// prepared statements over `sqlite`.
import type { Database } from "bun:sqlite";
import type { EventRow } from "./events";
import { lazy } from "./lazy";

/** The searchable keys (spec: search.yaml `keys`) and their FTS5 columns. */
export const SEARCH_COLUMNS = { "content.body": "body", "content.name": "name", "content.topic": "topic" } as const;
export type SearchKey = keyof typeof SEARCH_COLUMNS;
export type SearchColumn = (typeof SEARCH_COLUMNS)[SearchKey];

/** `count` stops here. */
export const SEARCH_COUNT_CAP = 1000;

export interface SearchQuery {
  /** An FTS5 query expression (built by the domain from the user's words). */
  match: string;
  /** The rooms to search, each with the earliest stream position worth looking at. */
  rooms: Record<string, number>;
  senders?: string[];
  notSenders?: string[];
}

const EVENT_COLUMNS = `e.stream_pos AS streamPos, e.event_id AS eventId, e.room_id AS roomId, e.type AS type, e.state_key AS stateKey,
  e.sender AS sender, e.origin_server_ts AS originServerTs, e.pdu AS pdu, e.replaces_state AS replacesState,
  e.redacted_by AS redactedBy, e.txn_device_id AS txnDeviceId, e.txn_id AS txnId, e.contains_url AS containsUrl`;

const FROM = `event_search JOIN events e ON e.stream_pos = event_search.rowid
  JOIN json_each($rooms) r ON r.key = e.room_id AND e.stream_pos >= r.value`;

const CONDITIONS = `event_search MATCH $match
  AND ($senders IS NULL OR e.sender IN (SELECT value FROM json_each($senders)))
  AND ($notSenders IS NULL OR e.sender NOT IN (SELECT value FROM json_each($notSenders)))`;

export function createSearchStore(sqlite: Database) {
  const insertStmt = lazy(() => sqlite.query("INSERT INTO event_search (rowid, body, name, topic) VALUES ($pos, $body, $name, $topic)"));
  const deleteStmt = lazy(() => sqlite.query("DELETE FROM event_search WHERE rowid = $pos"));
  // bm25() is lower for better matches; the spec's rank is "higher is closer".
  const byRank = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -bm25(event_search) AS rank
       FROM ${FROM}
      WHERE ${CONDITIONS}
      ORDER BY rank DESC, event_search.rowid DESC LIMIT $limit OFFSET $offset`,
  ));
  // Newest first, from the index's own rowid order, stopping at the limit.
  const byRecent = lazy(() => sqlite.query(
    `SELECT ${EVENT_COLUMNS}, -bm25(event_search) AS rank
       FROM ${FROM}
      WHERE ${CONDITIONS} AND event_search.rowid < $beforePos
      ORDER BY event_search.rowid DESC LIMIT $limit`,
  ));
  // Capped like the unread counts: counting every match of a word found in half
  // of 100,000 messages costs more than the search itself, and the spec asks
  // only for "an approximate count".
  const countStmt = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${FROM} WHERE ${CONDITIONS} LIMIT ${SEARCH_COUNT_CAP})`,
  ));

  const params = (query: SearchQuery) => ({
    match: query.match,
    rooms: JSON.stringify(query.rooms),
    senders: query.senders ? JSON.stringify(query.senders) : null,
    notSenders: query.notSenders ? JSON.stringify(query.notSenders) : null,
  });
  const rows = (raw: unknown[]) =>
    (raw as Record<string, unknown>[]).map((row) => {
      const { rank, ...event } = row;
      return { row: { ...(event as unknown as EventRow), containsUrl: event.containsUrl === 1 }, rank: rank as number };
    });

  return {
    index(pos: number, column: SearchColumn, text: string): void {
      insertStmt().run({ pos, body: null, name: null, topic: null, [column]: text });
    },
    /** Drops an event from the index (redaction); nothing happens when it was not indexed. */
    unindex(pos: number): void {
      deleteStmt().run({ pos });
    },
    /** Best matches first, skipping `offset` of them. */
    byRank(query: SearchQuery, offset: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRank().all({ ...params(query), offset, limit }));
    },
    /** Newest matches before stream position `beforePos`. */
    byRecent(query: SearchQuery, beforePos: number, limit: number): { row: EventRow; rank: number }[] {
      return rows(byRecent().all({ ...params(query), beforePos, limit }));
    },
    /** Matches in the searched rooms, up to SEARCH_COUNT_CAP. */
    count(query: SearchQuery): number {
      return (countStmt().get(params(query)) as { n: number }).n;
    },
  };
}

export type SearchStore = ReturnType<typeof createSearchStore>;
