// URL previews (spec: GET /_matrix/client/v1/media/preview_url). Off by default
// (media.url_preview.enabled): the server then answers 403 M_FORBIDDEN. When on,
// the page is fetched with safe-fetch.ts, its Open Graph tags returned, and its
// og:image (or the URL itself, when it is an image) stored as media and
// returned as an mxc:// URI with its type, size and dimensions.
import { outboundTls } from "../http/outbound";
import type { Homeserver } from "../homeserver";
import { forbidden, MatrixError } from "../http/errors";
import { perInstance } from "../util/per-instance";
import { probeImage } from "./image-probe";
import { openGraphOf } from "./open-graph";
import { safeFetch, type FetchedResource, type FetchLimits } from "./safe-fetch";
import { storeFetchedMedia } from "./upload";

type Preview = Record<string, string | number>;

/** Previews are kept for an hour (as Synapse does), per URL, for at most CACHE_SIZE URLs. */
const CACHE_MS = 60 * 60 * 1000;
const CACHE_SIZE = 1000;
const cacheOf = perInstance<string, { expires: number; preview: Promise<Preview> }>();

export async function previewUrl(hs: Homeserver, userId: string, url: string | undefined): Promise<Preview> {
  const settings = hs.config.media.url_preview;
  if (!settings.enabled) throw forbidden("URL previews are disabled on this server");
  if (url === undefined || url === "") throw new MatrixError(400, "M_MISSING_PARAM", "Missing query parameter 'url'");
  const cache = cacheOf(hs);
  const now = Date.now();
  const cached = cache.get(url);
  if (cached && cached.expires > now) return cached.preview;
  const limits: FetchLimits = { maxBytes: settings.max_bytes, timeoutMs: settings.timeout_ms, allowPrivateAddresses: settings.allow_private_addresses, tls: outboundTls(hs.config) };
  const preview = buildPreview(hs, userId, url, limits);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(url, { expires: now + CACHE_MS, preview });
  // A failure is not cached: the next request tries again.
  preview.catch(() => cache.delete(url));
  return preview;
}

async function buildPreview(hs: Homeserver, userId: string, url: string, limits: FetchLimits): Promise<Preview> {
  const page = await safeFetch(url, limits);
  if (probeImage(page.body) !== null) return imageFields(hs, userId, page);
  if (!/^(text\/html|application\/xhtml\+xml)\b/i.test(page.contentType)) return {};
  const tags: Preview = openGraphOf(new TextDecoder("utf-8").decode(page.body));
  const image = tags["og:image"];
  if (typeof image === "string" && image !== "") {
    delete tags["og:image"];
    try {
      Object.assign(tags, await imageFields(hs, userId, await safeFetch(new URL(image, page.url).href, limits)));
    } catch {
      // A page whose image cannot be fetched still has a title and description.
    }
  }
  return tags;
}

/** Stores a fetched image as media and describes it with the spec's og:image keys. */
async function imageFields(hs: Homeserver, userId: string, resource: FetchedResource): Promise<Preview> {
  const header = probeImage(resource.body);
  if (header === null) return {};
  const contentType = `image/${header.format}`;
  const uri = await storeFetchedMedia(hs, userId, resource.body, contentType);
  return {
    "og:image": uri,
    "og:image:type": contentType,
    "og:image:width": header.width,
    "og:image:height": header.height,
    "matrix:image:size": resource.body.byteLength,
  };
}
