// Per-user data that sync delivers besides room events: filters, account data,
// receipts, send-to-device messages and presence. Rows that sync must notice
// carry a stream position from the one server-wide stream.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const filters = sqliteTable(
  "filters",
  {
    userId: text("user_id").notNull(),
    filterId: text("filter_id").notNull(),
    /** The filter as uploaded, canonical JSON. */
    json: text("json").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.filterId] })],
);

/** Global account data has room_id "". */
export const accountData = sqliteTable(
  "account_data",
  {
    userId: text("user_id").notNull(),
    roomId: text("room_id").notNull(),
    type: text("type").notNull(),
    content: text("content").notNull(),
    streamPos: integer("stream_pos").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.roomId, table.type] }), index("account_data_user_pos").on(table.userId, table.streamPos)],
);

/** The latest receipt of each user per room, type and thread ("" for unthreaded). */
export const receipts = sqliteTable(
  "receipts",
  {
    roomId: text("room_id").notNull(),
    receiptType: text("receipt_type").notNull(),
    userId: text("user_id").notNull(),
    threadId: text("thread_id").notNull(),
    eventId: text("event_id").notNull(),
    ts: integer("ts").notNull(),
    streamPos: integer("stream_pos").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.roomId, table.receiptType, table.userId, table.threadId] }),
    index("receipts_room_pos").on(table.roomId, table.streamPos),
  ],
);

/** Send-to-device messages waiting for their device; deleted once the device syncs past them. */
export const toDeviceMessages = sqliteTable(
  "to_device_messages",
  {
    streamPos: integer("stream_pos").primaryKey(),
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    sender: text("sender").notNull(),
    type: text("type").notNull(),
    content: text("content").notNull(),
  },
  (table) => [index("to_device_target").on(table.userId, table.deviceId, table.streamPos)],
);

export const presence = sqliteTable(
  "presence",
  {
    userId: text("user_id").primaryKey(),
    state: text("state").notNull(),
    statusMsg: text("status_msg"),
    lastActiveTs: integer("last_active_ts").notNull(),
    streamPos: integer("stream_pos").notNull(),
  },
  (table) => [index("presence_pos").on(table.streamPos)],
);

/**
 * The highest stream position ever handed out in a committed write, kept where
 * deleting rows (acknowledged send-to-device messages) could otherwise lower the
 * maximum the counter restarts from, and with it invalidate clients' tokens.
 */
export const streamMark = sqliteTable("stream_mark", {
  id: integer("id").primaryKey(),
  pos: integer("pos").notNull(),
});
