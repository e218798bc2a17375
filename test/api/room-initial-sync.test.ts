// GET /rooms/{roomId}/initialSync (spec: room_initial_sync.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { createRoom, getRoom, joinRoom, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("is-alice");
  bob = await server.register("is-bob");
});
afterAll(() => server.stop());

describe("GET /rooms/{roomId}/initialSync", () => {
  test("a member gets state, the latest messages oldest first, membership and visibility", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat", name: "Snapshot" });
    const first = await sendMessage(server, alice, roomId, "one");
    const second = await sendMessage(server, alice, roomId, "two");
    const response = await getRoom(server, alice, roomId, "initialSync", { limit: "2" });
    expect(response.status).toBe(200);
    const body = response.body;
    expect(body.room_id).toBe(roomId);
    expect(body.membership).toBe("join");
    expect(body.visibility).toBe("private");
    expect(body.messages.chunk.map((event: any) => event.event_id)).toEqual([first, second]);
    expect(body.messages.start).toBeString();
    expect(body.messages.end).toBeString();
    expect(body.state.find((event: any) => event.type === "m.room.name").content).toEqual({ name: "Snapshot" });
    expect(body.presence).toEqual([]);
    // `start` pages further back through /messages.
    const older = await getRoom(server, alice, roomId, "messages", { from: body.messages.start, dir: "b", limit: "1" });
    expect(older.status).toBe(200);
    expect(older.body.chunk[0].event_id).not.toBe(first);
  });

  test("peeking a world_readable room works; other rooms are 403 for non-members", async () => {
    const readable = await createRoom(server, alice, { preset: "private_chat" });
    await putState(server, alice, readable, "m.room.history_visibility", "", { history_visibility: "world_readable" });
    const said = await sendMessage(server, alice, readable, "visible to all");
    const peek = await getRoom(server, bob, readable, "initialSync");
    expect(peek.status).toBe(200);
    expect(peek.body.membership).toBeUndefined();
    expect(peek.body.messages.chunk.map((event: any) => event.event_id)).toContain(said);
    const closed = await createRoom(server, alice, { preset: "public_chat" });
    await sendMessage(server, alice, closed, "members only");
    expectError(await getRoom(server, bob, closed, "initialSync"), 403, "M_FORBIDDEN");
    await joinRoom(server, bob, closed);
    expect((await getRoom(server, bob, closed, "initialSync")).status).toBe(200);
  });

  test("bad input: unknown room 403, malformed id 400, bad limit 400, no login 401", async () => {
    expectError(await getRoom(server, alice, `!nowhere:${server.hs.config.server_name}`, "initialSync"), 403, "M_FORBIDDEN");
    expectError(await getRoom(server, alice, "nowhere", "initialSync"), 400, "M_INVALID_PARAM");
    const roomId = await createRoom(server, alice, {});
    expectError(await getRoom(server, alice, roomId, "initialSync", { limit: "-3" }), 400, "M_INVALID_PARAM");
    expectError(await server.request("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/initialSync`), 401, "M_MISSING_TOKEN");
  });
});
