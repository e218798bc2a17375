// Group commit: writes of one event-loop turn share a transaction, each in its
// own savepoint; settled() resolves once they are committed.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { openStore } from "../../src/store";

describe("group commit", () => {
  test("a failed unit rolls back alone; the others of its turn are committed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-batch-"));
    try {
      const path = join(dir, "homeserver.db");
      const store = openStore(path);
      store.transaction(() => store.users.insert({ userId: "@one:x", passwordHash: null, createdTs: 1 }));
      expect(() =>
        store.transaction(() => {
          store.users.insert({ userId: "@two:x", passwordHash: null, createdTs: 1 });
          throw new Error("refused");
        }),
      ).toThrow("refused");
      store.transaction(() => store.users.insert({ userId: "@three:x", passwordHash: null, createdTs: 1 }));

      // Not committed yet: another connection does not see the writes.
      const reader = new Database(path, { readonly: true });
      const count = () => (reader.query("SELECT COUNT(*) AS n FROM users").get() as { n: number }).n;
      expect(count()).toBe(0);
      await store.settled();
      expect(count()).toBe(2);
      expect(store.users.get("@two:x")).toBeUndefined();
      reader.close();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("effects wait for the commit", async () => {
    const store = openStore(":memory:");
    const seen: string[] = [];
    store.transaction(() => {
      store.users.insert({ userId: "@a:x", passwordHash: null, createdTs: 1 });
      store.afterCommit(() => seen.push("committed"));
    });
    expect(seen).toEqual([]);
    await store.settled();
    expect(seen).toEqual(["committed"]);
    store.close();
  });

  test("reads of a turn share a transaction; a write after another process's commit still succeeds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-batch-"));
    try {
      const path = join(dir, "homeserver.db");
      const store = openStore(path);
      store.readInTransaction();
      expect(store.users.count()).toBe(0);
      // Another process (homeserver register-user) writes while the read transaction is open.
      const other = new Database(path);
      other.run("PRAGMA busy_timeout = 1000");
      other.run("INSERT INTO users (user_id, created_ts) VALUES ('@cli:x', 1)");
      other.close();
      // The read transaction holds its snapshot until the turn ends...
      expect(store.users.count()).toBe(0);
      // ...and a write begins afresh instead of upgrading that stale snapshot.
      store.transaction(() => store.users.insert({ userId: "@server:x", passwordHash: null, createdTs: 1 }));
      await store.settled();
      expect(store.users.count()).toBe(2);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("close commits what is pending", () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-batch-"));
    try {
      const path = join(dir, "homeserver.db");
      const store = openStore(path);
      store.transaction(() => store.users.insert({ userId: "@late:x", passwordHash: null, createdTs: 1 }));
      store.close();
      const again = openStore(path);
      expect(again.users.get("@late:x")?.userId).toBe("@late:x");
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("writeAfterChecks", () => {
    const user = (userId: string) => ({ userId, passwordHash: null, createdTs: 1 });

    test("a refusal in the checks leaves the turn's other writes to commit", async () => {
      const store = openStore(":memory:");
      store.transaction(() => store.users.insert(user("@before:x")));
      expect(() =>
        store.writeAfterChecks(
          () => {
            throw new Error("refused");
          },
          () => store.users.insert(user("@never:x")),
        ),
      ).toThrow("refused");
      const seen: string[] = [];
      const result = store.writeAfterChecks(
        () => "checked",
        (checked) => {
          store.users.insert(user("@after:x"));
          store.afterCommit(() => seen.push("committed"));
          return `${checked} and written`;
        },
      );
      expect(result).toBe("checked and written");
      expect(seen).toEqual([]);
      await store.settled();
      expect(seen).toEqual(["committed"]);
      expect(store.users.get("@before:x")).toBeDefined();
      expect(store.users.get("@after:x")).toBeDefined();
      expect(store.users.get("@never:x")).toBeUndefined();
      store.close();
    });

    test("a failure after writing fails the whole group commit, and the next turn writes again", async () => {
      const store = openStore(":memory:");
      const seen: string[] = [];
      store.transaction(() => {
        store.users.insert(user("@earlier:x"));
        store.afterCommit(() => seen.push("earlier"));
      });
      const startPosition = store.stream.current;
      const failed = store.settled();
      expect(() =>
        store.writeAfterChecks(
          () => undefined,
          () => {
            store.stream.next();
            store.users.insert(user("@half:x"));
            throw new Error("disk gone");
          },
        ),
      ).toThrow("disk gone");
      // The request that wrote before it in the same turn is not acknowledged.
      await expect(failed).rejects.toThrow("disk gone");
      expect(seen).toEqual([]);
      expect(store.users.get("@earlier:x")).toBeUndefined();
      expect(store.users.get("@half:x")).toBeUndefined();
      expect(store.stream.current).toBe(startPosition);
      store.writeAfterChecks(
        () => undefined,
        () => store.users.insert(user("@next:x")),
      );
      await store.settled();
      expect(store.users.get("@next:x")).toBeDefined();
      store.close();
    });

    test("nested in a transaction, a failure after writing rolls back that unit alone", async () => {
      const store = openStore(":memory:");
      store.transaction(() => {
        store.users.insert(user("@outer:x"));
        expect(() =>
          store.writeAfterChecks(
            () => undefined,
            () => {
              store.users.insert(user("@inner:x"));
              throw new Error("inner failure");
            },
          ),
        ).toThrow("inner failure");
      });
      await store.settled();
      expect(store.users.get("@outer:x")).toBeDefined();
      expect(store.users.get("@inner:x")).toBeUndefined();
      store.close();
    });
  });
});
