// The candidates of a user directory search, in one query over tables that are
// already indexed: users (by id), current_state (member rows by state_key and
// membership; the state of a room by its primary key) and events (by id).
import type { Database } from "bun:sqlite";
import { lazy } from "./lazy";

export interface DirectoryCandidate {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
  /** Shares a joined room with the searcher. */
  shared: boolean;
}

// Rooms anyone may see the members of: join rule public, or history world_readable
// (Synapse's "public rooms" for the user directory). Driven from `rooms` so that
// each room costs two primary-key lookups in current_state.
const PUBLIC_ROOMS = `
  SELECT r.room_id FROM rooms r
    JOIN current_state cs ON cs.room_id = r.room_id AND cs.type = 'm.room.join_rules' AND cs.state_key = ''
    JOIN events e ON e.event_id = cs.event_id
    WHERE json_extract(e.pdu, '$.content.join_rule') = 'public'
  UNION
  SELECT r.room_id FROM rooms r
    JOIN current_state cs ON cs.room_id = r.room_id AND cs.type = 'm.room.history_visibility' AND cs.state_key = ''
    JOIN events e ON e.event_id = cs.event_id
    WHERE json_extract(e.pdu, '$.content.history_visibility') = 'world_readable'`;

const joinedTo = (rooms: string) =>
  `EXISTS (SELECT 1 FROM current_state m WHERE m.state_key = u.user_id AND m.membership = 'join' AND m.type = 'm.room.member' AND m.room_id IN ${rooms})`;

/** How many words of a search term the query narrows by; more are checked by the caller. */
export const MAX_FRAGMENTS = 3;

const matchesFragment = (n: number) =>
  `(substr(u.user_id, 2) LIKE $pattern${n} ESCAPE '\\' OR u.display_name LIKE $pattern${n} ESCAPE '\\' OR u.display_name GLOB '*[^ -~]*')`;

const SEARCH = `
  WITH my_rooms AS (
    SELECT room_id FROM current_state WHERE state_key = $searcher AND membership = 'join' AND type = 'm.room.member'
  ), public_rooms AS (${PUBLIC_ROOMS})
  SELECT userId, displayName, avatarUrl, shared FROM (
    SELECT u.user_id AS userId, u.display_name AS displayName, u.avatar_url AS avatarUrl,
      ${joinedTo("my_rooms")} AS shared,
      ($allUsers OR ${joinedTo("public_rooms")}) AS open
    FROM users u
    WHERE u.deactivated = 0
      AND ${Array.from({ length: MAX_FRAGMENTS }, (_, i) => matchesFragment(i + 1)).join(" AND ")}
  ) WHERE shared OR open
  ORDER BY shared DESC, lower(coalesce(displayName, substr(userId, 2))), userId
  LIMIT $count OFFSET $offset`;

export function createUserDirectoryStore(sqlite: Database) {
  const search = lazy(() => sqlite.query(SEARCH));
  return {
    /**
     * Active users whose localpart or display name contains each of the first
     * MAX_FRAGMENTS `fragments` (ASCII case-insensitive, SQLite's LIKE), or
     * whose display name has other characters than printable ASCII (LIKE cannot
     * fold "Ö" or "é": the caller decides for them), and
     * whom the searcher may find: sharing a room, in a public room, or anyone
     * with `allUsers`. The caller refines the match. In order: users sharing a
     * room first, then by lower-cased display name (or localpart); a page of
     * `count` from `offset`.
     */
    candidates(searcher: string, fragments: string[], allUsers: boolean, page: { offset: number; count: number }): DirectoryCandidate[] {
      const pattern = (i: number) => `%${(fragments[i] ?? "").replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const patterns = Object.fromEntries(Array.from({ length: MAX_FRAGMENTS }, (_, i) => [`pattern${i + 1}`, pattern(i)]));
      const rows = search().all({ searcher, ...patterns, allUsers: allUsers ? 1 : 0, ...page }) as {
        userId: string;
        displayName: string | null;
        avatarUrl: string | null;
        shared: number;
      }[];
      return rows.map((row) => ({ ...row, shared: row.shared === 1 }));
    },
  };
}
