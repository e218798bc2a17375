// Repositories for push notifications: the push actions recorded for each
// notified user and event, and pushers.
import type { Database } from "bun:sqlite";
import { and, desc, eq, getTableColumns, lt, sql } from "drizzle-orm";
import { eventPushActions, pushers } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type PushActionRow = Omit<typeof eventPushActions.$inferSelect, "id">;
export type PusherRow = typeof pushers.$inferSelect;

/** Counting stops here: clients show "99+" long before, and an uncapped count would read a big backlog on every sync. */
export const NOTIFICATION_COUNT_CAP = 1000;

export interface ThreadCounts {
  threadId: string;
  notifications: number;
  highlights: number;
}

/** `sqlite` serves the capped counts, which drizzle cannot express. */
export function createPushActionsStore(db: Db, sqlite: Database) {
  const insertStmt = lazy(() => sqlite.query(
    `INSERT INTO event_push_actions (user_id, stream_pos, room_id, event_id, thread_id, highlight, actions, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
  ));
  // Index-only range scans over event_push_actions_room.
  const countByThread = lazy(() => sqlite.query(
    `SELECT thread_id AS threadId, COUNT(*) AS notifications, COALESCE(SUM(highlight), 0) AS highlights FROM (
       SELECT thread_id, highlight FROM event_push_actions WHERE user_id = ?1 AND room_id = ?2 AND stream_pos > ?3 AND stream_pos <= ?4
       LIMIT ${NOTIFICATION_COUNT_CAP}) GROUP BY thread_id`,
  ));
  const countOneThread = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS notifications, COALESCE(SUM(highlight), 0) AS highlights FROM (
       SELECT highlight FROM event_push_actions WHERE user_id = ?1 AND room_id = ?2 AND stream_pos > ?3 AND stream_pos <= ?4 AND thread_id = ?5
       LIMIT ${NOTIFICATION_COUNT_CAP})`,
  ));
  return {
    insert(row: PushActionRow): void {
      insertStmt().run(row.userId, row.streamPos, row.roomId, row.eventId, row.threadId, row.highlight ? 1 : 0, row.actions, row.ts);
    },
    /** Notifications of a user in a room in (after, upTo], per thread. */
    countsByThread(userId: string, roomId: string, after: number, upTo: number): ThreadCounts[] {
      return countByThread().all(userId, roomId, after, upTo) as ThreadCounts[];
    },
    /** Notifications of one thread in (after, upTo]. */
    countsOfThread(userId: string, roomId: string, threadId: string, after: number, upTo: number): Omit<ThreadCounts, "threadId"> {
      return countOneThread().get(userId, roomId, after, upTo, threadId) as Omit<ThreadCounts, "threadId">;
    },
    /** A user's notifications, newest first, before stream position `before`. */
    page(userId: string, before: number, limit: number, onlyHighlight: boolean): PushActionRow[] {
      const conditions = [eq(eventPushActions.userId, userId), lt(eventPushActions.streamPos, before)];
      if (onlyHighlight) conditions.push(eq(eventPushActions.highlight, true));
      const { id: _id, ...columns } = getTableColumns(eventPushActions);
      return db.select(columns).from(eventPushActions).where(and(...conditions)).orderBy(desc(eventPushActions.streamPos)).limit(limit).all();
    },
    dropCaches(): void {},
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
    dropCaches(): void {
      usersWithPushers = undefined;
    },
  };
}
