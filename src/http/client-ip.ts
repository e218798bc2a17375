import type { Server } from "bun";
import type { Homeserver } from "../homeserver";

/** The client's address: the socket peer, or the first X-Forwarded-For hop when configured to trust a proxy. */
export function clientIp(hs: Homeserver, request: Request, server: Server<unknown> | null): string {
  if (hs.config.x_forwarded) {
    const forwarded = request.headers.get("x-forwarded-for");
    if (forwarded) return forwarded.split(",")[0]!.trim();
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
