// The timeline scan shared by the syncs built at one stream position, whatever
// token each syncs from (roomTimeline in src/sync/rooms.ts): every reader must
// get what its own read of the window gives (events, limited, prev_batch).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RoomEventFilter } from "../../src/rooms/event-filter";
import { roomTimeline, type RoomWindow } from "../../src/sync/rooms";
import { createRoom, CLIENT, joinRoom, newTxnId, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let roomId: string;
let joinedAt: number;
let first: number;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("tail-alice");
  bob = await server.register("tail-bob");
  roomId = await createRoom(server, alice, { preset: "public_chat" });
  await joinRoom(server, bob, roomId);
  joinedAt = server.hs.store.stream.current;
  first = joinedAt + 1;
  // 60 events, every third of another type, so that a types filter skips rows.
  for (let i = 0; i < 60; i++) {
    const type = i % 3 === 0 ? "org.example.other" : "m.room.message";
    const response = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/${type}/${newTxnId()}`, {
      token: alice.access_token,
      body: { msgtype: "m.text", body: `event ${i}` },
    });
    expect(response.status).toBe(200);
    // Stream positions with no event of the room between some of them (account
    // data takes a position too), so that tokens and scan ends fall into gaps.
    if (i % 4 === 1) {
      const put = await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/account_data/org.example.gap`, { token: alice.access_token, body: { i } });
      expect(put.status).toBe(200);
    }
  }
});
afterAll(() => server.stop());

const viewer = () => ({ userId: bob.user_id, deviceId: bob.device_id });
const summary = (timeline: ReturnType<typeof roomTimeline>) => ({
  events: timeline.events.map((event) => event.eventId),
  limited: timeline.limited,
  prevBatch: timeline.prevBatch,
});

/** The shared path: the reader was in the room before `from`. */
function shared(from: number, filter: RoomEventFilter | undefined) {
  const to = server.hs.store.stream.current;
  const window: RoomWindow = { roomId, from, to, initial: false, joined: true, joinedAt };
  return summary(roomTimeline(server.hs, viewer(), window, filter));
}

/** The reader's own read of the same window (no join position: each event's visibility is checked, all are visible here). */
function ownRead(from: number, filter: RoomEventFilter | undefined) {
  const to = server.hs.store.stream.current;
  const window: RoomWindow = { roomId, from, to, initial: false, joined: true };
  return summary(roomTimeline(server.hs, viewer(), window, filter));
}

describe("a timeline shared by readers at different tokens", () => {
  const filters: [string, RoomEventFilter | undefined][] = [
    ["no filter (limit 10)", undefined],
    ["limit 5", { limit: 5 }],
    ["limit 100", { limit: 100 }],
    ["a type the scan skips rows for, limit 4", { limit: 4, types: ["org.example.other"] }],
    ["a type no event has", { limit: 3, types: ["org.example.none"] }],
  ];
  for (const [name, filter] of filters) {
    test(`${name}: every token gets what its own read gives, in any order of readers`, () => {
      const last = server.hs.store.stream.current;
      const tokens = Array.from({ length: last - joinedAt + 1 }, (_, i) => joinedAt + i);
      const orders = { newestFirst: [...tokens].reverse(), oldestFirst: tokens, mixed: tokens.map((_, i) => tokens[(i * 37) % tokens.length]!) };
      for (const [order, list] of Object.entries(orders)) {
        // A not_types entry no event has gives each order a scan of its own (the filter is part of its key).
        const variant: RoomEventFilter = { ...filter, not_types: [`org.example.order-${order}`] };
        for (const from of list) expect({ from, ...shared(from, variant) }).toEqual({ from, ...ownRead(from, variant) });
      }
    });
  }

  test("a reader far behind gets a limited timeline of the newest events", () => {
    const result = shared(joinedAt, { limit: 5 });
    expect(result.limited).toBe(true);
    expect(result.events).toHaveLength(5);
    const last = server.hs.store.stream.current;
    expect(shared(last - 2, { limit: 5 })).toMatchObject({ limited: false });
    expect(shared(last - 2, { limit: 5 }).events).toHaveLength(2);
  });
});
