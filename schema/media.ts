// The media repository (spec: Client-Server API, "Content repository").
// File contents live under <data_dir>/media, named by their SHA-256, so that
// identical uploads share one file; these tables hold what the files are.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One mxc://<server_name>/<media_id>; `sha256` is null while an async upload (/create) waits for its content. */
export const media = sqliteTable(
  "media",
  {
    mediaId: text("media_id").primaryKey(),
    userId: text("user_id").notNull(),
    createdTs: integer("created_ts").notNull(),
    /** For a created but not yet uploaded URI: when it expires (unused_expires_at). */
    expiresTs: integer("expires_ts"),
    sha256: text("sha256"),
    size: integer("size"),
    contentType: text("content_type"),
    uploadName: text("upload_name"),
    uploadedTs: integer("uploaded_ts"),
  },
  (table) => [index("media_user").on(table.userId), index("media_sha256").on(table.sha256)],
);

/** Thumbnails made on demand, one per (media, preset size and method). */
export const mediaThumbnails = sqliteTable(
  "media_thumbnails",
  {
    mediaId: text("media_id").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    method: text("method").notNull(),
    contentType: text("content_type").notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
  },
  (table) => [primaryKey({ columns: [table.mediaId, table.width, table.height, table.method] }), index("media_thumbnails_sha256").on(table.sha256)],
);
