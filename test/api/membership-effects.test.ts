// What a membership change does beyond the member event: a banned user still sees
// the ban, and someone who leaves stops typing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
let server: TestServer;
let alice: { user_id: string; access_token: string };
let bob: { user_id: string; access_token: string };

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("fx-alice");
  bob = await server.register("fx-bob");
});
afterAll(() => server.stop());

async function sharedRoom(): Promise<string> {
  const room = await server.request("POST", `${v3}/createRoom`, { token: alice.access_token, body: { preset: "public_chat" } });
  await server.request("POST", `${v3}/rooms/${encodeURIComponent(room.body.room_id)}/join`, { token: bob.access_token, body: {} });
  return room.body.room_id;
}

describe("membership effects", () => {
  test("a banned user can read the ban in /messages, even where only members read history", async () => {
    const roomId = await sharedRoom();
    const room = encodeURIComponent(roomId);
    const visibility = await server.request("PUT", `${v3}/rooms/${room}/state/m.room.history_visibility`, {
      token: alice.access_token,
      body: { history_visibility: "joined" },
    });
    expect(visibility.status).toBe(200);
    const ban = await server.request("POST", `${v3}/rooms/${room}/ban`, { token: alice.access_token, body: { user_id: bob.user_id, reason: "spam" } });
    expect(ban.status).toBe(200);
    const page = await server.request("GET", `${v3}/rooms/${room}/messages?dir=b&limit=5`, { token: bob.access_token });
    expect(page.status).toBe(200);
    const own = page.body.chunk.find((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(own?.content.membership).toBe("ban");
    expect(own?.content.reason).toBe("spam");
  });

  test("leaving a room clears the leaver's typing notification", async () => {
    const roomId = await sharedRoom();
    const room = encodeURIComponent(roomId);
    await server.request("PUT", `${v3}/rooms/${room}/typing/${encodeURIComponent(bob.user_id)}`, {
      token: bob.access_token,
      body: { typing: true, timeout: 30000 },
    });
    expect(server.hs.typing.usersIn(roomId)).toContain(bob.user_id);
    await server.request("POST", `${v3}/rooms/${room}/leave`, { token: bob.access_token, body: {} });
    expect(server.hs.typing.usersIn(roomId)).not.toContain(bob.user_id);
    const sync = await server.request("GET", `${v3}/sync`, { token: alice.access_token });
    const typing = sync.body.rooms.join[roomId].ephemeral.events.find((event: any) => event.type === "m.typing");
    expect(typing?.content.user_ids ?? []).not.toContain(bob.user_id);
  });
});
