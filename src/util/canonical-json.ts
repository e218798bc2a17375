// Canonical JSON, per the spec appendix "Canonical JSON": object keys sorted by
// code point, no insignificant whitespace, UTF-8, integers only in the range
// [-(2**53)+1, (2**53)-1]. Used for signing and hashing.

export function canonicalJson(value: unknown): string {
  // Built by appending to one string, keys sorted in place: every event is
  // encoded twice (content hash, then signature and reference hash), and
  // arrays of entries joined with templates took twice as long.
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
      throw new TypeError("canonical JSON allows only integers in the safe range");
    }
    return String(value);
  }
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value !== "object") throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += canonicalJson(value[i]);
    }
    return out + "]";
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort(compareCodePoints);
  let out = "{";
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    if (out.length > 1) out += ",";
    out += JSON.stringify(key) + ":" + canonicalJson(member);
  }
  return out + "}";
}

/**
 * Orders strings by Unicode code point. UTF-16 code units already sort that way
 * except where a surrogate (U+D800–U+DFFF, half of a code point above U+FFFF)
 * meets a unit of U+E000–U+FFFF, which it must sort after.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const left = a.charCodeAt(i);
    const right = b.charCodeAt(i);
    if (left === right) continue;
    const leftSurrogate = left >= 0xd800 && left <= 0xdfff;
    const rightSurrogate = right >= 0xd800 && right <= 0xdfff;
    if (leftSurrogate && !rightSurrogate && right >= 0xe000) return 1;
    if (rightSurrogate && !leftSurrogate && left >= 0xe000) return -1;
    return left - right;
  }
  return a.length - b.length;
}
