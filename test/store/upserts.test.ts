// Presence, receipts and account data are written with one prepared upsert
// each: a second write of the same key must replace every column it sets,
// stream position included (incremental syncs find changes by it), as the
// database itself shows after a restart.
import { describe, expect, test } from "bun:test";
import { openStore } from "../../src/store";
import { withDatabaseFile } from "../helpers/temp-db";

describe("upserts replace the row", () => {
  test("presence: state, status message (cleared too), activity and position", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      store.transaction(() => store.presence.put({ userId: "@a:x", state: "online", statusMsg: "lunch", lastActiveTs: 1, streamPos: 1 }));
      store.transaction(() => store.presence.put({ userId: "@a:x", state: "unavailable", statusMsg: null, lastActiveTs: 2, streamPos: 2 }));
      expect(store.presence.changed(1, 2)).toEqual([{ userId: "@a:x", state: "unavailable", statusMsg: null, lastActiveTs: 2, streamPos: 2 }]);
      store.close();
      const again = openStore(path);
      expect(again.presence.get("@a:x")).toEqual({ userId: "@a:x", state: "unavailable", statusMsg: null, lastActiveTs: 2, streamPos: 2 });
      again.close();
    });
  });

  test("receipts: event, timestamp and position", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      const receipt = { roomId: "!r:x", receiptType: "m.read", userId: "@a:x", threadId: "" };
      store.transaction(() => store.receipts.put({ ...receipt, eventId: "$one", ts: 1, streamPos: 1 }));
      store.transaction(() => store.receipts.put({ ...receipt, eventId: "$two", ts: 2, streamPos: 2 }));
      store.close();
      const again = openStore(path);
      expect(again.receipts.get("!r:x", "m.read", "@a:x", "")).toEqual({ ...receipt, eventId: "$two", ts: 2, streamPos: 2 });
      again.close();
    });
  });

  test("account data: content and position", () => {
    withDatabaseFile((path) => {
      const store = openStore(path);
      store.transaction(() => store.accountData.put({ userId: "@a:x", roomId: "", type: "t", content: "{}", streamPos: 1 }));
      store.transaction(() => store.accountData.put({ userId: "@a:x", roomId: "", type: "t", content: '{"a":1}', streamPos: 2 }));
      store.close();
      const again = openStore(path);
      expect(again.accountData.get("@a:x", "", "t")).toEqual({ userId: "@a:x", roomId: "", type: "t", content: '{"a":1}', streamPos: 2 });
      expect(again.accountData.changed("@a:x", 1, 2)).toHaveLength(1);
      again.close();
    });
  });
});
