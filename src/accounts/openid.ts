// OpenID tokens (spec: Client-Server API, "OpenID", POST
// /user/{userId}/openid/request_token; Server-Server API, "OpenID", GET
// /openid/userinfo): a user proves their identity to a third party (a widget,
// an integration manager) without handing over an access token. The third party
// asks this server whose token it holds.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { randomString, sha256Hex } from "../util/secrets";

/** Synapse's lifetime for these tokens: one hour. */
export const OPENID_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

export function requestOpenidToken(hs: Homeserver, requesterId: string, userId: string, nowMs: number) {
  // "The user to request an OpenID token for. Should be the user who is authenticated for the request."
  if (userId !== requesterId) throw forbidden("You cannot request an OpenID token for another user");
  const token = randomString(32);
  hs.store.openidTokens.deleteExpired(nowMs);
  hs.store.openidTokens.insert(sha256Hex(token), userId, nowMs + OPENID_TOKEN_LIFETIME_MS);
  return {
    access_token: token,
    token_type: "Bearer",
    matrix_server_name: hs.config.server_name,
    expires_in: OPENID_TOKEN_LIFETIME_MS / 1000,
  };
}

/** GET /_matrix/federation/v1/openid/userinfo: 401 M_UNKNOWN_TOKEN for an unknown or expired token. */
export function openidUserinfo(hs: Homeserver, token: string | undefined, nowMs: number): { sub: string } {
  const userId = token ? hs.store.openidTokens.ownerOf(sha256Hex(token), nowMs) : undefined;
  if (!userId) throw new MatrixError(401, "M_UNKNOWN_TOKEN", "Access token unknown or expired");
  return { sub: userId };
}
