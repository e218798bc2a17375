// JSON object bodies: the limits and errors every endpoint shares, and the reuse
// of a body sent unchanged again (sliding sync long-polls with one body).
import { describe, expect, test } from "bun:test";
import { parseJsonObjectBody } from "../../src/http/body";
import { MatrixError } from "../../src/http/errors";

const post = (body: string) => new Request("http://127.0.0.1/x", { method: "POST", body, headers: { "content-type": "application/json" } });

async function failure(promise: Promise<unknown>): Promise<MatrixError> {
  try {
    await promise;
  } catch (error) {
    return error as MatrixError;
  }
  throw new Error("expected a failure");
}

describe("parseJsonObjectBody", () => {
  test("objects parse; other JSON, non-JSON and bodies over the limit are refused with the spec's codes", async () => {
    expect(await parseJsonObjectBody(post('{"a":[1,{"b":2}]}'), 1000)).toEqual({ a: [1, { b: 2 }] });
    expect(await parseJsonObjectBody(post(""), 1000)).toEqual({});
    expect((await failure(parseJsonObjectBody(post("[1]"), 1000))).errcode).toBe("M_BAD_JSON");
    expect((await failure(parseJsonObjectBody(post("{nope"), 1000))).errcode).toBe("M_NOT_JSON");
    expect((await failure(parseJsonObjectBody(post(`{"a":"${"x".repeat(100)}"}`), 50))).errcode).toBe("M_TOO_LARGE");
    // Invalid UTF-8 is not JSON, and leaves nothing behind for the next body.
    const invalid = new Request("http://127.0.0.1/x", { method: "POST", body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe]) });
    expect((await failure(parseJsonObjectBody(invalid, 1000))).errcode).toBe("M_NOT_JSON");
    expect(await parseJsonObjectBody(post('{"é":"ü"}'), 1000)).toEqual({ é: "ü" });
  });

  test("without reuse, each request gets an object of its own", async () => {
    const first = await parseJsonObjectBody(post('{"a":1}'), 1000);
    const second = await parseJsonObjectBody(post('{"a":1}'), 1000);
    expect(second).not.toBe(first);
    first.a = 2; // a handler may change its own copy
    expect(second.a).toBe(1);
  });

  test("with reuse, the same text gives the same frozen object; another text its own", async () => {
    const text = '{"conn_id":"room-list","lists":{"all":{"ranges":[[0,19]]}}}';
    const first = await parseJsonObjectBody(post(text), 1000, { reuse: true });
    const again = await parseJsonObjectBody(post(text), 1000, { reuse: true });
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen((first.lists as any).all.ranges[0])).toBe(true);
    expect(() => {
      (first as any).conn_id = "changed";
    }).toThrow();
    const other = await parseJsonObjectBody(post(text.replace("room-list", "encryption")), 1000, { reuse: true });
    expect(other).not.toBe(first);
    expect(other.conn_id).toBe("encryption");
    // Refusals are the same with reuse.
    expect((await failure(parseJsonObjectBody(post("[1]"), 1000, { reuse: true }))).errcode).toBe("M_BAD_JSON");
  });
});
