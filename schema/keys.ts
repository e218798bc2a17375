// End-to-end encryption keys: the server stores and serves them, never reads them.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The identity keys a device uploaded (the signed device_keys object, as JSON). */
export const deviceKeys = sqliteTable(
  "device_keys",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    json: text("json").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.deviceId] })],
);

/** One-time keys; claiming one deletes it. */
export const oneTimeKeys = sqliteTable(
  "one_time_keys",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    algorithm: text("algorithm").notNull(),
    keyId: text("key_id").notNull(),
    json: text("json").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.deviceId, table.algorithm, table.keyId] })],
);

/** One fallback key per device and algorithm, handed out when no one-time key is left. */
export const fallbackKeys = sqliteTable(
  "fallback_keys",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    algorithm: text("algorithm").notNull(),
    keyId: text("key_id").notNull(),
    json: text("json").notNull(),
    used: integer("used", { mode: "boolean" }).notNull().default(false),
  },
  (table) => [primaryKey({ columns: [table.userId, table.deviceId, table.algorithm] })],
);

/** A user's device list changed at this stream position (keys uploaded, device deleted). */
export const deviceListChanges = sqliteTable(
  "device_list_changes",
  {
    streamPos: integer("stream_pos").primaryKey(),
    userId: text("user_id").notNull(),
  },
  (table) => [index("device_list_changes_user").on(table.userId, table.streamPos)],
);
