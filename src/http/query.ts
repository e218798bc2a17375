import { MatrixError } from "./errors";

/** A `limit` query parameter: a non-negative integer, or 400 M_INVALID_PARAM. */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (text.trim() === "" || !Number.isInteger(limit) || limit < 0) {
    throw new MatrixError(400, "M_INVALID_PARAM", "limit must be a non-negative integer");
  }
  return limit;
}

/** Decoded query values longer than this are remembered (see queryParameters). */
const REMEMBERED_VALUE_LENGTH = 64;
const rememberedValues = new Map<string, string>();
const REMEMBERED_VALUES_MAX = 1_000;

/**
 * The query parameters of a request URL, decoded as a form
 * (application/x-www-form-urlencoded: "+" is a space); a repeated name keeps its
 * first value, a malformed escape leaves its value as sent. Clients such as
 * matrix-nio send their /sync filter inline, a few hundred escaped characters
 * with every request: a long value is decoded once and remembered.
 */
export function queryParameters(url: string): Partial<Record<string, string>> {
  // No prototype: a parameter named like one of Object's properties is just a parameter.
  const query: Partial<Record<string, string>> = Object.create(null);
  const start = url.indexOf("?");
  if (start < 0) return query;
  for (const pair of url.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = formDecode(equals < 0 ? pair : pair.slice(0, equals));
    if (query[name] !== undefined) continue;
    const raw = equals < 0 ? "" : pair.slice(equals + 1);
    if (raw.length <= REMEMBERED_VALUE_LENGTH) {
      query[name] = formDecode(raw);
      continue;
    }
    let value = rememberedValues.get(raw);
    if (value === undefined) {
      value = formDecode(raw);
      if (rememberedValues.size >= REMEMBERED_VALUES_MAX) rememberedValues.clear();
      rememberedValues.set(raw, value);
    }
    query[name] = value;
  }
  return query;
}

function formDecode(text: string): string {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
