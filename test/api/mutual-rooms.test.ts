// GET /_matrix/client/v1/mutual_rooms (spec: mutual_rooms.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { createRoom, inviteUser, joinRoom, leaveRoom, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("mutual-alice");
  bob = await server.register("mutual-bob");
});
afterAll(() => server.stop());

const mutual = (user: User, query: string) => server.request("GET", `/_matrix/client/v1/mutual_rooms?${query}`, { token: user.access_token });

describe("GET /mutual_rooms", () => {
  test("lists the rooms both users are joined to, not those one has only been invited to or has left", async () => {
    const both = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, both);
    const invitedOnly = await createRoom(server, alice, { preset: "private_chat" });
    await inviteUser(server, alice, invitedOnly, bob.user_id);
    const left = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, left);
    await leaveRoom(server, bob, left);
    await createRoom(server, alice, {});

    const response = await mutual(alice, `user_id=${encodeURIComponent(bob.user_id)}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ joined: [both], count: 1 });
    expect((await mutual(bob, `user_id=${encodeURIComponent(alice.user_id)}`)).body).toEqual({ joined: [both], count: 1 });
  });

  test("an unknown user shares nothing; bad user ids, one's own id and unknown tokens are M_INVALID_PARAM", async () => {
    expect((await mutual(alice, `user_id=${encodeURIComponent("@nobody:localhost")}`)).body).toEqual({ joined: [], count: 0 });
    expectError(await mutual(alice, "user_id=bob"), 400, "M_INVALID_PARAM");
    expectError(await mutual(alice, `user_id=${encodeURIComponent(alice.user_id)}`), 400, "M_INVALID_PARAM");
    expectError(await mutual(alice, `user_id=${encodeURIComponent(bob.user_id)}&from=abc`), 400, "M_INVALID_PARAM");
    expectError(await mutual(alice, ""), 400, "M_MISSING_PARAM");
    expect((await server.request("GET", `/_matrix/client/v1/mutual_rooms?user_id=${encodeURIComponent(bob.user_id)}`)).status).toBe(401);
  });
});
