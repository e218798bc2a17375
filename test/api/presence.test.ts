// Presence (spec: Client-Server API, "Presence").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
let server: TestServer;
let alice: { user_id: string; access_token: string };
let bob: { user_id: string; access_token: string };
let carol: { user_id: string; access_token: string };

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("pr-alice");
  bob = await server.register("pr-bob");
  carol = await server.register("pr-carol");
  const room = await server.request("POST", `${v3}/createRoom`, { token: alice.access_token, body: { preset: "public_chat" } });
  await server.request("POST", `${v3}/rooms/${encodeURIComponent(room.body.room_id)}/join`, { token: bob.access_token, body: {} });
});
afterAll(() => server.stop());

describe("presence", () => {
  test("a status change reaches a long-polling user who shares a room, and not one who does not", async () => {
    const bobSync = await server.request("GET", `${v3}/sync`, { token: bob.access_token });
    const carolSync = await server.request("GET", `${v3}/sync`, { token: carol.access_token });
    const bobWait = server.request("GET", `${v3}/sync?since=${bobSync.body.next_batch}&timeout=3000`, { token: bob.access_token });
    const started = Date.now();
    const carolWait = server.request("GET", `${v3}/sync?since=${carolSync.body.next_batch}&timeout=800`, { token: carol.access_token });
    const set = await server.request("PUT", `${v3}/presence/${encodeURIComponent(alice.user_id)}/status`, {
      token: alice.access_token,
      body: { presence: "unavailable", status_msg: "lunch" },
    });
    expect(set.status).toBe(200);
    const bobNext = await bobWait;
    const fromAlice = bobNext.body.presence.events.find((event: any) => event.sender === alice.user_id);
    expect(fromAlice.content.presence).toBe("unavailable");
    expect(fromAlice.content.status_msg).toBe("lunch");
    const carolNext = await carolWait;
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(carolNext.body.presence.events.some((event: any) => event.sender === alice.user_id)).toBe(false);
  });

  test("GET status works for users sharing a room and is refused otherwise", async () => {
    const seen = await server.request("GET", `${v3}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: bob.access_token });
    expect(seen.status).toBe(200);
    expect(seen.body.presence).toBe("unavailable");
    expect(seen.body.last_active_ago).toBeNumber();
    const refused = await server.request("GET", `${v3}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: carol.access_token });
    expect(refused.status).toBe(403);
  });

  test("setting another user's presence is 403, an unknown state 400", async () => {
    const other = await server.request("PUT", `${v3}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: bob.access_token, body: { presence: "online" } });
    expect(other.status).toBe(403);
    const bad = await server.request("PUT", `${v3}/presence/${encodeURIComponent(bob.user_id)}/status`, { token: bob.access_token, body: { presence: "asleep" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errcode).toBe("M_INVALID_PARAM");
  });

  test("syncing marks the user online unless set_presence=offline", async () => {
    const dave = await server.register("pr-dave");
    await server.request("GET", `${v3}/sync?set_presence=offline`, { token: dave.access_token });
    expect(server.hs.store.presence.get(dave.user_id)).toBeUndefined();
    await server.request("GET", `${v3}/sync`, { token: dave.access_token });
    expect(server.hs.store.presence.get(dave.user_id)?.state).toBe("online");
  });

  test("with presence disabled nothing is stored or sent", async () => {
    const quiet = await startTestServer({ presence_enabled: false });
    try {
      const user = await quiet.register("pr-quiet");
      const sync = await quiet.request("GET", `${v3}/sync`, { token: user.access_token });
      expect(sync.body.presence.events).toEqual([]);
      expect(quiet.hs.store.presence.get(user.user_id)).toBeUndefined();
    } finally {
      await quiet.stop();
    }
  });
});
