// Repositories for push notifications: the outcomes of the push rules recorded
// per event (shared by the room's members, or a user's own), the unread
// counters derived from them, and pushers.
import type { Database } from "bun:sqlite";
import { and, eq, inArray, sql } from "drizzle-orm";
import { pushers } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type PusherRow = typeof pushers.$inferSelect;

export interface ThreadCounts {
  threadId: string;
  notifications: number;
  highlights: number;
}

/** One event's details, as both kinds of push action rows hold them. */
export interface PushEvent {
  streamPos: number;
  roomId: string;
  eventId: string;
  threadId: string;
  ts: number;
}

/** A user's own outcome for an event (see schema/push.ts event_push_actions). */
export interface OwnOutcome {
  userId: string;
  notify: boolean;
  highlight: boolean;
  actions: string;
  notificationsDelta: number;
  highlightsDelta: number;
  /** Joined to the room: a new counter row follows the room's shared counts. */
  joined: boolean;
}

/** A notification as GET /notifications lists it. */
export interface NotificationRow {
  streamPos: number;
  roomId: string;
  eventId: string;
  threadId: string;
  highlight: boolean;
  actions: string;
  ts: number;
}

const NOTIFICATION_COLUMNS = "stream_pos AS streamPos, room_id AS roomId, event_id AS eventId, thread_id AS threadId, highlight, actions, ts";

/** Plain SQL: the multi-row statements from JSON lists and the derived counts are beyond drizzle. */
export function createPushActionsStore(sqlite: Database) {
  const insertSharedStmt = lazy(() => sqlite.query(
    `INSERT INTO room_push_actions (stream_pos, room_id, event_id, thread_id, highlight, actions, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
  ));
  const raiseRoomStmt = lazy(() => sqlite.query(
    `INSERT INTO push_room_counts (room_id, thread_id, notifications, highlights) VALUES (?1, ?2, 1, ?3)
     ON CONFLICT (room_id, thread_id) DO UPDATE SET notifications = notifications + 1, highlights = highlights + excluded.highlights`,
  ));
  // The users come as one JSON array of [user, notify, highlight, actions, dn, dh, joined]: one statement for all of them.
  const insertOwnStmt = lazy(() => sqlite.query(
    `INSERT INTO event_push_actions (user_id, stream_pos, room_id, event_id, thread_id, notify, highlight, actions, ts, notifications_delta, highlights_delta)
     SELECT value ->> 0, ?2, ?3, ?4, ?5, value ->> 1, value ->> 2, value ->> 3, ?6, value ->> 4, value ->> 5 FROM json_each(?1)`,
  ));
  // A missing row of a joined user follows the room's counts from zero (its thread began after the join).
  const adjustStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights, room_notifications, room_highlights)
     SELECT ?2, value ->> 0, ?3, value ->> 4, value ->> 5, iif(value ->> 6, 0, NULL), iif(value ->> 6, 0, NULL) FROM json_each(?1)
     WHERE (value ->> 4) != 0 OR (value ->> 5) != 0
     ON CONFLICT (room_id, user_id, thread_id) DO UPDATE SET notifications = notifications + excluded.notifications, highlights = highlights + excluded.highlights`,
  ));
  // The sender taking back one message's shared outcome: adjustStmt for one row,
  // without decoding a JSON array (one per message sent).
  const takeBackStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights, room_notifications, room_highlights)
     VALUES (?1, ?2, ?3, -1, ?4, 0, 0)
     ON CONFLICT (room_id, user_id, thread_id) DO UPDATE SET notifications = notifications - 1, highlights = highlights + excluded.highlights`,
  ));
  const clearUserStmt = lazy(() => sqlite.query(`DELETE FROM push_counts WHERE room_id = ?1 AND user_id = ?2`));
  const followStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights, room_notifications, room_highlights)
     SELECT room_id, ?2, thread_id, 0, 0, notifications, highlights FROM push_room_counts WHERE room_id = ?1`,
  ));
  const freezeStmt = lazy(() => sqlite.query(
    `UPDATE push_counts AS u SET
       notifications = u.notifications + COALESCE((SELECT r.notifications FROM push_room_counts r WHERE r.room_id = u.room_id AND r.thread_id = u.thread_id), 0) - u.room_notifications,
       highlights = u.highlights + COALESCE((SELECT r.highlights FROM push_room_counts r WHERE r.room_id = u.room_id AND r.thread_id = u.thread_id), 0) - u.room_highlights,
       room_notifications = NULL, room_highlights = NULL
     WHERE u.room_id = ?1 AND u.user_id = ?2 AND u.room_notifications IS NOT NULL`,
  ));
  const freezeMissingStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights, room_notifications, room_highlights)
     SELECT room_id, ?2, thread_id, notifications, highlights, NULL, NULL FROM push_room_counts WHERE room_id = ?1 AND true
     ON CONFLICT (room_id, user_id, thread_id) DO NOTHING`,
  ));
  const setCountsStmt = lazy(() => sqlite.query(
    `INSERT INTO push_counts (room_id, user_id, thread_id, notifications, highlights, room_notifications, room_highlights)
     SELECT ?1, ?2, ?3, ?4, ?5,
       iif(?6, COALESCE((SELECT notifications FROM push_room_counts WHERE room_id = ?1 AND thread_id = ?3), 0), NULL),
       iif(?6, COALESCE((SELECT highlights FROM push_room_counts WHERE room_id = ?1 AND thread_id = ?3), 0), NULL)
     WHERE true
     ON CONFLICT (room_id, user_id, thread_id) DO UPDATE SET notifications = excluded.notifications, highlights = excluded.highlights,
       room_notifications = excluded.room_notifications, room_highlights = excluded.room_highlights`,
  ));
  // Recounts: shared outcomes in a range of the room's index, then the user's own rows.
  // The user's own events are not theirs to be notified of: left out by their sender.
  const sharedAfterStmt = lazy(() => sqlite.query(
    `SELECT b.thread_id AS threadId, COUNT(*) AS notifications, COALESCE(SUM(b.highlight), 0) AS highlights
     FROM room_push_actions b JOIN events ev ON ev.stream_pos = b.stream_pos
     WHERE b.room_id = ?1 AND b.stream_pos > ?2 AND b.stream_pos < ?3 AND ev.sender != ?4 GROUP BY b.thread_id`,
  ));
  const sharedThreadAfterStmt = lazy(() => sqlite.query(
    `SELECT COUNT(*) AS notifications, COALESCE(SUM(b.highlight), 0) AS highlights
     FROM room_push_actions b JOIN events ev ON ev.stream_pos = b.stream_pos
     WHERE b.room_id = ?1 AND b.stream_pos > ?2 AND b.stream_pos < ?3 AND b.thread_id = ?4 AND ev.sender != ?5`,
  ));
  const ownAfterStmt = lazy(() => sqlite.query(
    `SELECT thread_id AS threadId, COALESCE(SUM(notifications_delta), 0) AS notifications, COALESCE(SUM(highlights_delta), 0) AS highlights
     FROM event_push_actions WHERE user_id = ?1 AND room_id = ?2 AND stream_pos > ?3 GROUP BY thread_id`,
  ));
  const ownThreadAfterStmt = lazy(() => sqlite.query(
    `SELECT COALESCE(SUM(notifications_delta), 0) AS notifications, COALESCE(SUM(highlights_delta), 0) AS highlights
     FROM event_push_actions WHERE user_id = ?1 AND room_id = ?2 AND stream_pos > ?3 AND thread_id = ?4`,
  ));
  const firstKeptOwnStmt = lazy(() => sqlite.query(`SELECT id FROM event_push_actions WHERE ts >= ?1 ORDER BY id LIMIT 1`));
  const lastOwnIdStmt = lazy(() => sqlite.query(`SELECT COALESCE(MAX(id), 0) AS id FROM event_push_actions`));
  const deleteOwnBeforeStmt = lazy(() => sqlite.query(
    `DELETE FROM event_push_actions WHERE id IN (SELECT id FROM event_push_actions WHERE id < ?1 ORDER BY id LIMIT ?2)`,
  ));
  const firstKeptSharedStmt = lazy(() => sqlite.query(`SELECT stream_pos AS pos FROM room_push_actions WHERE ts >= ?1 ORDER BY stream_pos LIMIT 1`));
  const lastSharedStmt = lazy(() => sqlite.query(`SELECT COALESCE(MAX(stream_pos), 0) AS pos FROM room_push_actions`));
  const deleteSharedBeforeStmt = lazy(() => sqlite.query(
    `DELETE FROM room_push_actions WHERE stream_pos IN (SELECT stream_pos FROM room_push_actions WHERE stream_pos < ?1 ORDER BY stream_pos LIMIT ?2)`,
  ));
  const ownPageStmt = lazy(() => sqlite.query(
    `SELECT ${NOTIFICATION_COLUMNS} FROM event_push_actions
     WHERE user_id = ?1 AND stream_pos < ?2 AND notify = 1 AND (?3 = 0 OR highlight = 1) ORDER BY stream_pos DESC LIMIT ?4`,
  ));
  // The shared outcomes of one joined span of the user, less the events the user has a row of their own for and their own events.
  const sharedPageStmt = lazy(() => sqlite.query(
    `SELECT ${NOTIFICATION_COLUMNS.replace(/(^|, )/g, "$1b.")} FROM room_push_actions b JOIN events ev ON ev.stream_pos = b.stream_pos
     WHERE b.room_id = ?2 AND b.stream_pos >= ?3 AND b.stream_pos < ?4 AND (?5 = 0 OR b.highlight = 1) AND ev.sender != ?1
       AND NOT EXISTS (SELECT 1 FROM event_push_actions e WHERE e.user_id = ?1 AND e.stream_pos = b.stream_pos)
     ORDER BY b.stream_pos DESC LIMIT ?6`,
  ));
  // Every span in which the user was joined to a room, from the state history of their member events.
  const joinedSpansStmt = lazy(() => sqlite.query(
    `SELECT h.room_id AS roomId, h.from_pos AS fromPos, h.to_pos AS toPos FROM current_state c
     JOIN state_history h ON h.room_id = c.room_id AND h.type = 'm.room.member' AND h.state_key = c.state_key
     JOIN events e ON e.event_id = h.event_id
     WHERE c.state_key = ?1 AND c.type = 'm.room.member' AND e.pdu ->> '$.content.membership' = 'join'`,
  ));
  const toNotification = (row: Omit<NotificationRow, "highlight"> & { highlight: number }): NotificationRow => ({ ...row, highlight: row.highlight === 1 });
  // The counters behind every sync's unread counts, as last read: each room's
  // shared counter (push_room_counts, read once for all its members after a
  // message) and each user's own (push_counts, unchanged by others' messages).
  // Every write to them is below, and forgets what it changed.
  type UserCounter = { threadId: string; notifications: number; highlights: number; roomNotifications: number | null; roomHighlights: number | null };
  const roomCountsStmt = lazy(() => sqlite.query(`SELECT thread_id AS threadId, notifications, highlights FROM push_room_counts WHERE room_id = ?1`));
  const userCountsStmt = lazy(() => sqlite.query(
    `SELECT thread_id AS threadId, notifications, highlights, room_notifications AS roomNotifications, room_highlights AS roomHighlights
     FROM push_counts WHERE room_id = ?1 AND user_id = ?2`,
  ));
  const roomCounters = new Map<string, ThreadCounts[]>();
  const userCounters = new Map<string, UserCounter[]>();
  const CACHED_COUNTERS = 100_000;
  const counterKey = (userId: string, roomId: string) => `${roomId}\u0000${userId}`;
  const forget = (userId: string, roomId: string) => {
    userCounters.delete(counterKey(userId, roomId));
  };
  const roomCountersOf = (roomId: string): ThreadCounts[] => {
    let rows = roomCounters.get(roomId);
    if (!rows) {
      if (roomCounters.size >= CACHED_COUNTERS) roomCounters.clear();
      roomCounters.set(roomId, (rows = roomCountsStmt().all(roomId) as ThreadCounts[]));
    }
    return rows;
  };
  const userCountersOf = (userId: string, roomId: string): UserCounter[] => {
    const key = counterKey(userId, roomId);
    let rows = userCounters.get(key);
    if (!rows) {
      if (userCounters.size >= CACHED_COUNTERS) userCounters.clear();
      userCounters.set(key, (rows = userCountsStmt().all(roomId, userId) as UserCounter[]));
    }
    return rows;
  };
  return {
    /** Records the outcome shared by the room's joined members for one event and raises the room's count. */
    insertShared(event: PushEvent, highlight: boolean, actions: string): void {
      insertSharedStmt().run(event.streamPos, event.roomId, event.eventId, event.threadId, highlight ? 1 : 0, actions, event.ts);
      raiseRoomStmt().run(event.roomId, event.threadId, highlight ? 1 : 0);
      roomCounters.delete(event.roomId);
    },
    /** Records users' own outcomes for one event and adjusts their counters by the rows' deltas. */
    insertOwn(event: PushEvent, outcomes: OwnOutcome[]): void {
      const rows = JSON.stringify(outcomes.map((o) => [o.userId, o.notify ? 1 : 0, o.highlight ? 1 : 0, o.actions, o.notificationsDelta, o.highlightsDelta, o.joined ? 1 : 0]));
      insertOwnStmt().run(rows, event.streamPos, event.roomId, event.eventId, event.threadId, event.ts);
      adjustStmt().run(rows, event.roomId, event.threadId);
      for (const outcome of outcomes) forget(outcome.userId, event.roomId);
    },
    /**
     * The sender's counter takes back the shared outcome of their own event. No
     * row is kept for it: recounts and the notification list leave out the
     * user's own events by their sender (a row would cost three index pages a message).
     */
    takeBackFromSender(event: PushEvent, sender: string, highlight: boolean): void {
      takeBackStmt().run(event.roomId, sender, event.threadId, highlight ? -1 : 0);
      forget(sender, event.roomId);
    },
    /** The user's unread counts in a room, per thread (threads without any left out). */
    counts(userId: string, roomId: string, joined: boolean): ThreadCounts[] {
      const own = userCountersOf(userId, roomId);
      if (!joined) return own.filter((u) => u.notifications > 0).map(({ threadId, notifications, highlights }) => ({ threadId, notifications, highlights }));
      // A joined user's count: their own counter plus what the room's gained
      // since the counter was taken (room_notifications); a thread without a
      // counter of theirs began after they joined and counts whole.
      const byThread = new Map(own.map((u) => [u.threadId, u]));
      const counts: ThreadCounts[] = [];
      for (const room of roomCountersOf(roomId)) {
        const u = byThread.get(room.threadId);
        byThread.delete(room.threadId);
        const notifications = u === undefined ? room.notifications : u.notifications + (u.roomNotifications === null ? 0 : room.notifications - u.roomNotifications);
        const highlights = u === undefined ? room.highlights : u.highlights + (u.roomHighlights === null ? 0 : room.highlights - u.roomHighlights);
        if (notifications > 0) counts.push({ threadId: room.threadId, notifications, highlights });
      }
      for (const u of byThread.values()) if (u.notifications > 0) counts.push({ threadId: u.threadId, notifications: u.notifications, highlights: u.highlights });
      return counts;
    },
    /** The user joined: counts start from zero and follow the room's shared counts. */
    startCounting(userId: string, roomId: string): void {
      clearUserStmt().run(roomId, userId);
      followStmt().run(roomId, userId);
      forget(userId, roomId);
    },
    /** The user left: their counts stop following the room's. */
    stopCounting(userId: string, roomId: string): void {
      freezeStmt().run(roomId, userId);
      freezeMissingStmt().run(roomId, userId);
      forget(userId, roomId);
    },
    /** Sets a user's counts for a thread (after a recount); `joined`: they follow the room's from now on. */
    setCounts(userId: string, roomId: string, threadId: string, notifications: number, highlights: number, joined: boolean): void {
      setCountsStmt().run(roomId, userId, threadId, notifications, highlights, joined ? 1 : 0);
      forget(userId, roomId);
    },
    /** Shared outcomes in the room between two positions (exclusive), per thread. */
    sharedBetween(roomId: string, after: number, before: number, userId: string): ThreadCounts[] {
      return sharedAfterStmt().all(roomId, after, before, userId) as ThreadCounts[];
    },
    sharedThreadBetween(roomId: string, threadId: string, after: number, before: number, userId: string): Omit<ThreadCounts, "threadId"> {
      return sharedThreadAfterStmt().get(roomId, after, before, threadId, userId) as Omit<ThreadCounts, "threadId">;
    },
    /** What the user's own rows after `after` add to their counts, per thread. */
    ownAfter(userId: string, roomId: string, after: number): ThreadCounts[] {
      return ownAfterStmt().all(userId, roomId, after) as ThreadCounts[];
    },
    ownThreadAfter(userId: string, roomId: string, threadId: string, after: number): Omit<ThreadCounts, "threadId"> {
      return ownThreadAfterStmt().get(userId, roomId, after, threadId) as Omit<ThreadCounts, "threadId">;
    },
    /**
     * Deletes up to `limit` of the oldest rows (of each kind) recorded before
     * `cutoffTs` (rows are appended in time order, so they are a prefix); returns how many.
     */
    deleteOlderThan(cutoffTs: number, limit: number): number {
      const keptOwn = firstKeptOwnStmt().get(cutoffTs) as { id: number } | null;
      const ownBefore = keptOwn ? keptOwn.id : (lastOwnIdStmt().get() as { id: number }).id + 1;
      const keptShared = firstKeptSharedStmt().get(cutoffTs) as { pos: number } | null;
      const sharedBefore = keptShared ? keptShared.pos : (lastSharedStmt().get() as { pos: number }).pos + 1;
      return Math.max(deleteOwnBeforeStmt().run(ownBefore, limit).changes, deleteSharedBeforeStmt().run(sharedBefore, limit).changes);
    },
    /** The user's own notifying rows before `before`, newest first. */
    ownPage(userId: string, before: number, limit: number, onlyHighlight: boolean): NotificationRow[] {
      return (ownPageStmt().all(userId, before, onlyHighlight ? 1 : 0, limit) as Parameters<typeof toNotification>[0][]).map(toNotification);
    },
    /** Shared outcomes of a room in [from, to) that cover the user (no row of their own), newest first. */
    sharedPage(userId: string, roomId: string, from: number, to: number, limit: number, onlyHighlight: boolean): NotificationRow[] {
      return (sharedPageStmt().all(userId, roomId, from, to, onlyHighlight ? 1 : 0, limit) as Parameters<typeof toNotification>[0][]).map(toNotification);
    },
    /** Forgets the cached counters (after a rolled-back transaction). */
    dropCaches(): void {
      roomCounters.clear();
      userCounters.clear();
    },
    /** The spans [fromPos, toPos) in which the user was joined to a room (toPos null: still joined). */
    joinedSpans(userId: string): { roomId: string; fromPos: number; toPos: number | null }[] {
      return joinedSpansStmt().all(userId) as { roomId: string; fromPos: number; toPos: number | null }[];
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
