// POST /rooms/{roomId}/upgrade (spec: Client-Server API, "Room Upgrades").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: { user_id: string; access_token: string };
let bob: { user_id: string; access_token: string };
beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("up-alice");
  bob = await server.register("up-bob");
});
afterAll(() => server.stop());

const v3 = "/_matrix/client/v3";
const state = (token: string, roomId: string, type: string) =>
  server.request("GET", `${v3}/rooms/${encodeURIComponent(roomId)}/state/${type}/`, { token });

async function publicRoom(): Promise<string> {
  const created = await server.request("POST", `${v3}/createRoom`, {
    token: alice.access_token,
    body: { preset: "public_chat", name: "Old", topic: "About", room_alias_name: `up${Math.random().toString(36).slice(2, 8)}`, room_version: "10", visibility: "public" },
  });
  expect(created.status).toBe(200);
  await server.request("POST", `${v3}/rooms/${encodeURIComponent(created.body.room_id)}/join`, { token: bob.access_token, body: {} });
  return created.body.room_id;
}

describe("room upgrade", () => {
  test("creates the replacement with a predecessor, copies state, tombstones and mutes the old room, moves aliases", async () => {
    const oldRoom = await publicRoom();
    const alias = (await state(alice.access_token, oldRoom, "m.room.canonical_alias")).body.alias;
    const response = await server.request("POST", `${v3}/rooms/${encodeURIComponent(oldRoom)}/upgrade`, {
      token: alice.access_token,
      body: { new_version: "11" },
    });
    expect(response.status).toBe(200);
    const newRoom = response.body.replacement_room;
    expect(newRoom).toStartWith("!");

    const create = await state(alice.access_token, newRoom, "m.room.create");
    expect(create.body.room_version).toBe("11");
    expect(create.body.predecessor.room_id).toBe(oldRoom);
    expect(create.body.creator).toBeUndefined();

    expect((await state(alice.access_token, newRoom, "m.room.name")).body).toEqual({ name: "Old" });
    expect((await state(alice.access_token, newRoom, "m.room.topic")).body.topic).toBe("About");
    expect((await state(alice.access_token, newRoom, "m.room.join_rules")).body).toEqual({ join_rule: "public" });
    expect((await state(alice.access_token, oldRoom, "m.room.tombstone")).body.replacement_room).toBe(newRoom);

    // The old room is muted: bob (level 0) can no longer speak there.
    const muted = await server.request("PUT", `${v3}/rooms/${encodeURIComponent(oldRoom)}/send/m.room.message/t1`, {
      token: bob.access_token,
      body: { msgtype: "m.text", body: "still here?" },
    });
    expect(muted.status).toBe(403);

    // The alias now resolves to the new room, which is also the published one.
    const resolved = await server.request("GET", `${v3}/directory/room/${encodeURIComponent(alias)}`);
    expect(resolved.body.room_id).toBe(newRoom);
    expect((await server.request("GET", `${v3}/directory/list/room/${encodeURIComponent(newRoom)}`)).body.visibility).toBe("public");
    expect((await server.request("GET", `${v3}/directory/list/room/${encodeURIComponent(oldRoom)}`)).body.visibility).toBe("private");

    // Bob can follow into the public replacement.
    expect((await server.request("POST", `${v3}/rooms/${encodeURIComponent(newRoom)}/join`, { token: bob.access_token, body: {} })).status).toBe(200);
  });

  test("needs the power to send m.room.tombstone; nothing is created otherwise", async () => {
    const oldRoom = await publicRoom();
    const roomsBefore = server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM rooms").get() as { n: number };
    const response = await server.request("POST", `${v3}/rooms/${encodeURIComponent(oldRoom)}/upgrade`, {
      token: bob.access_token,
      body: { new_version: "11" },
    });
    expect(response.status).toBe(403);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    const roomsAfter = server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM rooms").get() as { n: number };
    expect(roomsAfter.n).toBe(roomsBefore.n);
  });

  test("an unsupported version is 400 M_UNSUPPORTED_ROOM_VERSION", async () => {
    const oldRoom = await publicRoom();
    const response = await server.request("POST", `${v3}/rooms/${encodeURIComponent(oldRoom)}/upgrade`, {
      token: alice.access_token,
      body: { new_version: "999" },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_UNSUPPORTED_ROOM_VERSION");
  });
});
