// Transaction ids (PUT /send, /redact, /sendToDevice are idempotent per device,
// scope and txnId): rows keyed by a hash of the tuple, a second hash telling
// colliding tuples apart, and the rows of the older table still found.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store";
import { transactionHash } from "../../src/store/events";

const record = (store: ReturnType<typeof openStore>, txnId: string, eventId: string, scope = "send\u0000!r:x\u0000m.room.message") =>
  store.transaction(() => store.events.recordTransaction({ userId: "@a:x", deviceId: "DEV", scope, txnId, eventId }));
const lookup = (store: ReturnType<typeof openStore>, txnId: string, scope = "send\u0000!r:x\u0000m.room.message", deviceId = "DEV") =>
  store.events.transactionEvent("@a:x", deviceId, scope, txnId);

describe("transaction ids", () => {
  test("a recorded transaction is found by its exact tuple only, also after a restart", () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-txn-"));
    try {
      const path = join(dir, "homeserver.db");
      const store = openStore(path);
      record(store, "t1", "$one");
      record(store, "t2", "", "todevice\u0000m.test");
      expect(lookup(store, "t1")).toBe("$one");
      expect(lookup(store, "t2", "todevice\u0000m.test")).toBe("");
      expect(lookup(store, "t1", "send\u0000!other:x\u0000m.room.message")).toBeUndefined();
      expect(lookup(store, "t1", undefined, "OTHERDEV")).toBeUndefined();
      expect(lookup(store, "t3")).toBeUndefined();
      store.close();
      const again = openStore(path);
      expect(lookup(again, "t1")).toBe("$one");
      expect(lookup(again, "t2", "todevice\u0000m.test")).toBe("");
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a tuple whose key another tuple took goes to the next free key, and both are found", () => {
    const store = openStore(":memory:");
    const scope = "send\u0000!r:x\u0000m.room.message";
    const { key } = transactionHash("@a:x", "DEV", scope, "mine");
    // Another tuple holds the key (a different check), and the key after it too.
    store.sqlite.query(`INSERT INTO transaction_keys (key, "check", event_id) VALUES (?1, 1, '$squatter'), (?2, 2, '$next')`).run(key, key + 1);
    expect(lookup(store, "mine")).toBeUndefined();
    record(store, "mine", "$mine");
    expect(lookup(store, "mine")).toBe("$mine");
    const rows = store.sqlite.query(`SELECT key, event_id AS eventId FROM transaction_keys ORDER BY key`).all() as { key: number; eventId: string }[];
    expect(rows).toEqual([
      { key, eventId: "$squatter" },
      { key: key + 1, eventId: "$next" },
      { key: key + 2, eventId: "$mine" },
    ]);
    // Recording it again changes nothing.
    record(store, "mine", "$again");
    expect(lookup(store, "mine")).toBe("$mine");
    store.close();
  });

  test("transactions recorded in the older table are still found", () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-txn-"));
    try {
      const path = join(dir, "homeserver.db");
      const first = openStore(path);
      first.sqlite.run(`INSERT INTO event_transactions (user_id, device_id, scope, txn_id, event_id) VALUES ('@a:x', 'DEV', 'redact' || char(0) || '!r:x', 'old', '$old')`);
      first.close();
      const store = openStore(path);
      expect(lookup(store, "old", "redact\u0000!r:x")).toBe("$old");
      expect(lookup(store, "new", "redact\u0000!r:x")).toBeUndefined();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
