// Server discovery and capabilities (spec: "Server Discovery", "API Standards"
// GET /versions, "Capabilities negotiation").
import { Elysia } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { notFound } from "../../http/errors";

/** The spec versions whose Client-Server behaviour this server implements (matrix-js-sdk needs one of v1.1–v1.13). */
export const SUPPORTED_SPEC_VERSIONS = [
  "r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
  "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11",
];

/**
 * Unstable features clients look for before using them (spec: GET /versions).
 * Element bootstraps cross-signing after registration only when it sees
 * org.matrix.e2e_cross_signing; matrix-rust-sdk clients (Element X) refuse a
 * server without simplified sliding sync (MSC4186).
 */
export const UNSTABLE_FEATURES: Record<string, boolean> = {
  "org.matrix.e2e_cross_signing": true,
  // Dehydrated devices, served under /_matrix/client/unstable/org.matrix.msc3814.v1.
  "org.matrix.msc3814": true,
  "org.matrix.simplified_msc3575": true,
};

export const ROOM_VERSIONS = { default: "11", available: { "10": "stable", "11": "stable" } } as const;

/**
 * The URL clients should use: the configured public one, else the origin the
 * request came in on (with the scheme the trusted proxy reports, which may be https).
 */
export function clientBaseUrl(hs: Homeserver, request: Request): string {
  if (hs.config.public_baseurl) return hs.config.public_baseurl.replace(/\/+$/, "");
  const url = new URL(request.url);
  const proto = hs.config.x_forwarded ? request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() : undefined;
  if (proto === "https" || proto === "http") url.protocol = `${proto}:`;
  const host = request.headers.get("host");
  if (host) url.host = host;
  return url.origin;
}

export function discoveryApi(hs: Homeserver) {
  return new Elysia({ name: "api.discovery", seed: hs.instanceId })
    .get("/_matrix/client/versions", () => ({ versions: SUPPORTED_SPEC_VERSIONS, unstable_features: UNSTABLE_FEATURES }))
    .get("/.well-known/matrix/client", ({ request }) => ({ "m.homeserver": { base_url: clientBaseUrl(hs, request) } }))
    .get("/.well-known/matrix/server", () => {
      if (!hs.config.serve_server_wellknown) throw notFound("No server delegation is configured");
      return { "m.server": hs.config.serve_server_wellknown };
    });
}

export function capabilitiesApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.capabilities", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/capabilities", () => ({
      capabilities: {
        "m.change_password": { enabled: true },
        "m.room_versions": ROOM_VERSIONS,
        "m.set_displayname": { enabled: true },
        "m.set_avatar_url": { enabled: true },
        "m.3pid_changes": { enabled: false },
        "m.get_login_token": { enabled: false },
      },
    }));
}
