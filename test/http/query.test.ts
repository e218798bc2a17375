// Query parameters as /sync reads them (src/http/query.ts queryParameters).
import { describe, expect, test } from "bun:test";
import { queryParameters } from "../../src/http/query";

describe("queryParameters", () => {
  test("decodes names and values as a form: escapes, '+' as a space", () => {
    const filter = JSON.stringify({ room: { timeline: { limit: 100 } }, presence: { types: [] } });
    const query = queryParameters(`http://h/_matrix/client/v3/sync?since=s1_2&filter=${encodeURIComponent(filter)}&note=a+b%2Bc&empty=&bare`);
    expect({ ...query }).toEqual({ since: "s1_2", filter, note: "a b+c", empty: "", bare: "" });
  });

  test("a long value decoded once is the same text every time, and other values are not confused with it", () => {
    const long = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 20 } } }));
    const other = encodeURIComponent(JSON.stringify({ room: { state: { lazy_load_members: false }, timeline: { limit: 20 } } }));
    expect(queryParameters(`http://h/sync?filter=${long}`).filter).toBe(decodeURIComponent(long));
    expect(queryParameters(`http://h/sync?filter=${long}&since=s9`).filter).toBe(decodeURIComponent(long));
    expect(queryParameters(`http://h/sync?filter=${other}`).filter).toBe(decodeURIComponent(other));
  });

  test("a repeated name keeps its first value; a malformed escape is left as sent; names of Object's properties are plain names", () => {
    const query = queryParameters("http://h/sync?a=1&a=2&b=%ZZ&__proto__=x&toString=y");
    expect(query.a).toBe("1");
    expect(query.b).toBe("%ZZ");
    expect(query.__proto__).toBe("x");
    expect(query["toString"] as unknown).toBe("y");
    expect(Object.getPrototypeOf(query)).toBeNull();
  });

  test("no query string: no parameters", () => {
    expect(Object.keys(queryParameters("http://h/sync"))).toEqual([]);
  });
});
