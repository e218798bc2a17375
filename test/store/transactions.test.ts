// Transaction ids (PUT /send, /redact, /sendToDevice are idempotent per device,
// scope and txnId): rows appended in order and found through an index in memory
// of the tuple's hash, checked against a second hash; rolled-back rows not
// found; rows kept a day; the rows of the older tables still found.
import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { openStore } from "../../src/store";
import { databaseBeforeMigration, withDatabaseFile } from "../helpers/temp-db";
import { TRANSACTION_RETENTION_MS, createTransactionsStore, transactionHash } from "../../src/store/transactions";

const SEND = "send\u0000!r:x\u0000m.room.message";
const tuple = (txnId: string, scope = SEND, deviceId = "DEV") => ({ userId: "@a:x", deviceId, scope, txnId });
const record = (store: ReturnType<typeof openStore>, txnId: string, eventId: string, scope = SEND) =>
  store.transaction(() => store.transactions.record(tuple(txnId, scope), eventId));
const lookup = (store: ReturnType<typeof openStore>, txnId: string, scope = SEND, deviceId = "DEV") =>
  store.transactions.find(tuple(txnId, scope, deviceId));
const rowCount = (store: ReturnType<typeof openStore>) => (store.sqlite.query(`SELECT COUNT(*) AS n FROM transaction_log`).get() as { n: number }).n;

afterEach(() => setSystemTime());

describe("transaction ids", () => {
  test("a recorded transaction is found by its exact tuple only, also after a restart", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      record(store, "t1", "$one");
      record(store, "t2", "", "todevice\u0000m.test");
      expect(lookup(store, "t1")).toBe("$one");
      expect(lookup(store, "t2", "todevice\u0000m.test")).toBe("");
      expect(lookup(store, "t1", "send\u0000!other:x\u0000m.room.message")).toBeUndefined();
      expect(lookup(store, "t1", undefined, "OTHERDEV")).toBeUndefined();
      expect(lookup(store, "t3")).toBeUndefined();
      // Recording it again changes nothing.
      record(store, "t1", "$again");
      expect(lookup(store, "t1")).toBe("$one");
      expect(rowCount(store)).toBe(2);
      store.close();
      const again = openStore(path);
      expect(lookup(again, "t1")).toBe("$one");
      expect(lookup(again, "t2", "todevice\u0000m.test")).toBe("");
      expect(lookup(again, "t3")).toBeUndefined();
      again.close();
    });
  });

  test("another tuple with the same key is told apart by the check, before and after a restart", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      const { key } = transactionHash("@a:x", "DEV", SEND, "mine");
      store.sqlite.query(`INSERT INTO transaction_log (key, "check", event_id, created_ts) VALUES (?1, 1, '$squatter', ?2)`).run(key, Date.now());
      store.close();
      const reopened = openStore(path);
      expect(lookup(reopened, "mine")).toBeUndefined();
      record(reopened, "mine", "$mine");
      expect(lookup(reopened, "mine")).toBe("$mine");
      expect(rowCount(reopened)).toBe(2);
      reopened.close();
      const again = openStore(path);
      expect(lookup(again, "mine")).toBe("$mine");
      again.close();
    });
  });

  test("a transaction whose write rolled back is not found, even when its row number is reused", () => {
    const store = openStore(":memory:");
    expect(() =>
      store.transaction(() => {
        store.transactions.record(tuple("lost"), "$lost");
        throw new Error("refused after recording");
      }),
    ).toThrow("refused after recording");
    expect(lookup(store, "lost")).toBeUndefined();
    expect(rowCount(store)).toBe(0);
    record(store, "other", "$other"); // takes the rolled-back row's number
    expect(lookup(store, "lost")).toBeUndefined();
    expect(lookup(store, "other")).toBe("$other");
    record(store, "lost", "$found");
    expect(lookup(store, "lost")).toBe("$found");
    store.close();
  });

  test("rows older than the retention are deleted by a later write, and no longer found", () => {
    const store = openStore(":memory:");
    const start = Date.parse("2026-11-01T00:00:00Z");
    setSystemTime(new Date(start));
    record(store, "old", "$old");
    setSystemTime(new Date(start + TRANSACTION_RETENTION_MS - 60_000));
    record(store, "recent", "$recent");
    expect(lookup(store, "old")).toBe("$old");
    setSystemTime(new Date(start + TRANSACTION_RETENTION_MS + 120_000));
    record(store, "new", "$new");
    expect(lookup(store, "old")).toBeUndefined();
    expect(lookup(store, "recent")).toBe("$recent");
    expect(lookup(store, "new")).toBe("$new");
    expect(rowCount(store)).toBe(2);
    store.close();
  });

  test("transactions of the older tables are still found: event_transactions read in place, transaction_keys migrated", () => {
    withDatabaseFile((path) => {
      // A database as the server left it before migration 0015.
      const old = databaseBeforeMigration(path, 15);
      const { key, check } = transactionHash("@a:x", "DEV", SEND, "keyed");
      old.query(`INSERT INTO transaction_keys (key, "check", event_id) VALUES (?1, ?2, '$keyed')`).run(key, check);
      old.run(`INSERT INTO event_transactions (user_id, device_id, scope, txn_id, event_id) VALUES ('@a:x', 'DEV', 'redact' || char(0) || '!r:x', 'old', '$old')`);
      old.close();
      const store = openStore(path);
      expect(lookup(store, "keyed")).toBe("$keyed");
      expect(lookup(store, "old", "redact\u0000!r:x")).toBe("$old");
      expect(lookup(store, "new", "redact\u0000!r:x")).toBeUndefined();
      store.close();
    });
  });
});

describe("transaction ids beyond the cap", () => {
  test("over the cap, the oldest rows go first, down to nine tenths of it, however young", () => {
    const store = openStore(":memory:");
    const capped = createTransactionsStore(store.sqlite, { maxRows: 10 });
    const recordCapped = (txnId: string) => store.transaction(() => capped.record(tuple(txnId), `$${txnId}`));
    for (let i = 1; i <= 10; i++) recordCapped(`t${i}`);
    expect(rowCount(store)).toBe(10);
    recordCapped("t11"); // 11 rows: over the cap of 10, down to 9
    expect(rowCount(store)).toBe(9);
    expect(capped.find(tuple("t1"))).toBeUndefined();
    expect(capped.find(tuple("t2"))).toBeUndefined();
    expect(capped.find(tuple("t3"))).toBe("$t3");
    expect(capped.find(tuple("t11"))).toBe("$t11");
    recordCapped("t12"); // 10 rows: at the cap, nothing deleted
    expect(rowCount(store)).toBe(10);
    expect(capped.find(tuple("t3"))).toBe("$t3");
    store.close();
  });
});
