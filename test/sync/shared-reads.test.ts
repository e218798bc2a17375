// Reads shared by the syncs built at one stream position (src/sync/shared-reads.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sharedRead } from "../../src/sync/shared-reads";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("sharedRead", () => {
  test("reads once per key while the stream stays at one position, again once it moves", () => {
    const { hs } = server;
    let reads = 0;
    const read = () => sharedRead(hs, "probe", () => ++reads);
    expect([read(), read()]).toEqual([1, 1]);
    hs.store.transaction(() => hs.store.stream.next());
    expect(read()).toBe(2);
  });

  test("a rolled-back write that rewinds the stream to the same position does not leave the old value", () => {
    const { hs } = server;
    let reads = 0;
    const read = () => sharedRead(hs, "rollback-probe", () => ++reads);
    const before = hs.store.stream.current;
    expect(read()).toBe(1);
    expect(() =>
      hs.store.transaction(() => {
        hs.store.stream.next();
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(hs.store.stream.current).toBe(before);
    expect(read()).toBe(2);
  });
});
