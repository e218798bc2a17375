// Push notifications (spec: Client-Server API, "Push Notifications"). The user's
// push rules are not here: they are the m.push_rules account data document
// (schema/sync.ts account_data), the one copy clients and the evaluator read.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The outcome of the push rules for one user and one event that notifies them,
 * written in the event's transaction; GET /notifications pages through them.
 * Rows are appended in stream order and the index is by room and position, so
 * that an event notifying a thousand members writes a few contiguous pages,
 * not a page per member.
 */
export const eventPushActions = sqliteTable(
  "event_push_actions",
  {
    /** Increases with the stream position (rows are only appended); /notifications pages by it. */
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
  (table) => [index("event_push_actions_room").on(table.roomId, table.streamPos, table.userId, table.threadId, table.highlight)],
);

/**
 * Unread notification counts per user, room and thread: raised with each event
 * that notifies, recounted from event_push_actions when a read receipt moves.
 * Keyed room first, so that one room's counters sit together.
 */
export const pushCounts = sqliteTable(
  "push_counts",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    threadId: text("thread_id").notNull(),
    notifications: integer("notifications").notNull(),
    highlights: integer("highlights").notNull(),
  },
  (table) => [primaryKey({ columns: [table.roomId, table.userId, table.threadId] })],
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
    /** The device that set it: the pusher goes when the device does (logout), as Synapse does with its access token. */
    deviceId: text("device_id"),
    /** When the pushkey was last set, in seconds (sent to the gateway as pushkey_ts). */
    pushkeyTs: integer("pushkey_ts").notNull(),
  },
  (table) => [uniqueIndex("pushers_key").on(table.appId, table.pushkey, table.userId), index("pushers_user").on(table.userId)],
);
