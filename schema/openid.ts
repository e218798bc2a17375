// OpenID tokens (spec: Client-Server API, "OpenID"): short-lived tokens a user
// hands to a third party (a widget, an integration manager), which asks this
// server who they belong to. Stored only as SHA-256 hashes, like access tokens.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const openidTokens = sqliteTable(
  "openid_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id").notNull(),
    expiresTs: integer("expires_ts").notNull(),
  },
  (table) => [index("openid_tokens_expiry").on(table.expiresTs)],
);
