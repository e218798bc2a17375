// Request bodies of the Client-Server API are JSON objects, whatever Content-Type
// the client sent (Synapse parses them the same way). Too large: 413 M_TOO_LARGE;
// not JSON: 400 M_NOT_JSON; JSON but not an object: 400 M_BAD_JSON.
import { MatrixError } from "./errors";

export const tooLarge = (limit: number) =>
  new MatrixError(413, "M_TOO_LARGE", `Request body is larger than the limit of ${limit} bytes`);

// The text each parsed body came from, for handlers that reuse work done for an identical body.
const bodyTexts = new WeakMap<object, string>();

/** The JSON text `body` was parsed from (undefined for bodies not parsed by parseJsonObjectBody). */
export function bodyTextOf(body: object): string | undefined {
  return bodyTexts.get(body);
}

export async function parseJsonObjectBody(request: Request, limitBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > limitBytes) throw tooLarge(limitBytes);
  if (bytes.byteLength === 0) return {};
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    throw new MatrixError(400, "M_NOT_JSON", "Content not JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MatrixError(400, "M_BAD_JSON", "Content must be a JSON object.");
  }
  bodyTexts.set(parsed, text);
  return parsed as Record<string, unknown>;
}
