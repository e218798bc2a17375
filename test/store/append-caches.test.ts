// Every append reads the room's row (version, forward extremity) and the
// current state its auth rules need; both are remembered in memory. They must
// follow every write and forget a rolled-back one.
import { describe, expect, test } from "bun:test";
import { openStore } from "../../src/store";

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
  test("follow the forward extremity and the directory flag, and forget a rolled-back append", () => {
    const store = openStore(":memory:");
    store.transaction(() => store.rooms.insert({ roomId: ROOM, roomVersion: "11", creator: "@a:example.org", createdTs: 1 }));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: null, lastDepth: 0, published: false });
    store.transaction(() => store.rooms.setLastEvent(ROOM, "$one", 1));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", lastDepth: 1 });
    store.transaction(() => store.rooms.setPublished(ROOM, true));
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", published: true });
    expect(() =>
      store.transaction(() => {
        store.rooms.setLastEvent(ROOM, "$two", 2);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.rooms.get(ROOM)).toMatchObject({ lastEventId: "$one", lastDepth: 1 });
    expect(store.rooms.get("!unknown:example.org")).toBeUndefined();
    store.close();
  });
});
