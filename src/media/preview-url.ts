// URL previews (spec: GET /_matrix/client/v1/media/preview_url).
import type { Homeserver } from "../homeserver";
import { forbidden, MatrixError } from "../http/errors";

export async function previewUrl(hs: Homeserver, _userId: string, url: string | undefined): Promise<Record<string, unknown>> {
  if (!hs.config.media.url_preview.enabled) throw forbidden("URL previews are disabled on this server");
  if (url === undefined) throw new MatrixError(400, "M_MISSING_PARAM", "Missing query parameter 'url'");
  throw forbidden("URL previews are disabled on this server");
}
