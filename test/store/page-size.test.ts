// New databases get 8 KiB pages; a database made before keeps its page size and
// works as before (SQLite cannot change it once the file is in WAL mode).
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { openStore } from "../../src/store";
import { withDatabaseFile } from "../helpers/temp-db";

const pragma = (db: Database, name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, number>)[0];

describe("page size", () => {
  test("a new database has 8 KiB pages and checkpoints every ~40 MB of WAL", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      expect(pragma(store.sqlite, "page_size")).toBe(8192);
      expect(pragma(store.sqlite, "wal_autocheckpoint")).toBe(5120);
      store.close();
    });
  });

  test("a database made with 4 KiB pages keeps them, migrates and stores", () => {
    withDatabaseFile((path) => {
      const old = new Database(path, { create: true });
      old.run("PRAGMA page_size = 4096");
      old.run("PRAGMA journal_mode = WAL");
      old.run("CREATE TABLE leftover (a)");
      old.close();
      const store = openStore(path);
      expect(pragma(store.sqlite, "page_size")).toBe(4096);
      expect(pragma(store.sqlite, "wal_autocheckpoint")).toBe(10240);
      store.transaction(() => store.transactions.record({ userId: "@a:x", deviceId: "D", scope: "s", txnId: "t" }, "$e"));
      store.close();
      const again = openStore(path);
      expect(again.transactions.find({ userId: "@a:x", deviceId: "D", scope: "s", txnId: "t" })).toBe("$e");
      again.close();
    });
  });
});
