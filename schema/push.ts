// Push notifications (spec: Client-Server API, "Push Notifications"). The user's
// push rules are not here: they are the m.push_rules account data document
// (schema/sync.ts account_data), the one copy clients and the evaluator read.
//
// Most events notify most members of a room the same way (".m.rule.message"
// for everyone on the default rules). Such an outcome is stored once per event
// (room_push_actions) and counted once per room and thread (push_room_counts);
// only the members whose outcome differs (a mentioned member, someone with
// rules of their own) get a row of their own. The sender, whom the shared
// outcome would count, takes it back in their counter (push_counts); reads
// leave out the user's own events by their sender. A message in a
// thousand-member room is then a handful of rows, not two thousand.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The outcome shared by every member joined to the room when the event was
 * appended but the sender, except those with a row of their own in
 * event_push_actions for the event: at most one row per event, and only for
 * outcomes that notify.
 */
export const roomPushActions = sqliteTable(
  "room_push_actions",
  {
    /** The event's position in the server-wide stream. */
    streamPos: integer("stream_pos").primaryKey({ autoIncrement: false }),
    roomId: text("room_id").notNull(),
    eventId: text("event_id").notNull(),
    /** Thread root event id, or "main" for the main timeline (spec: "Threaded read receipts"). */
    threadId: text("thread_id").notNull(),
    highlight: integer("highlight", { mode: "boolean" }).notNull(),
    /** The matched rule's actions, as JSON (GET /notifications returns them). */
    actions: text("actions").notNull(),
    ts: integer("ts").notNull(),
  },
  // A read receipt recounts a range of the room; GET /notifications reads a member's joined spans.
  (table) => [index("room_push_actions_room").on(table.roomId, table.streamPos, table.threadId, table.highlight)],
);

/**
 * One user's own outcome for an event, where it is not the room's shared one
 * (room_push_actions): a member whose rules decided otherwise, an invitee who
 * is not joined, or every notified user of an event without a shared outcome.
 * `notify` false rows only take the user out of the shared outcome.
 */
export const eventPushActions = sqliteTable(
  "event_push_actions",
  {
    /** Increases with the stream position (rows are only appended); retention deletes by it. */
    id: integer("id").primaryKey({ autoIncrement: false }),
    userId: text("user_id").notNull(),
    /** The event's position in the server-wide stream. */
    streamPos: integer("stream_pos").notNull(),
    roomId: text("room_id").notNull(),
    eventId: text("event_id").notNull(),
    threadId: text("thread_id").notNull(),
    notify: integer("notify", { mode: "boolean" }).notNull(),
    highlight: integer("highlight", { mode: "boolean" }).notNull(),
    /** The user's matched rule's actions, as JSON. */
    actions: text("actions").notNull(),
    ts: integer("ts").notNull(),
    /**
     * What this row adds to the user's unread counts on top of the event's
     * shared outcome: own minus shared, or the whole own outcome when it does
     * not cover the user.
     */
    notificationsDelta: integer("notifications_delta").notNull(),
    highlightsDelta: integer("highlights_delta").notNull(),
  },
  (table) => [
    uniqueIndex("event_push_actions_user").on(table.userId, table.streamPos),
    index("event_push_actions_user_room").on(table.userId, table.roomId, table.streamPos),
  ],
);

/** Shared outcomes (room_push_actions) per room and thread since the room began: only ever raised. */
export const pushRoomCounts = sqliteTable(
  "push_room_counts",
  {
    roomId: text("room_id").notNull(),
    threadId: text("thread_id").notNull(),
    notifications: integer("notifications").notNull(),
    highlights: integer("highlights").notNull(),
  },
  (table) => [primaryKey({ columns: [table.roomId, table.threadId] })],
);

/**
 * Unread notification counts per user, room and thread. While the user is
 * joined the count is `notifications` plus the room's shared count
 * (push_room_counts) gained since `room_notifications` was taken; a thread
 * without a row counts all of the room's (it began after the user joined).
 * When the user leaves, the counts are frozen (room_* null). A read receipt
 * recounts from room_push_actions and event_push_actions.
 */
export const pushCounts = sqliteTable(
  "push_counts",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    threadId: text("thread_id").notNull(),
    notifications: integer("notifications").notNull(),
    highlights: integer("highlights").notNull(),
    /** push_room_counts of the room and thread when the row was (re)based; null when frozen. */
    roomNotifications: integer("room_notifications"),
    roomHighlights: integer("room_highlights"),
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
