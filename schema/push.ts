// Push notifications (spec: Client-Server API, "Push Notifications"). The user's
// push rules are not here: they are the m.push_rules account data document
// (schema/sync.ts account_data), the one copy clients and the evaluator read.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The outcome of the push rules for one user and one event that notifies them,
 * written in the event's transaction. Unread counts are the rows after the
 * user's read receipt; GET /notifications pages through them.
 */
export const eventPushActions = sqliteTable(
  "event_push_actions",
  {
    /**
     * Rows are appended in stream order: a rowid key keeps the table's writes at
     * its end, so that an event notifying a thousand members dirties few pages
     * besides those of the one index below.
     */
    id: integer("id").primaryKey({ autoIncrement: false }),
    userId: text("user_id").notNull(),
    /** The event's position in the server-wide stream. */
    streamPos: integer("stream_pos").notNull(),
    roomId: text("room_id").notNull(),
    eventId: text("event_id").notNull(),
    /** Thread root event id, or "main" for the main timeline (spec: "Threaded read receipts"). */
    threadId: text("thread_id").notNull(),
    highlight: integer("highlight", { mode: "boolean" }).notNull(),
    /** The matched rule's actions, as JSON (GET /notifications returns them). */
    actions: text("actions").notNull(),
    ts: integer("ts").notNull(),
  },
  // Counting a room's unread notifications is a range scan of this index alone.
  (table) => [index("event_push_actions_user").on(table.userId, table.roomId, table.streamPos, table.threadId, table.highlight)],
);

/** Pushers (spec: pusher.yaml): unique per (app_id, pushkey, user). */
export const pushers = sqliteTable(
  "pushers",
  {
    userId: text("user_id").notNull(),
    appId: text("app_id").notNull(),
    pushkey: text("pushkey").notNull(),
    kind: text("kind").notNull(),
    appDisplayName: text("app_display_name").notNull(),
    deviceDisplayName: text("device_display_name").notNull(),
    profileTag: text("profile_tag"),
    lang: text("lang").notNull(),
    /** The pusher's data object as JSON (url, format and whatever the client adds). */
    data: text("data").notNull(),
    /** When the pushkey was last set, in seconds (sent to the gateway as pushkey_ts). */
    pushkeyTs: integer("pushkey_ts").notNull(),
  },
  (table) => [uniqueIndex("pushers_key").on(table.appId, table.pushkey, table.userId), index("pushers_user").on(table.userId)],
);
