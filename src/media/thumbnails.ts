// Thumbnails (spec: Client-Server API, "Thumbnails"). They are made on demand
// at one of the spec's recommended sizes, stored like uploads (by SHA-256) and
// recorded in media_thumbnails, so each is made once.
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { CorruptImageError } from "./corrupt-image";
import type { UploadedMedia } from "./download";
import { probeImage, type ImageFormat } from "./image-probe";

export type ThumbnailMethod = "crop" | "scale";

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: ThumbnailMethod;
  /** true: an animated thumbnail is welcome; false or absent: it must not be animated (spec v1.11). */
  animated: boolean;
}

/** What to serve: a stored file (the original or a thumbnail) and its type. */
export interface ServedImage {
  sha256: string;
  size: number;
  contentType: string;
}

interface Preset {
  width: number;
  height: number;
  method: ThumbnailMethod;
}

/** The sizes the spec recommends (and Synapse makes), smallest first. */
export const THUMBNAIL_PRESETS: readonly Preset[] = [
  { width: 32, height: 32, method: "crop" },
  { width: 96, height: 96, method: "crop" },
  { width: 320, height: 240, method: "scale" },
  { width: 640, height: 480, method: "scale" },
  { width: 800, height: 600, method: "scale" },
];

const MIME: Record<ImageFormat, string> = { jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp" };

/** The spec's 400 for content that cannot be thumbnailed (not an image, or a damaged one). */
const cannotThumbnail = () => new MatrixError(400, "M_UNKNOWN", "Cannot generate thumbnails for the requested content");

/**
 * The smallest preset at least as large as the request ("Servers MUST NOT
 * return a smaller thumbnail than requested"), preferring the requested
 * method; null when none is large enough (the original is served then).
 */
export function choosePreset(width: number, height: number, method: ThumbnailMethod): Preset | null {
  const fits = (preset: Preset) => preset.width >= width && preset.height >= height;
  return THUMBNAIL_PRESETS.find((preset) => preset.method === method && fits(preset)) ?? THUMBNAIL_PRESETS.find(fits) ?? null;
}

/**
 * The cache key of a static, full-size rendering: what an animated GIF gets
 * when the original itself would be the answer but animation is not wanted.
 */
const FULL_SIZE: Preset = { width: 0, height: 0, method: "scale" };

/** Bytes read to find an image's header: enough for JPEGs with large EXIF or ICC segments before the frame. */
const HEADER_BYTES = 512 * 1024;

export async function thumbnailOf(hs: Homeserver, media: UploadedMedia, request: ThumbnailRequest): Promise<ServedImage> {
  const path = hs.media.files.path(media.sha256);
  const header = probeImage(new Uint8Array(await Bun.file(path).slice(0, HEADER_BYTES).arrayBuffer()));
  if (header === null) throw cannotThumbnail();
  if (header.width * header.height > hs.config.media.max_image_pixels) {
    throw new MatrixError(413, "M_TOO_LARGE", "The image is too large to thumbnail");
  }
  const original: ServedImage = { sha256: media.sha256, size: media.size, contentType: MIME[header.format] };
  // A GIF may be animated; the original is only an acceptable answer when animation is.
  const originalIsStatic = header.format !== "gif" || request.animated;
  // "When the content is smaller than the requested dimensions, servers should return the original content."
  if (originalIsStatic && header.width <= request.width && header.height <= request.height) return original;

  const chosen = choosePreset(request.width, request.height, request.method);
  const target = chosen === null ? null : targetSize(header, chosen);
  if (target === null && originalIsStatic) return original; // nothing to shrink or cut
  const preset = target === null ? FULL_SIZE : chosen!;
  const cached = hs.store.media.getThumbnail(media.mediaId, preset.width, preset.height, preset.method);
  if (cached && (await Bun.file(hs.media.files.path(cached.sha256)).exists())) return cached;

  // Decoding a damaged image costs as much as a good one: remember that it failed.
  if (hs.media.thumbnails.knownUndecodable(media.sha256)) throw cannotThumbnail();
  const key = `${media.mediaId}/${preset.width}x${preset.height}/${preset.method}`;
  return hs.media.thumbnails.once(key, async () => {
    // Photographs stay JPEG; everything else becomes PNG, which keeps transparency (as Synapse does).
    const output = header.format === "jpeg" ? "jpeg" : "png";
    let encoded: Uint8Array;
    try {
      encoded = await hs.media.thumbnails.render({
        path,
        format: header.format,
        maxPixels: hs.config.media.max_image_pixels,
        target,
        output,
      });
    } catch (error) {
      if (!(error instanceof CorruptImageError)) throw error;
      hs.media.thumbnails.rememberUndecodable(media.sha256);
      throw cannotThumbnail();
    }
    const stored = await hs.media.files.storeBytes(encoded);
    const row = { mediaId: media.mediaId, ...preset, contentType: `image/${output}`, sha256: stored.sha256, size: stored.size };
    hs.store.transaction(() => hs.store.media.insertThumbnail(row));
    return row;
  });
}

/**
 * The thumbnail's size for a preset, never larger than the image (spec:
 * "Servers MUST NOT upscale thumbnails"); null when the image needs neither
 * shrinking nor cutting.
 *  - scale: the image shrunk to fit inside the preset, keeping its aspect ratio;
 *  - crop: the preset's aspect ratio, cut from the middle of the image, then
 *    shrunk to the preset size (or kept at the cut size when that is smaller).
 */
export function targetSize(image: { width: number; height: number }, preset: Preset): { width: number; height: number; crop: boolean } | null {
  if (preset.method === "scale") {
    const factor = Math.min(preset.width / image.width, preset.height / image.height);
    if (factor >= 1) return null;
    return { width: Math.max(1, Math.round(image.width * factor)), height: Math.max(1, Math.round(image.height * factor)), crop: false };
  }
  if (image.width >= preset.width && image.height >= preset.height) return { width: preset.width, height: preset.height, crop: true };
  const aspect = preset.width / preset.height;
  const width = image.width / image.height > aspect ? Math.max(1, Math.round(image.height * aspect)) : image.width;
  const height = image.width / image.height > aspect ? image.height : Math.max(1, Math.round(image.width / aspect));
  if (width === image.width && height === image.height) return null;
  return { width, height, crop: true };
}
