// Responses that embed JSON serialized earlier (src/http/raw-json.ts).
import { describe, expect, test } from "bun:test";
import { RawJsonArray, stringifyWithRaw } from "../../src/http/raw-json";

describe("stringifyWithRaw", () => {
  test("writes each RawJsonArray as its elements' text, wherever it is", () => {
    const value = {
      a: new RawJsonArray(['{"x":1}', '"two"']),
      b: { nested: [new RawJsonArray([]), new RawJsonArray(["3"])] },
      c: "plain",
    };
    const text = stringifyWithRaw(value);
    expect(JSON.parse(text)).toEqual({ a: [{ x: 1 }, "two"], b: { nested: [[], [3]] }, c: "plain" });
  });

  test("text with $ patterns and strings that look like markers pass through unchanged", () => {
    const tricky = '{"body":"$& $$ $1 $` \\u0001 not a marker"}';
    const value = { events: new RawJsonArray([tricky]), other: "\u0001" };
    expect(JSON.parse(stringifyWithRaw(value))).toEqual({ events: [JSON.parse(tricky)], other: "\u0001" });
  });

  test("a RawJsonArray serialized any other way is its value", () => {
    const raw = new RawJsonArray(['{"x":1}']);
    expect(raw.length).toBe(1);
    expect(JSON.parse(JSON.stringify({ raw }))).toEqual({ raw: [{ x: 1 }] });
  });
});
