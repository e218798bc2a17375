// Canonical JSON (spec appendices, "Canonical JSON"): every example of the
// appendix, the grammar's escapes, and the integer-only number range.
import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../src/util/canonical-json";

describe("canonicalJson: the appendix examples", () => {
  // Each input is given as the JSON text of the spec, parsed as a server would receive it.
  const examples: [string, string, string][] = [
    ["empty object", `{}`, `{}`],
    ["two keys", `{\n    "one": 1,\n    "two": "Two"\n}`, `{"one":1,"two":"Two"}`],
    ["keys sorted", `{\n    "b": "2",\n    "a": "1"\n}`, `{"a":"1","b":"2"}`],
    ["keys sorted, compact input", `{"b":"2","a":"1"}`, `{"a":"1","b":"2"}`],
    [
      "nested objects and arrays",
      `{
        "auth": {
          "success": true,
          "mxid": "@john.doe:example.com",
          "profile": {
            "display_name": "John Doe",
            "three_pids": [
              { "medium": "email", "address": "john.doe@example.org" },
              { "medium": "msisdn", "address": "123456789" }
            ]
          }
        }
      }`,
      `{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}`,
    ],
    ["non-ASCII stays UTF-8", `{\n    "a": "日本語"\n}`, `{"a":"日本語"}`],
    ["non-ASCII keys sorted by code point", `{\n    "本": 2,\n    "日": 1\n}`, `{"日":1,"本":2}`],
    ["\\u escape is decoded", `{\n    "a": "\\u65E5"\n}`, `{"a":"日"}`],
    ["null", `{\n    "a": null\n}`, `{"a":null}`],
    ["-0 and 1e10 become plain integers", `{\n    "a": -0,\n    "b": 1e10\n}`, `{"a":0,"b":10000000000}`],
  ];

  for (const [name, input, expected] of examples) {
    test(name, () => {
      expect(canonicalJson(JSON.parse(input))).toBe(expected);
    });
  }
});

describe("canonicalJson: strings", () => {
  test('"\\u00e9" is written as the character é, not as an escape', () => {
    expect(canonicalJson(JSON.parse(`{"a":"\\u00e9"}`))).toBe(`{"a":"é"}`);
    expect(new TextEncoder().encode(canonicalJson({ a: "é" }))).toEqual(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0xa9, 0x22, 0x7d]));
  });

  test("characters outside the BMP stay literal (UTF-8, no surrogate escapes)", () => {
    expect(canonicalJson({ a: "😀" })).toBe(`{"a":"😀"}`);
  });

  test("only the grammar's escapes are used: quote, backslash, short forms and \\u00XX for other controls", () => {
    expect(canonicalJson('"\\')).toBe(String.raw`"\"\\"`);
    expect(canonicalJson("\b\f\n\r\t")).toBe(String.raw`"\b\f\n\r\t"`);
    expect(canonicalJson("\u0000\u0001\u000b\u001f")).toBe(String.raw`"\u0000\u0001\u000b\u001f"`);
  });

  test("no redundant escapes: slash, DEL and U+2028 stay literal", () => {
    expect(canonicalJson("a/b\u007f\u2028")).toBe(`"a/b\u007f\u2028"`);
  });

  test("keys are ordered by code point, not by UTF-16 code unit", () => {
    // U+FFFF sorts before U+1F600, although the latter's first UTF-16 unit (0xD83D) is smaller.
    expect(canonicalJson({ "😀": 1, "\uffff": 2 })).toBe(`{"\uffff":2,"😀":1}`);
    // Upper case (0x41..) before lower case (0x61..), shorter prefix first.
    expect(canonicalJson({ b: 1, a: 2, B: 3, aa: 4 })).toBe(`{"B":3,"a":2,"aa":4,"b":1}`);
  });
});

describe("canonicalJson: values and whitespace", () => {
  test("no insignificant whitespace in arrays and nested objects; array order kept", () => {
    expect(canonicalJson({ list: [3, 1, { z: false, y: true }], empty: [] })).toBe(`{"empty":[],"list":[3,1,{"y":true,"z":false}]}`);
  });

  test("top-level scalars", () => {
    expect(canonicalJson(null)).toBe("null");
    expect(canonicalJson(true)).toBe("true");
    expect(canonicalJson(false)).toBe("false");
    expect(canonicalJson(-42)).toBe("-42");
    expect(canonicalJson("x")).toBe(`"x"`);
  });

  test("integers at the ends of the range [-(2**53)+1, (2**53)-1] are written in full", () => {
    expect(canonicalJson({ max: 2 ** 53 - 1, min: -(2 ** 53) + 1 })).toBe(`{"max":9007199254740991,"min":-9007199254740991}`);
  });

  test("keys whose value is undefined are left out (as JSON.stringify does)", () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(`{"a":1}`);
  });
});

describe("canonicalJson: rejections", () => {
  test("floats are not permitted", () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(TypeError);
    expect(() => canonicalJson([0.1])).toThrow(TypeError);
  });

  test("integers outside the range are rejected", () => {
    expect(() => canonicalJson({ a: 2 ** 53 })).toThrow(TypeError);
    expect(() => canonicalJson({ a: -(2 ** 53) })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1e300 })).toThrow(TypeError);
  });

  test("NaN and infinities are rejected", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(() => canonicalJson(Number.NEGATIVE_INFINITY)).toThrow(TypeError);
  });

  test("values JSON cannot hold are rejected", () => {
    expect(() => canonicalJson(10n)).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson([undefined])).toThrow(TypeError);
  });
});

describe("canonicalJson: keys JavaScript orders itself", () => {
  test("array-index keys sort by code point with the rest, not numerically first", () => {
    expect(canonicalJson({ b: 1, "10": 2, "9": 3, "": 4, "01": 5, "4294967295": 6 })).toBe(`{"":4,"01":5,"10":2,"4294967295":6,"9":3,"b":1}`);
    expect(canonicalJson({ outer: [{ z: 1, "2": { "1": true, a: null } }] })).toBe(`{"outer":[{"2":{"1":true,"a":null},"z":1}]}`);
  });

  test("objects nested in arrays and objects are ordered at every depth", () => {
    expect(canonicalJson([{ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 0 }])).toBe(`[{"a":0,"b":{"c":[{"e":2,"f":1}],"d":1}}]`);
  });
});
