// Resolves the requester from the access token (spec: Client-Server API,
// "Using access tokens"): the Authorization: Bearer header, or the deprecated
// access_token query parameter unless the configuration refuses it.
import { Elysia } from "elysia";
import { authenticateAccessToken, recordDeviceActivity, type Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { clientIp } from "./client-ip";
import { MatrixError } from "./errors";

const missingToken = (message = "Missing access token") => new MatrixError(401, "M_MISSING_TOKEN", message);

export function accessTokenOf(hs: Homeserver, request: Request): string | null {
  const header = request.headers.get("authorization");
  let fromHeader: string | null = null;
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw missingToken("Invalid Authorization header: expected 'Bearer <token>'");
    fromHeader = match[1]!;
  }
  let fromQuery: string | null = null;
  if (request.url.includes("access_token=")) {
    fromQuery = new URL(request.url).searchParams.get("access_token");
    if (fromQuery !== null && !hs.config.allow_access_token_in_query) {
      throw missingToken("Access tokens in the query string are disabled on this server; use the Authorization header");
    }
  }
  if (fromHeader !== null && fromQuery !== null && fromHeader !== fromQuery) {
    throw missingToken("Mixing the Authorization header and the access_token query parameter");
  }
  return fromHeader ?? fromQuery;
}

/** Resolves the requester once per request from its access token. */
export function requesterOf(hs: Homeserver, request: Request, server: Parameters<typeof clientIp>[2], allowGuests: boolean): Requester {
  const token = accessTokenOf(hs, request);
  if (token === null) throw missingToken();
  const requester = authenticateAccessToken(hs, token);
  if (requester.isGuest && !allowGuests) {
    throw new MatrixError(403, "M_GUEST_ACCESS_FORBIDDEN", "Guest access is not allowed for this endpoint");
  }
  recordDeviceActivity(hs, requester, () => clientIp(hs, request, server));
  return requester;
}

/**
 * Plugin for routes that need a logged-in user: adds `requester` to the context
 * or answers M_MISSING_TOKEN / M_UNKNOWN_TOKEN / M_GUEST_ACCESS_FORBIDDEN.
 * Guests are refused unless the module is one the spec opens to them; with
 * `adminOnly`, everyone but server admins gets 403.
 *
 * `derive` runs before body and query validation, so a request without valid
 * credentials learns that first (401/403), never the schema of the body.
 */
export function authenticated(hs: Homeserver, options: { allowGuests?: boolean; adminOnly?: boolean } = {}) {
  const allowGuests = options.allowGuests ?? false;
  const adminOnly = options.adminOnly ?? false;
  return new Elysia({ name: "http.auth", seed: `${hs.instanceId}:${allowGuests}:${adminOnly}` }).derive(
    { as: "scoped" },
    ({ request, server }) => {
      const requester = requesterOf(hs, request, server, allowGuests);
      if (adminOnly && !requester.isAdmin) throw new MatrixError(403, "M_FORBIDDEN", "You are not a server admin");
      return { requester };
    },
  );
}
