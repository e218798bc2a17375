// Canonical JSON, per the spec appendix "Canonical JSON": object keys sorted by
// code point, no insignificant whitespace, UTF-8, integers only in the range
// [-(2**53)+1, (2**53)-1]. Used for signing and hashing.

export function canonicalJson(value: unknown): string {
  // JSON.stringify writes an object's keys in their insertion order, and writes
  // strings with the escapes canonical JSON asks for: a copy whose keys were
  // inserted in canonical order comes out canonical, at native speed and with
  // one string allocated rather than one per member. JavaScript puts array-index
  // keys ("0", "42") first whatever the insertion order; an object with such a
  // key is encoded member by member instead.
  const ordered = orderedCopy(value);
  return ordered === INDEX_KEYS ? encodeMembers(value) : JSON.stringify(ordered);
}

/** orderedCopy's answer for a value with an object whose keys JavaScript would reorder. */
const INDEX_KEYS: unique symbol = Symbol("array-index keys");

function checkNumber(value: number): void {
  if (!Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    throw new TypeError("canonical JSON allows only integers in the safe range");
  }
}

/** Whether JavaScript treats `key` as an array index, ordering it before the other keys. */
function isIndexKey(key: string): boolean {
  const first = key.charCodeAt(0);
  if (first < 48 || first > 57) return false;
  return /^(0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/**
 * A copy of a JSON value whose objects hold their keys in canonical order, after
 * the same checks as encodeMembers (TypeError for what canonical JSON cannot hold).
 */
function orderedCopy(value: unknown): unknown {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
  if (typeof value === "number") {
    checkNumber(value);
    return value;
  }
  if (typeof value !== "object") throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = orderedCopy(value[i]);
      if (item === INDEX_KEYS) return INDEX_KEYS;
      copy[i] = item;
    }
    return copy;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort(compareCodePoints);
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const member = object[key];
    if (member === undefined) continue;
    if (isIndexKey(key)) return INDEX_KEYS;
    const item = orderedCopy(member);
    if (item === INDEX_KEYS) return INDEX_KEYS;
    copy[key] = item;
  }
  return copy;
}

/** Canonical JSON written member by member (any keys). */
function encodeMembers(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    checkNumber(value);
    return String(value);
  }
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value !== "object") throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += encodeMembers(value[i]);
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
    out += JSON.stringify(key) + ":" + encodeMembers(member);
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
