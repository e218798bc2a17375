// Canonical JSON, per the spec appendix "Canonical JSON": object keys sorted by
// code point, no insignificant whitespace, UTF-8, integers only in the range
// [-(2**53)+1, (2**53)-1]. Used for signing and hashing.

export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("canonical JSON allows only integers in the safe range");
      }
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareCodePoints(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}

/**
 * Orders strings by Unicode code point. UTF-16 code units already sort that way
 * except where a surrogate (U+D800–U+DFFF, half of a code point above U+FFFF)
 * meets a unit of U+E000–U+FFFF, which it must sort after.
 */
function compareCodePoints(a: string, b: string): number {
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
