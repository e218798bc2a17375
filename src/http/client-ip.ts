import type { Server } from "bun";
import type { Homeserver } from "../homeserver";

// Requests the server builds itself (an r0 path answered as v3) have no socket;
// they carry the address of the request they came from.
const knownAddresses = new WeakMap<Request, string>();

export function rememberClientIp(request: Request, ip: string): void {
  knownAddresses.set(request, ip);
}

/**
 * The client's address: the socket peer, or, when configured to trust a reverse
 * proxy, the address that proxy saw: the last X-Forwarded-For entry (a proxy
 * appends the peer it saw, so entries before it are whatever the client sent).
 */
export function clientIp(hs: Homeserver, request: Request, server: Server<unknown> | null): string {
  const known = knownAddresses.get(request);
  if (known !== undefined) return known;
  if (hs.config.x_forwarded) {
    const forwarded = request.headers.get("x-forwarded-for");
    if (forwarded) return forwarded.split(",").at(-1)!.trim();
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
