// The content repository (spec: Client-Server API, "Content repository"):
// authenticated downloads, thumbnails, config and URL previews under
// /_matrix/client/v1/media (v1.11), uploads under /_matrix/media, and the
// deprecated unauthenticated /_matrix/media/v3 downloads when configured.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError, notFound } from "../../http/errors";
import { fileResponse } from "../../http/file-response";
import { contentDisposition, servedContentType } from "../../media/disposition";
import { findUploadedMedia, MEDIA_RESPONSE_HEADERS, parseTimeoutMs, type UploadedMedia } from "../../media/download";
import { previewUrl } from "../../media/preview-url";
import { thumbnailOf, type ServedImage, type ThumbnailRequest } from "../../media/thumbnails";
import { createPendingMedia, uploadMedia, uploadPendingMedia, type UploadContent } from "../../media/upload";

const MEDIA_PREFIX = "/_matrix/media";
/** Paths whose request body is the file itself, not JSON: app.ts leaves it unread for these. */
const RAW_BODY_PATH = /^\/_matrix\/media\/(v3|r0)\/upload(\/|$)/;

export function takesRawBody(path: string): boolean {
  return RAW_BODY_PATH.test(path);
}

const MediaParams = t.Object({ serverName: t.String(), mediaId: t.String() });
const NamedMediaParams = t.Object({ serverName: t.String(), mediaId: t.String(), fileName: t.String() });
const DownloadQuery = t.Object({ timeout_ms: t.Optional(t.String()) });
const ThumbnailQuery = t.Object({
  width: t.Optional(t.String()),
  height: t.Optional(t.String()),
  method: t.Optional(t.String()),
  animated: t.Optional(t.String()),
  timeout_ms: t.Optional(t.String()),
});
const UploadQuery = t.Object({ filename: t.Optional(t.String()) });

function uploadContentOf(request: Request, filename: string | undefined): UploadContent {
  const length = request.headers.get("content-length");
  return {
    body: request.body,
    contentType: request.headers.get("content-type"),
    uploadName: filename ?? null,
    declaredLength: length === null || !/^\d+$/.test(length) ? null : Number(length),
  };
}

/** width/height: positive integers (spec: 400 for "non-integer dimensions or negatively-sized images"). */
function dimension(name: string, text: string | undefined): number {
  if (text === undefined) throw new MatrixError(400, "M_MISSING_PARAM", `Missing query parameter '${name}'`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${name} must be a positive integer`);
  }
  return value;
}

function thumbnailRequestOf(query: { width?: string; height?: string; method?: string; animated?: string }): ThumbnailRequest {
  const method = query.method ?? "scale";
  if (method !== "crop" && method !== "scale") throw new MatrixError(400, "M_INVALID_PARAM", "method must be crop or scale");
  if (query.animated !== undefined && query.animated !== "true" && query.animated !== "false") {
    throw new MatrixError(400, "M_INVALID_PARAM", "animated must be true or false");
  }
  return { width: dimension("width", query.width), height: dimension("height", query.height), method, animated: query.animated === "true" };
}

/** The stored file, with the content repository's headers, honouring Range. */
async function serveFile(hs: Homeserver, file: { sha256: string; size: number }, contentType: string, disposition: string, request: Request): Promise<Response> {
  const path = hs.media.files.path(file.sha256);
  // The row can outlive its file for a moment while a purge runs.
  if (!(await Bun.file(path).exists())) throw notFound("Media not found");
  const headers = { ...MEDIA_RESPONSE_HEADERS, "Content-Type": contentType, "Content-Disposition": disposition };
  return fileResponse(path, file.size, headers, request.headers.get("range"));
}

function serveDownload(hs: Homeserver, media: UploadedMedia, fileName: string | null, request: Request): Promise<Response> {
  const contentType = servedContentType(media.contentType);
  return serveFile(hs, media, contentType, contentDisposition(contentType, fileName), request);
}

function serveThumbnail(hs: Homeserver, image: ServedImage, request: Request): Promise<Response> {
  const extension = image.contentType.slice("image/".length);
  // Thumbnails are always inline (spec v1.12), and always one of the inline-safe image types.
  return serveFile(hs, image, image.contentType, `inline; filename="thumbnail.${extension}"`, request);
}

/** Download, thumbnail and config routes; mounted authenticated (v1) and, if configured, without auth (v3). */
function mediaReadRoutes(hs: Homeserver) {
  return new Elysia()
    .get(
      "/download/:serverName/:mediaId",
      async ({ params, query, request }) => {
        const media = await findUploadedMedia(hs, params.serverName, params.mediaId, parseTimeoutMs(query.timeout_ms));
        return serveDownload(hs, media, media.uploadName, request);
      },
      { params: MediaParams, query: DownloadQuery },
    )
    .get(
      "/download/:serverName/:mediaId/:fileName",
      async ({ params, query, request }) => {
        const media = await findUploadedMedia(hs, params.serverName, params.mediaId, parseTimeoutMs(query.timeout_ms));
        return serveDownload(hs, media, params.fileName, request);
      },
      { params: NamedMediaParams, query: DownloadQuery },
    )
    .get(
      "/thumbnail/:serverName/:mediaId",
      async ({ params, query, request }) => {
        const thumbnail = thumbnailRequestOf(query);
        const media = await findUploadedMedia(hs, params.serverName, params.mediaId, parseTimeoutMs(query.timeout_ms));
        return serveThumbnail(hs, await thumbnailOf(hs, media, thumbnail), request);
      },
      { params: MediaParams, query: ThumbnailQuery },
    );
}

const mediaConfig = (hs: Homeserver) => ({ "m.upload.size": hs.config.media.max_upload_bytes });

const PreviewQuery = t.Object({ url: t.Optional(t.String()), ts: t.Optional(t.String()) });

/** GET /_matrix/client/v1/media/*: everything needs an access token (spec v1.11). */
export function authenticatedMediaApi(hs: Homeserver) {
  return new Elysia({ name: "api.media.authenticated", seed: hs.instanceId, prefix: "/_matrix/client/v1/media" })
    .use(authenticated(hs, { allowGuests: true }))
    .use(mediaReadRoutes(hs))
    .get("/config", () => mediaConfig(hs))
    .get("/preview_url", ({ query, requester }) => previewUrl(hs, requester.userId, query.url), { query: PreviewQuery });
}

/**
 * Uploads under /_matrix/media (not yet moved to /_matrix/client by the spec),
 * and the deprecated config and preview_url there, which always needed a token.
 */
export function mediaUploadApi(hs: Homeserver, version: "v3" | "r0") {
  return new Elysia({ name: "api.media.upload", seed: `${hs.instanceId}${version}`, prefix: `${MEDIA_PREFIX}/${version}` })
    .use(authenticated(hs))
    .post(
      "/upload",
      async ({ query, request, requester }) => {
        hs.rateLimiter.take("media_upload", requester.userId);
        return { content_uri: await uploadMedia(hs, requester.userId, uploadContentOf(request, query.filename)) };
      },
      { query: UploadQuery },
    )
    .put(
      "/upload/:serverName/:mediaId",
      async ({ params, query, request, requester }) => {
        hs.rateLimiter.take("media_upload", requester.userId);
        await uploadPendingMedia(hs, requester.userId, params.serverName, params.mediaId, uploadContentOf(request, query.filename));
        return {};
      },
      { params: MediaParams, query: UploadQuery },
    )
    .get("/config", () => mediaConfig(hs))
    .get("/preview_url", ({ query, requester }) => previewUrl(hs, requester.userId, query.url), { query: PreviewQuery });
}

/** POST /_matrix/media/v1/create (spec v1.7). */
export function mediaCreateApi(hs: Homeserver) {
  return new Elysia({ name: "api.media.create", seed: hs.instanceId, prefix: `${MEDIA_PREFIX}/v1` })
    .use(authenticated(hs))
    .post("/create", ({ requester }) => {
      hs.rateLimiter.take("media_upload", requester.userId);
      return createPendingMedia(hs, requester.userId);
    });
}

/**
 * The deprecated /_matrix/media/v3 (and r0) download and thumbnail, which need
 * no access token (as before v1.11). Mounted only with media.serve_unauthenticated.
 */
export function legacyMediaApi(hs: Homeserver, version: "v3" | "r0") {
  return new Elysia({ name: "api.media.legacy", seed: `${hs.instanceId}${version}`, prefix: `${MEDIA_PREFIX}/${version}` }).use(mediaReadRoutes(hs));
}
