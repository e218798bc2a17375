// The media repository's rows (schema/media.ts). The files themselves are in
// media/files.ts; this store only says which media id is which file.
import type { Database } from "bun:sqlite";
import { and, eq, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { media, mediaThumbnails, users } from "../../schema";
import type { Db } from "./db";

export type MediaRow = typeof media.$inferSelect;
export type ThumbnailRow = typeof mediaThumbnails.$inferSelect;

export function createMediaStore(db: Db, sqlite: Database) {
  const blobInUse = (sha256: string): boolean =>
    db.select({ one: sql`1` }).from(media).where(eq(media.sha256, sha256)).limit(1).get() !== undefined ||
    db.select({ one: sql`1` }).from(mediaThumbnails).where(eq(mediaThumbnails.sha256, sha256)).limit(1).get() !== undefined;

  return {
    get(mediaId: string): MediaRow | undefined {
      return db.select().from(media).where(eq(media.mediaId, mediaId)).get();
    },
    insert(row: typeof media.$inferInsert): void {
      db.insert(media).values(row).run();
    },
    /** Fills in the content of a created URI; false if it already had content (nothing changes then). */
    complete(mediaId: string, content: { sha256: string; size: number; contentType: string | null; uploadName: string | null; uploadedTs: number }): boolean {
      const updated = db
        .update(media)
        .set({ ...content, expiresTs: null })
        .where(and(eq(media.mediaId, mediaId), isNull(media.sha256)))
        .returning({ mediaId: media.mediaId })
        .all();
      return updated.length === 1;
    },
    /** Created URIs of a user still waiting for content and not yet expired. */
    countPending(userId: string, now: number): number {
      const row = db
        .select({ n: sql<number>`count(*)` })
        .from(media)
        .where(and(eq(media.userId, userId), isNull(media.sha256), sql`${media.expiresTs} > ${now}`))
        .get();
      return row?.n ?? 0;
    },
    /** Bytes of content a user has uploaded (for the quota). */
    bytesUploadedBy(userId: string): number {
      const row = db.select({ total: sql<number | null>`sum(${media.size})` }).from(media).where(eq(media.userId, userId)).get();
      return row?.total ?? 0;
    },
    getThumbnail(mediaId: string, width: number, height: number, method: string): ThumbnailRow | undefined {
      return db
        .select()
        .from(mediaThumbnails)
        .where(and(eq(mediaThumbnails.mediaId, mediaId), eq(mediaThumbnails.width, width), eq(mediaThumbnails.height, height), eq(mediaThumbnails.method, method)))
        .get();
    },
    /** Records a thumbnail, replacing the row of one whose file had gone missing. */
    insertThumbnail(row: ThumbnailRow): void {
      db.insert(mediaThumbnails)
        .values(row)
        .onConflictDoUpdate({
          target: [mediaThumbnails.mediaId, mediaThumbnails.width, mediaThumbnails.height, mediaThumbnails.method],
          set: { contentType: row.contentType, sha256: row.sha256, size: row.size },
        })
        .run();
    },
    /** Uploaded media older than `beforeTs`, oldest first. */
    uploadedBefore(beforeTs: number): MediaRow[] {
      return db.select().from(media).where(and(isNotNull(media.sha256), lt(media.uploadedTs, beforeTs))).orderBy(media.uploadedTs).all();
    },
    /** Created URIs whose wait for content is over. */
    expiredPending(now: number): MediaRow[] {
      return db.select().from(media).where(and(isNull(media.sha256), lt(media.expiresTs, now))).all();
    },
    /**
     * Deletes a media id and its thumbnails; returns the files (by SHA-256) that
     * no row uses any more, for the caller to remove once this has committed.
     */
    delete(mediaId: string): string[] {
      const row = db.select().from(media).where(eq(media.mediaId, mediaId)).get();
      if (!row) return [];
      const thumbnails = db.select({ sha256: mediaThumbnails.sha256 }).from(mediaThumbnails).where(eq(mediaThumbnails.mediaId, mediaId)).all();
      db.delete(mediaThumbnails).where(eq(mediaThumbnails.mediaId, mediaId)).run();
      db.delete(media).where(eq(media.mediaId, mediaId)).run();
      const candidates = new Set([...(row.sha256 ? [row.sha256] : []), ...thumbnails.map((t) => t.sha256)]);
      return [...candidates].filter((sha256) => !blobInUse(sha256));
    },
    blobInUse,
    /**
     * Every media id of this server that an event's content (as stored: redacted
     * events have lost theirs) or a user's avatar mentions as mxc://<serverName>/<id>.
     * Events are read one at a time, so memory holds only the ids.
     */
    referencedMediaIds(serverName: string): Set<string> {
      const ids = new Set<string>();
      const prefix = `mxc://${serverName}/`;
      const pattern = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([A-Za-z0-9_-]+)`, "g");
      const collect = (text: string | null) => {
        if (text === null || !text.includes(prefix)) return;
        for (const match of text.matchAll(pattern)) ids.add(match[1]!);
      };
      for (const row of sqlite.query("SELECT pdu FROM events WHERE pdu LIKE '%mxc://%'").iterate() as IterableIterator<{ pdu: string }>) collect(row.pdu);
      for (const row of db.select({ avatarUrl: users.avatarUrl }).from(users).where(isNotNull(users.avatarUrl)).all()) collect(row.avatarUrl);
      return ids;
    },
    /** Whether any room has ever had encryption enabled (its events' media references are invisible here). */
    anyEncryptedRoom(): boolean {
      return sqlite.query("SELECT 1 FROM events WHERE type = 'm.room.encryption' LIMIT 1").get() !== null;
    },
  };
}

export type MediaStore = ReturnType<typeof createMediaStore>;
