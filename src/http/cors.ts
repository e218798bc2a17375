// Browsers are real clients: every response carries CORS headers and every
// OPTIONS pre-flight succeeds, for known and unknown paths alike
// (spec: Client-Server API, "Web Browser Clients").
export const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": "X-Requested-With, Content-Type, Authorization, Date",
  "access-control-expose-headers": "Retry-After",
};

export function preflightResponse(): Response {
  return new Response(null, { status: 204, headers: CORS_HEADERS });
}
