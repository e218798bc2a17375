// State changes between two positions (StateStore.changedBetween) answer from
// the room's latest state position when nothing changed after `from`, and that
// position is kept in step with every write and forgotten by a rollback.
import { describe, expect, test } from "bun:test";
import { openStore } from "../../src/store";

const ROOM = "!state-changes:example.org";

describe("changedBetween", () => {
  test("finds each change after `from`, none after the latest, and sees a write made after the first question", () => {
    const store = openStore(":memory:");
    const set = (type: string, stateKey: string, eventId: string) =>
      store.transaction(() => {
        const pos = store.stream.next();
        store.state.set(ROOM, { type, stateKey, eventId }, pos, type === "m.room.member" ? "join" : null);
        return pos;
      });
    const create = set("m.room.create", "", "$create");
    const name = set("m.room.name", "", "$name1");
    expect(store.state.changedBetween(ROOM, create, name).map((entry) => entry.eventId)).toEqual(["$name1"]);
    // Nothing after the latest change: answered without a query, and empty.
    expect(store.state.changedBetween(ROOM, name, name + 5)).toEqual([]);
    // A later write moves the latest position, so the next question finds it.
    const topic = set("m.room.topic", "", "$topic");
    expect(store.state.changedBetween(ROOM, name, topic).map((entry) => entry.eventId)).toEqual(["$topic"]);
    // The whole state (from -1) is never cut short.
    expect(store.state.changedBetween(ROOM, -1, topic).map((entry) => entry.eventId).sort()).toEqual(["$create", "$name1", "$topic"]);
    store.close();
  });

  test("a rolled-back state write leaves no change behind, and a later one is still found", () => {
    const store = openStore(":memory:");
    const first = store.transaction(() => {
      const pos = store.stream.next();
      store.state.set(ROOM, { type: "m.room.create", stateKey: "", eventId: "$create" }, pos, null);
      return pos;
    });
    expect(store.state.changedBetween(ROOM, first, first + 10)).toEqual([]);
    expect(() =>
      store.transaction(() => {
        store.state.set(ROOM, { type: "m.room.name", stateKey: "", eventId: "$rolled-back" }, store.stream.next(), null);
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(store.state.changedBetween(ROOM, first, first + 10)).toEqual([]);
    const name = store.transaction(() => {
      const pos = store.stream.next();
      store.state.set(ROOM, { type: "m.room.name", stateKey: "", eventId: "$name" }, pos, null);
      return pos;
    });
    expect(store.state.changedBetween(ROOM, first, name).map((entry) => entry.eventId)).toEqual(["$name"]);
    store.close();
  });
});
