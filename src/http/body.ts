// Request bodies of the Client-Server API are JSON objects, whatever Content-Type
// the client sent (Synapse parses them the same way). Too large: 413 M_TOO_LARGE;
// not JSON: 400 M_NOT_JSON; JSON but not an object: 400 M_BAD_JSON.
import { MatrixError } from "./errors";

export const tooLarge = (limit: number) =>
  new MatrixError(413, "M_TOO_LARGE", `Request body is larger than the limit of ${limit} bytes`);

// Bodies that clients send unchanged again and again (a sliding sync room list
// long-polls with the same body each time): with `reuse`, each distinct text is
// parsed once and the same frozen object handed out for it again, so that
// handlers can also keep what they derived from it (by object identity).
const reusedBodies = new Map<string, Record<string, unknown>>();
const REUSED_BODIES = 1_000;
const REUSED_BODY_MAX_CHARS = 16_384;

// One decoder for every body: decode() without `stream` keeps no state between calls.
const utf8 = new TextDecoder("utf-8", { fatal: true });

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}

export async function parseJsonObjectBody(request: Request, limitBytes: number, options: { reuse?: boolean } = {}): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > limitBytes) throw tooLarge(limitBytes);
  if (bytes.byteLength === 0) return {};
  let parsed: unknown;
  let text: string;
  try {
    text = utf8.decode(bytes);
    if (options.reuse) {
      const known = reusedBodies.get(text);
      if (known) return known;
    }
    parsed = JSON.parse(text);
  } catch {
    throw new MatrixError(400, "M_NOT_JSON", "Content not JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MatrixError(400, "M_BAD_JSON", "Content must be a JSON object.");
  }
  if (options.reuse && text.length <= REUSED_BODY_MAX_CHARS) {
    deepFreeze(parsed);
    if (reusedBodies.size >= REUSED_BODIES) reusedBodies.clear();
    reusedBodies.set(text, parsed as Record<string, unknown>);
  }
  return parsed as Record<string, unknown>;
}
