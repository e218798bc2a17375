// Every append reads the room's row (version, forward extremity) and the
// current state its auth rules need; both are remembered in memory. They must
// follow every write and forget a rolled-back one.
import { describe, expect, test } from "bun:test";
import { openStore } from "../../src/store";
import { databaseBeforeMigration, withDatabaseFile } from "../helpers/temp-db";

const ROOM = "!append-caches:example.org";

describe("current state lookups", () => {
  test("see a state write made after the first lookup, including one where there was no state", () => {
    const store = openStore(":memory:");
    const set = (type: string, stateKey: string, eventId: string) =>
      store.transaction(() => store.state.set(ROOM, { type, stateKey, eventId }, store.stream.next(), null));
    expect(store.state.currentEventId(ROOM, "m.room.power_levels", "")).toBeUndefined();
    set("m.room.power_levels", "", "$pl1");
    expect(store.state.currentEventId(ROOM, "m.room.power_levels", "")).toBe("$pl1");
    set("m.room.power_levels", "", "$pl2");
    expect(store.state.currentEventId(ROOM, "m.room.power_levels", "")).toBe("$pl2");
    // Other keys and rooms are not confused with it.
    expect(store.state.currentEventId(ROOM, "m.room.power_levels", "x")).toBeUndefined();
    expect(store.state.currentEventId("!other:example.org", "m.room.power_levels", "")).toBeUndefined();
    store.close();
  });

  test("forget a rolled-back write", () => {
    const store = openStore(":memory:");
    store.transaction(() => store.state.set(ROOM, { type: "m.room.name", stateKey: "", eventId: "$name" }, store.stream.next(), null));
    expect(store.state.currentEventId(ROOM, "m.room.name", "")).toBe("$name");
    expect(() =>
      store.transaction(() => {
        store.state.set(ROOM, { type: "m.room.name", stateKey: "", eventId: "$rolled-back" }, store.stream.next(), null);
        expect(store.state.currentEventId(ROOM, "m.room.name", "")).toBe("$rolled-back");
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.state.currentEventId(ROOM, "m.room.name", "")).toBe("$name");
    store.close();
  });
});

describe("room rows", () => {
  // The extremity is the room's event with the highest stream position.
  const insertEvent = (store: ReturnType<typeof openStore>, eventId: string, depth: number, roomId = ROOM) => {
    const streamPos = store.stream.next();
    store.events.insert({
      streamPos, eventId, roomId, type: "m.room.message", stateKey: null, sender: "@a:example.org", originServerTs: 1,
      pdu: JSON.stringify({ room_id: roomId, depth, type: "m.room.message", content: {} }),
      replacesState: null, redactedBy: null, txnDeviceId: null, txnId: null, containsUrl: false,
    });
    store.rooms.setLastEvent(roomId, eventId, depth);
  };

  test("follow the forward extremity and the directory flag, and forget a rolled-back append", () => {
    const store = openStore(":memory:");
    store.transaction(() => store.rooms.insert({ roomId: ROOM, roomVersion: "11", creator: "@a:example.org", createdTs: 1 }));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: null, lastDepth: 0, published: false });
    store.transaction(() => insertEvent(store, "$one", 1));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", lastDepth: 1 });
    store.transaction(() => store.rooms.setPublished(ROOM, true));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", lastDepth: 1, published: true });
    expect(() =>
      store.transaction(() => {
        insertEvent(store, "$two", 2);
        expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$two", lastDepth: 2 });
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", lastDepth: 1 });
    expect(store.rooms.get("!unknown:example.org")).toBeUndefined();
    store.close();
  });

  test("find the extremity again after a restart, from the events alone", () => {
    withDatabaseFile((path) => {
      const first = openStore(path);
      first.transaction(() => {
        first.rooms.insert({ roomId: ROOM, roomVersion: "11", creator: "@a:example.org", createdTs: 1 });
        first.rooms.insert({ roomId: "!other:example.org", roomVersion: "11", creator: "@a:example.org", createdTs: 1 });
        insertEvent(first, "$one", 1);
        insertEvent(first, "$elsewhere", 7, "!other:example.org");
        insertEvent(first, "$two", 2);
      });
      first.close();
      const again = openStore(path);
      expect(again.rooms.get(ROOM)).toMatchObject({ lastEventId: "$two", lastDepth: 2 });
      expect(again.rooms.get("!other:example.org")).toMatchObject({ lastEventId: "$elsewhere", lastDepth: 7 });
      again.close();
    });
  });

  test("a database from before migration 0016 keeps its rooms, their extremity now read from the events", () => {
    withDatabaseFile((path) => {
      const old = databaseBeforeMigration(path, 16);
      old.run(`INSERT INTO rooms (room_id, room_version, creator, created_ts, published, last_event_id, last_depth) VALUES ('${ROOM}', '10', '@a:example.org', 1, 1, '$old', 3)`);
      old.run(`INSERT INTO events (stream_pos, event_id, room_id, type, sender, origin_server_ts, pdu) VALUES (5, '$old', '${ROOM}', 'm.room.message', '@a:example.org', 1, '{"depth":3}')`);
      old.close();
      const store = openStore(path);
      expect(store.rooms.get(ROOM)).toEqual({ roomId: ROOM, roomVersion: "10", creator: "@a:example.org", createdTs: 1, published: true, lastEventId: "$old", lastDepth: 3 });
      store.close();
    });
  });
});
