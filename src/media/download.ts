// Finding uploaded media for download and thumbnails (spec: GET
// /_matrix/client/v1/media/download and /thumbnail, and their deprecated
// /_matrix/media/v3 twins).
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import type { MediaRow } from "../store/media";
import { localMediaId } from "./ids";

/** timeout_ms defaults to 20 s (spec); the server caps it, as the spec asks it to. */
export const DEFAULT_WAIT_MS = 20_000;
const MAX_WAIT_MS = 60_000;

/**
 * Headers on every media response. The Content-Security-Policy is the spec's
 * recommendation plus `media-src 'self'` (so that audio and video files
 * opened directly still play); CORP lets web clients embed media across
 * origins (spec v1.4); nosniff stops browsers second-guessing the type.
 */
export const MEDIA_RESPONSE_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
  "X-Content-Type-Options": "nosniff",
  "Cross-Origin-Resource-Policy": "cross-origin",
  // Content never changes under a media id; a purge makes it disappear, hence not "immutable".
  "Cache-Control": "public, max-age=86400, s-maxage=86400",
};

export type UploadedMedia = MediaRow & { sha256: string; size: number };

/**
 * The media with this id once its content is there. A created URI still
 * waiting for content is waited for up to `timeoutMs`, then 504
 * M_NOT_YET_UPLOADED; unknown, expired or remote ids are 404 M_NOT_FOUND.
 */
export async function findUploadedMedia(hs: Homeserver, serverName: string, mediaIdParam: string, timeoutMs: number): Promise<UploadedMedia> {
  const mediaId = localMediaId(hs.config.server_name, serverName, mediaIdParam);
  const deadline = Date.now() + Math.min(Math.max(timeoutMs, 0), MAX_WAIT_MS);
  for (;;) {
    const row = hs.store.media.get(mediaId);
    if (!row) throw notFound("Media not found");
    if (row.sha256 !== null && row.size !== null) return row as UploadedMedia;
    const now = Date.now();
    if (row.expiresTs !== null && row.expiresTs <= now) throw notFound("Media not found");
    if (now >= deadline || hs.media.uploads.closed) throw new MatrixError(504, "M_NOT_YET_UPLOADED", "Content has not yet been uploaded");
    await hs.media.uploads.wait(mediaId, deadline - now);
  }
}

/** The timeout_ms query parameter: a non-negative integer, or 400 M_INVALID_PARAM. */
export function parseTimeoutMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS;
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < 0) throw new MatrixError(400, "M_INVALID_PARAM", "timeout_ms must be a non-negative integer");
  return value;
}
