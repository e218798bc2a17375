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

/**
 * A user's cross-signing keys (spec: "Cross-signing"): one row per usage
 * (`master`, `self_signing`, `user_signing`), the uploaded key object as JSON.
 */
export const crossSigningKeys = sqliteTable(
  "cross_signing_keys",
  {
    userId: text("user_id").notNull(),
    usage: text("usage").notNull(),
    /** The unpadded-base64 public key, i.e. the `ed25519:<key>` id without its prefix. */
    publicKey: text("public_key").notNull(),
    json: text("json").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.usage] })],
);

/**
 * Signatures uploaded through /keys/signatures/upload, kept apart from the
 * signed objects so a key re-upload does not lose them. The target is a
 * device (its device id) or a cross-signing key (its public key).
 */
export const keySignatures = sqliteTable(
  "key_signatures",
  {
    targetUserId: text("target_user_id").notNull(),
    targetKeyId: text("target_key_id").notNull(),
    signerUserId: text("signer_user_id").notNull(),
    /** `ed25519:<device id or public key>` as it appears in `signatures`. */
    signerKeyId: text("signer_key_id").notNull(),
    signature: text("signature").notNull(),
  },
  (table) => [primaryKey({ columns: [table.targetUserId, table.targetKeyId, table.signerUserId, table.signerKeyId] })],
);

/** Server-side key backup versions (spec: "Server-side key backups"). */
export const roomKeyBackupVersions = sqliteTable(
  "room_key_backup_versions",
  {
    userId: text("user_id").notNull(),
    version: integer("version").notNull(),
    algorithm: text("algorithm").notNull(),
    authData: text("auth_data").notNull(),
    /** Changes whenever the keys stored in this version change. */
    etag: integer("etag").notNull().default(0),
    deleted: integer("deleted", { mode: "boolean" }).notNull().default(false),
  },
  (table) => [primaryKey({ columns: [table.userId, table.version] })],
);

/** One backed-up megolm session per (version, room, session). */
export const roomKeyBackupSessions = sqliteTable(
  "room_key_backup_sessions",
  {
    userId: text("user_id").notNull(),
    version: integer("version").notNull(),
    roomId: text("room_id").notNull(),
    sessionId: text("session_id").notNull(),
    firstMessageIndex: integer("first_message_index").notNull(),
    forwardedCount: integer("forwarded_count").notNull(),
    isVerified: integer("is_verified", { mode: "boolean" }).notNull(),
    sessionData: text("session_data").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.version, table.roomId, table.sessionId] })],
);

/** A user's dehydrated device (MSC3814): at most one, with its opaque pickled data. */
export const dehydratedDevices = sqliteTable("dehydrated_devices", {
  userId: text("user_id").primaryKey(),
  deviceId: text("device_id").notNull(),
  deviceData: text("device_data").notNull(),
});
