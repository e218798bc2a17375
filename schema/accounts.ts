// Accounts, devices and their credentials.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  userId: text("user_id").primaryKey(),
  /** argon2id hash; null for accounts that cannot log in with a password (guests, passwordless). */
  passwordHash: text("password_hash"),
  isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
  isGuest: integer("is_guest", { mode: "boolean" }).notNull().default(false),
  deactivated: integer("deactivated", { mode: "boolean" }).notNull().default(false),
  createdTs: integer("created_ts").notNull(),
  displayName: text("display_name"),
  avatarUrl: text("avatar_url"),
});

export const devices = sqliteTable(
  "devices",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    displayName: text("display_name"),
    lastSeenTs: integer("last_seen_ts"),
    lastSeenIp: text("last_seen_ip"),
    createdTs: integer("created_ts").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.deviceId] })],
);

/** Access tokens, stored only as SHA-256 hashes. One device can hold several (e.g. during a refresh). */
export const accessTokens = sqliteTable(
  "access_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    createdTs: integer("created_ts").notNull(),
    /** Set for refreshable tokens; an expired token answers M_UNKNOWN_TOKEN with soft_logout. */
    expiresTs: integer("expires_ts"),
    /** The refresh token issued together with this access token. */
    refreshTokenHash: text("refresh_token_hash"),
    /** Until this token is first used, the refresh token it was refreshed from stays valid. */
    replacesRefreshHash: text("replaces_refresh_hash"),
  },
  (table) => [index("access_tokens_device").on(table.userId, table.deviceId)],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    createdTs: integer("created_ts").notNull(),
    /** The refresh token this one was issued for; revoked once this one or its access token is used. */
    replacesHash: text("replaces_hash"),
  },
  (table) => [index("refresh_tokens_device").on(table.userId, table.deviceId)],
);

/** Registration tokens (spec: m.login.registration_token; Synapse admin API shape). */
export const registrationTokens = sqliteTable("registration_tokens", {
  token: text("token").primaryKey(),
  usesAllowed: integer("uses_allowed"),
  completed: integer("completed").notNull().default(0),
  expiryTime: integer("expiry_time"),
  /** The one-time token printed on a first start: the account it creates is an admin. */
  grantsAdmin: integer("grants_admin", { mode: "boolean" }).notNull().default(false),
});
