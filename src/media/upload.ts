// Uploads (spec: POST /_matrix/media/v3/upload, POST /_matrix/media/v1/create,
// PUT /_matrix/media/v3/upload/{serverName}/{mediaId}).
import type { Homeserver } from "../homeserver";
import { forbidden, MatrixError, notFound } from "../http/errors";
import { FileTooLargeError, type StoredFile } from "./files";
import { localMediaId, mxcUri, newMediaId } from "./ids";

export interface UploadContent {
  body: ReadableStream<Uint8Array> | null;
  /** The Content-Type header as sent; null when absent. */
  contentType: string | null;
  /** The `filename` query parameter. */
  uploadName: string | null;
  /** The Content-Length header, when sent: lets a too large upload be refused before reading it. */
  declaredLength: number | null;
}

const tooLarge = (limit: number) => new MatrixError(413, "M_TOO_LARGE", `Upload is larger than the limit of ${limit} bytes`);
const overQuota = () => forbidden("Cannot upload this content: your media quota is used up");

/** POST /upload: stores the content under a new media id and returns its mxc URI. */
export async function uploadMedia(hs: Homeserver, userId: string, content: UploadContent): Promise<string> {
  const stored = await storeContent(hs, userId, content);
  const mediaId = newMediaId();
  const now = Date.now();
  hs.store.transaction(() =>
    hs.store.media.insert({
      mediaId,
      userId,
      createdTs: now,
      sha256: stored.sha256,
      size: stored.size,
      contentType: content.contentType,
      uploadName: content.uploadName,
      uploadedTs: now,
    }),
  );
  return mxcUri(hs.config.server_name, mediaId);
}

/**
 * Content the server fetched itself (URL preview images): stored like an
 * upload by `userId`. It counts towards their quota but is never refused by it.
 */
export async function storeFetchedMedia(hs: Homeserver, userId: string, bytes: Uint8Array, contentType: string): Promise<string> {
  const stored = await hs.media.files.storeBytes(bytes);
  const mediaId = newMediaId();
  const now = Date.now();
  hs.store.transaction(() =>
    hs.store.media.insert({ mediaId, userId, createdTs: now, sha256: stored.sha256, size: stored.size, contentType, uploadName: null, uploadedTs: now }),
  );
  return mxcUri(hs.config.server_name, mediaId);
}

/**
 * POST /create: a media id whose content comes later. A user may hold only
 * `max_pending_uploads` of them at once (spec: 429 M_LIMIT_EXCEEDED).
 */
export function createPendingMedia(hs: Homeserver, userId: string): { content_uri: string; unused_expires_at: number } {
  const now = Date.now();
  if (hs.store.media.countPending(userId, now) >= hs.config.media.max_pending_uploads) {
    throw new MatrixError(429, "M_LIMIT_EXCEEDED", "Too many pending media uploads", { retry_after_ms: 60_000 }, { "Retry-After": "60" });
  }
  const mediaId = newMediaId();
  const expiresTs = now + hs.config.media.pending_upload_lifetime_ms;
  hs.store.transaction(() => hs.store.media.insert({ mediaId, userId, createdTs: now, expiresTs }));
  return { content_uri: mxcUri(hs.config.server_name, mediaId), unused_expires_at: expiresTs };
}

/**
 * PUT /upload/{serverName}/{mediaId}: the content of a created media id. Only
 * its creator may upload, only once (409 M_CANNOT_OVERWRITE_MEDIA), and only
 * before it expires (404 M_NOT_FOUND).
 */
export async function uploadPendingMedia(hs: Homeserver, userId: string, serverName: string, mediaIdParam: string, content: UploadContent): Promise<void> {
  const mediaId = localMediaId(hs.config.server_name, serverName, mediaIdParam);
  const checkTarget = () => {
    const row = hs.store.media.get(mediaId);
    if (!row) throw notFound("Unknown media ID");
    if (row.userId !== userId) throw forbidden("This media ID was created by another user");
    if (row.sha256 !== null) throw new MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded");
    if (row.expiresTs !== null && row.expiresTs <= Date.now()) throw notFound("This media ID has expired");
  };
  checkTarget();
  const stored = await storeContent(hs, userId, content);
  let completed = false;
  try {
    hs.store.transaction(() => {
      // Checked again: another upload of the same id may have finished while this one streamed.
      checkTarget();
      completed = hs.store.media.complete(mediaId, {
        sha256: stored.sha256,
        size: stored.size,
        contentType: content.contentType,
        uploadName: content.uploadName,
        uploadedTs: Date.now(),
      });
      if (!completed) throw new MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded");
    });
  } finally {
    if (!completed) await removeIfUnused(hs, stored.sha256);
  }
  hs.store.afterCommit(() => hs.media.uploads.uploaded(mediaId));
}

/** Streams the body to a file within the size limit and the user's quota. */
async function storeContent(hs: Homeserver, userId: string, content: UploadContent): Promise<StoredFile> {
  const { max_upload_bytes: limit, user_quota_bytes: quota } = hs.config.media;
  if (content.declaredLength !== null && content.declaredLength > limit) throw tooLarge(limit);
  const usedBefore = quota === null ? 0 : hs.store.media.bytesUploadedBy(userId);
  if (quota !== null && usedBefore + (content.declaredLength ?? 0) > quota) throw overQuota();
  let stored: StoredFile;
  try {
    stored = await hs.media.files.storeStream(content.body, limit);
  } catch (error) {
    if (error instanceof FileTooLargeError) throw tooLarge(limit);
    throw error;
  }
  // Without a Content-Length the size is known only now; other uploads may also have finished meanwhile.
  if (quota !== null && hs.store.media.bytesUploadedBy(userId) + stored.size > quota) {
    await removeIfUnused(hs, stored.sha256);
    throw overQuota();
  }
  return stored;
}

/** Removes a stored file that no media row uses (an upload that was refused after it was written). */
async function removeIfUnused(hs: Homeserver, sha256: string): Promise<void> {
  if (!hs.store.media.blobInUse(sha256)) await hs.media.files.remove(sha256);
}
