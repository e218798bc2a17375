// The stream counter never hands out a position twice, across rollbacks and restarts.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../src/store";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fileStore(): { path: string; open: () => Store } {
  const dir = mkdtempSync(join(tmpdir(), "hs-stream-"));
  dirs.push(dir);
  const path = join(dir, "homeserver.db");
  return { path, open: () => openStore(path) };
}

describe("stream positions", () => {
  test("a rolled-back transaction gives its positions back", () => {
    const store = openStore(":memory:");
    const before = store.stream.current;
    expect(() =>
      store.transaction(() => {
        store.stream.next();
        store.stream.next();
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.stream.current).toBe(before);
    store.close();
  });

  test("acknowledged send-to-device messages do not lower the position a restart resumes from", () => {
    const { open } = fileStore();
    const store = open();
    const pos = store.transaction(() => {
      const next = store.stream.next();
      store.toDevice.insert({ streamPos: next, userId: "@a:x", deviceId: "D", sender: "@b:x", type: "m.test", content: "{}" });
      return next;
    });
    expect(store.toDevice.acknowledge("@a:x", "D", pos)).toBe(1);
    store.close();
    const reopened = open();
    // A client holding a token at `pos` must not see it called "from the future".
    expect(reopened.stream.current).toBeGreaterThanOrEqual(pos);
    reopened.close();
  });
});
