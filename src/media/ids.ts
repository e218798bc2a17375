// mxc://<server-name>/<media-id> (spec: "Matrix Content (mxc://) URIs" and its
// "Security considerations": server names must be valid server names and media
// ids only A-Za-z0-9, _ and -, which rules out directory traversal however the
// path was encoded).
import { MatrixError, notFound } from "../http/errors";
import { randomString } from "../util/secrets";

const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;
// Appendix "Server name": an IPv4 address, [IPv6 literal] or DNS name, with an optional port.
const SERVER_NAME = /^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(:[0-9]{1,5})?$/;

export function newMediaId(): string {
  return randomString(24);
}

export function mxcUri(serverName: string, mediaId: string): string {
  return `mxc://${serverName}/${mediaId}`;
}

/**
 * Checks the two parts of an mxc URI taken from a request path and returns the
 * media id if it is one of this server's. Malformed: 400 M_INVALID_PARAM; another
 * server's: 404 M_NOT_FOUND, as there is no federation to fetch it over.
 */
export function localMediaId(ownServerName: string, serverName: string, mediaId: string): string {
  if (!SERVER_NAME.test(serverName)) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid server name");
  if (!MEDIA_ID.test(mediaId)) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid media id");
  if (serverName !== ownServerName) throw notFound("Remote media is not available on this server");
  return mediaId;
}
