// Repositories for push notifications: the push actions recorded for each
// notified user and event, and pushers.
import type { Database } from "bun:sqlite";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type eventPushActions, pushers } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type PushActionRow = Omit<typeof eventPushActions.$inferSelect, "id">;
export type PusherRow = typeof pushers.$inferSelect;

export interface ThreadCounts {
  threadId: string;
  notifications: number;
  highlights: number;
}

/**
 * /notifications looks at most this many of the newest rows (everyone's) per
 * page: a user with no notification among them gets a next_token to go on.
 */
export const NOTIFICATIONS_SCAN_LIMIT = 100_000;

/** Plain SQL: the upserts from a JSON list and the bounded scans are beyond drizzle. */
export function createPushActionsStore(sqlite: Database) {
  // The users come as one JSON array: a thousand members are one statement, not a thousand.
  const insertStmt = lazy(() => sqlite.query(
    `INSERT INTO event_push_actions (user_id, stream_pos, room_id, event_id, thread_id, highlight, actions, ts)
     SELECT value, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM json_each(?1)`,
  ));
  const raiseStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights) SELECT ?2, value, ?3, 1, ?4 FROM json_each(?1) WHERE true
     ON CONFLICT (room_id, user_id, thread_id) DO UPDATE SET notifications = notifications + 1, highlights = highlights + excluded.highlights`,
  ));
  const countsStmt = lazy(() => sqlite.query(
    `SELECT thread_id AS threadId, notifications, highlights FROM push_counts WHERE room_id = ?1 AND user_id = ?2 AND notifications > 0`,
  ));
  // A range of the room's index, filtered by user: the rows after a read receipt.
  const recountStmt = lazy(() => sqlite.query(
    `SELECT thread_id AS threadId, COUNT(*) AS notifications, COALESCE(SUM(highlight), 0) AS highlights FROM event_push_actions
     WHERE room_id = ?1 AND stream_pos > ?3 AND user_id = ?2 GROUP BY thread_id`,
  ));
  const recountThreadStmt = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS notifications, COALESCE(SUM(highlight), 0) AS highlights FROM event_push_actions
     WHERE room_id = ?1 AND stream_pos > ?3 AND user_id = ?2 AND thread_id = ?4`,
  ));
  const setCountsStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (room_id, user_id, thread_id) DO UPDATE SET notifications = excluded.notifications, highlights = excluded.highlights`,
  ));
  const firstKeptStmt = lazy(() => sqlite.query(`SELECT id FROM event_push_actions WHERE ts >= ?1 ORDER BY id LIMIT 1`));
  const lastIdStmt = lazy(() => sqlite.query(`SELECT COALESCE(MAX(id), 0) AS id FROM event_push_actions`));
  const deleteBeforeStmt = lazy(() => sqlite.query(
    `DELETE FROM event_push_actions WHERE id IN (SELECT id FROM event_push_actions WHERE id < ?1 ORDER BY id LIMIT ?2)`,
  ));
  const clearStmt = lazy(() => sqlite.query(`UPDATE push_counts SET notifications = 0, highlights = 0 WHERE room_id = ?1 AND user_id = ?2`));
  const pageStmt = lazy(() => sqlite.query(
    `SELECT id, user_id AS userId, stream_pos AS streamPos, room_id AS roomId, event_id AS eventId, thread_id AS threadId, highlight, actions, ts
     FROM (SELECT * FROM event_push_actions WHERE id < ?2 ORDER BY id DESC LIMIT ${NOTIFICATIONS_SCAN_LIMIT})
     WHERE user_id = ?1 AND (?3 = 0 OR highlight = 1) ORDER BY id DESC LIMIT ?4`,
  ));
  const oldestScannedStmt = lazy(() => sqlite.query(
    `SELECT MIN(id) AS id, COUNT(*) AS n FROM (SELECT id FROM event_push_actions WHERE id < ?1 ORDER BY id DESC LIMIT ${NOTIFICATIONS_SCAN_LIMIT})`,
  ));
  return {
    /** Records one event's notification of `userIds` (same outcome) and raises their counts for the room and thread. */
    insert(userIds: string[], row: Omit<PushActionRow, "userId">): void {
      const users = JSON.stringify(userIds);
      const highlight = row.highlight ? 1 : 0;
      insertStmt().run(users, row.streamPos, row.roomId, row.eventId, row.threadId, highlight, row.actions, row.ts);
      raiseStmt().run(users, row.roomId, row.threadId, highlight);
    },
    /** The user's unread counts in a room, per thread (threads without any left out). */
    counts(userId: string, roomId: string): ThreadCounts[] {
      return countsStmt().all(roomId, userId) as ThreadCounts[];
    },
    /** Notifications of a user in a room after `after`, per thread (or of one thread). */
    countAfter(userId: string, roomId: string, after: number): ThreadCounts[] {
      return recountStmt().all(roomId, userId, after) as ThreadCounts[];
    },
    countThreadAfter(userId: string, roomId: string, threadId: string, after: number): Omit<ThreadCounts, "threadId"> {
      return recountThreadStmt().get(roomId, userId, after, threadId) as Omit<ThreadCounts, "threadId">;
    },
    /**
     * Deletes up to `limit` of the oldest rows recorded before `cutoffTs` (rows
     * are appended in time order, so they are a prefix by id); returns how many.
     */
    deleteOlderThan(cutoffTs: number, limit: number): number {
      const kept = firstKeptStmt().get(cutoffTs) as { id: number } | null;
      const before = kept ? kept.id : (lastIdStmt().get() as { id: number }).id + 1;
      return deleteBeforeStmt().run(before, limit).changes;
    },
    /** Zeroes a user's counts in a room (they joined: counting starts there). */
    clearCounts(userId: string, roomId: string): void {
      clearStmt().run(roomId, userId);
    },
    setCounts(userId: string, roomId: string, threadId: string, notifications: number, highlights: number): void {
      setCountsStmt().run(roomId, userId, threadId, notifications, highlights);
    },
    /**
     * A user's notifications, newest first, among the rows before `beforeId`;
     * `scannedTo` is where the look stopped (0: at the start of the table).
     */
    page(userId: string, beforeId: number, limit: number, onlyHighlight: boolean): { rows: (PushActionRow & { id: number })[]; scannedTo: number } {
      const raw = pageStmt().all(userId, beforeId, onlyHighlight ? 1 : 0, limit) as (Omit<PushActionRow, "highlight"> & { id: number; highlight: number })[];
      const rows = raw.map((row) => ({ ...row, highlight: row.highlight === 1 }));
      const scanned = oldestScannedStmt().get(beforeId) as { id: number | null; n: number };
      return { rows, scannedTo: scanned.n < NOTIFICATIONS_SCAN_LIMIT ? 0 : (scanned.id ?? 0) };
    },
  };
}

export function createPushersStore(db: Db) {
  // Users with at least one pusher, so that a message costs no pusher query per member.
  let usersWithPushers: Set<string> | undefined;
  const loadUsers = () =>
    (usersWithPushers ??= new Set(db.selectDistinct({ userId: pushers.userId }).from(pushers).all().map((row) => row.userId)));
  return {
    ofUser(userId: string): PusherRow[] {
      if (!loadUsers().has(userId)) return [];
      return db.select().from(pushers).where(eq(pushers.userId, userId)).all();
    },
    hasAny(userId: string): boolean {
      return loadUsers().has(userId);
    },
    /** Creates or replaces the pusher (app_id, pushkey) of the row's user. */
    upsert(row: PusherRow): void {
      db.insert(pushers)
        .values(row)
        .onConflictDoUpdate({
          target: [pushers.appId, pushers.pushkey, pushers.userId],
          set: {
            kind: row.kind,
            appDisplayName: row.appDisplayName,
            deviceDisplayName: row.deviceDisplayName,
            profileTag: row.profileTag,
            lang: row.lang,
            data: row.data,
            deviceId: row.deviceId,
            pushkeyTs: row.pushkeyTs,
          },
        })
        .run();
      loadUsers().add(row.userId);
    },
    /** Deletes the pusher (app_id, pushkey) of one user, or of every user but `exceptUser` when `userId` is null. */
    delete(appId: string, pushkey: string, userId: string | null, exceptUser?: string): number {
      const rows = db
        .delete(pushers)
        .where(
          and(
            eq(pushers.appId, appId),
            eq(pushers.pushkey, pushkey),
            userId !== null ? eq(pushers.userId, userId) : exceptUser !== undefined ? sql`${pushers.userId} != ${exceptUser}` : undefined,
          ),
        )
        .returning({ userId: pushers.userId })
        .all();
      if (rows.length > 0) usersWithPushers = undefined;
      return rows.length;
    },
    /** Deletes the pushers a user's devices set (the devices are gone). */
    deleteForDevices(userId: string, deviceIds: string[]): void {
      if (deviceIds.length === 0 || !loadUsers().has(userId)) return;
      db.delete(pushers).where(and(eq(pushers.userId, userId), inArray(pushers.deviceId, deviceIds))).run();
      usersWithPushers = undefined;
    },
    dropCaches(): void {
      usersWithPushers = undefined;
    },
  };
}
