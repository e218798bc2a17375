// Reporting content (spec: Client-Server API, "Reporting content"; report_content.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, joinRoom, leaveRoom, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let eve: User;
let admin: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("rep-alice");
  bob = await server.register("rep-bob");
  eve = await server.register("rep-eve");
  admin = await server.register("rep-admin");
  server.hs.store.users.setAdmin(admin.user_id, true);
});
afterAll(() => server.stop());

const reports = () => server.hs.store.reports.list();
const room = (roomId: string) => `${CLIENT}/rooms/${encodeURIComponent(roomId)}`;
const reportEvent = (user: User, roomId: string, eventId: string, body: unknown) =>
  server.request("POST", `${room(roomId)}/report/${encodeURIComponent(eventId)}`, { token: user.access_token, body });

/** Runs `work` and asserts that no report was stored meanwhile. */
async function expectNoReport(work: () => Promise<unknown>) {
  const before = reports().length;
  await work();
  expect(reports().length).toBe(before);
}

describe("POST /rooms/{roomId}/report/{eventId}", () => {
  test("a member reports an event: stored with reporter, reason, score and the sender", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const eventId = await sendMessage(server, alice, roomId, "offensive");
    const response = await reportEvent(bob, roomId, eventId, { reason: "rude", score: -100 });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect(reports().at(-1)).toMatchObject({ kind: "event", reporter: bob.user_id, roomId, eventId, targetUserId: alice.user_id, reason: "rude", score: -100 });
    // reason and score are both optional.
    expect((await reportEvent(bob, roomId, eventId, {})).status).toBe(200);
  });

  test("404 when not joined, for unknown events and rooms, and for events of another room; nothing stored", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    const other = await createRoom(server, alice, {});
    const eventId = await sendMessage(server, alice, roomId, "hello");
    const hidden = await sendMessage(server, alice, other, "secret");
    await expectNoReport(async () => {
      expectError(await reportEvent(eve, roomId, eventId, { reason: "x" }), 404, "M_NOT_FOUND");
      expectError(await reportEvent(alice, roomId, "$unknown", { reason: "x" }), 404, "M_NOT_FOUND");
      expectError(await reportEvent(alice, `!nowhere:${server.hs.config.server_name}`, eventId, { reason: "x" }), 404, "M_NOT_FOUND");
      expectError(await reportEvent(alice, roomId, hidden, { reason: "x" }), 404, "M_NOT_FOUND");
    });
  });

  test("events from before a member joined that history visibility hides: 404", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "joined" });
    const before = await sendMessage(server, alice, roomId, "before bob");
    await joinRoom(server, bob, roomId);
    await expectNoReport(async () => expectError(await reportEvent(bob, roomId, before, {}), 404, "M_NOT_FOUND"));
    await leaveRoom(server, bob, roomId);
    const after = await sendMessage(server, alice, roomId, "after bob left");
    await expectNoReport(async () => expectError(await reportEvent(bob, roomId, after, {}), 404, "M_NOT_FOUND"));
  });

  test("bad input: score out of range 400 M_INVALID_PARAM, wrong types 400 M_BAD_JSON, bad room id 400; no login 401", async () => {
    const roomId = await createRoom(server, alice, {});
    const eventId = await sendMessage(server, alice, roomId, "hi");
    await expectNoReport(async () => {
      expectError(await reportEvent(alice, roomId, eventId, { score: 5 }), 400, "M_INVALID_PARAM");
      expectError(await reportEvent(alice, roomId, eventId, { score: -101 }), 400, "M_INVALID_PARAM");
      expectError(await reportEvent(alice, roomId, eventId, { score: "bad" }), 400, "M_BAD_JSON");
      expectError(await reportEvent(alice, roomId, eventId, { reason: 7 }), 400, "M_BAD_JSON");
      expectError(await reportEvent(alice, "not-a-room", eventId, {}), 400, "M_INVALID_PARAM");
      expectError(await server.request("POST", `${room(roomId)}/report/${encodeURIComponent(eventId)}`, { body: {} }), 401, "M_MISSING_TOKEN");
    });
  });
});

describe("POST /rooms/{roomId}/report (v1.13) and /users/{userId}/report (v1.14)", () => {
  test("anyone may report a room they are not in", async () => {
    const roomId = await createRoom(server, alice, {});
    const response = await server.request("POST", `${room(roomId)}/report`, { token: eve.access_token, body: { reason: "spam" } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect(reports().at(-1)).toMatchObject({ kind: "room", reporter: eve.user_id, roomId, reason: "spam", eventId: null });
  });

  test("unknown room: 404; reason is required: 400; nothing stored", async () => {
    await expectNoReport(async () => {
      const unknown = `!nowhere:${server.hs.config.server_name}`;
      expectError(await server.request("POST", `${room(unknown)}/report`, { token: eve.access_token, body: { reason: "x" } }), 404, "M_NOT_FOUND");
      const roomId = await createRoom(server, alice, {});
      expectError(await server.request("POST", `${room(roomId)}/report`, { token: eve.access_token, body: {} }), 400, "M_MISSING_PARAM");
    });
  });

  test("reporting a user: stored; unknown user 404; malformed id 400", async () => {
    const path = (userId: string) => `${CLIENT}/users/${encodeURIComponent(userId)}/report`;
    const response = await server.request("POST", path(bob.user_id), { token: eve.access_token, body: { reason: "harassment" } });
    expect(response.status).toBe(200);
    expect(reports().at(-1)).toMatchObject({ kind: "user", reporter: eve.user_id, targetUserId: bob.user_id, reason: "harassment" });
    await expectNoReport(async () => {
      expectError(await server.request("POST", path(`@ghost:${server.hs.config.server_name}`), { token: eve.access_token, body: { reason: "x" } }), 404, "M_NOT_FOUND");
      expectError(await server.request("POST", path("ghost"), { token: eve.access_token, body: { reason: "x" } }), 400, "M_INVALID_PARAM");
    });
  });
});

describe("admins read event reports (Synapse's /_synapse/admin/v1/event_reports)", () => {
  const list = (user: User, query = "") => server.request("GET", `/_synapse/admin/v1/event_reports${query}`, { token: user.access_token });

  test("newest first, paged, with the room's name and the event", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat", name: "Reported room" });
    await joinRoom(server, bob, roomId);
    const first = await sendMessage(server, alice, roomId, "first");
    const second = await sendMessage(server, alice, roomId, "second");
    expect((await reportEvent(bob, roomId, first, { reason: "one" })).status).toBe(200);
    expect((await reportEvent(bob, roomId, second, { reason: "two", score: -50 })).status).toBe(200);
    const page = await list(admin, "?limit=1");
    expect(page.status).toBe(200);
    expect(page.body.event_reports).toHaveLength(1);
    expect(page.body.event_reports[0]).toMatchObject({ room_id: roomId, name: "Reported room", event_id: second, user_id: bob.user_id, sender: alice.user_id, reason: "two", score: -50 });
    expect(page.body.total).toBeGreaterThanOrEqual(2);
    expect(page.body.next_token).toBe(1);
    const next = await list(admin, `?limit=1&from=${page.body.next_token}`);
    expect(next.body.event_reports[0].event_id).toBe(first);
    const details = await server.request("GET", `/_synapse/admin/v1/event_reports/${page.body.event_reports[0].id}`, { token: admin.access_token });
    expect(details.status).toBe(200);
    expect(details.body.event_json.content.body).toBe("second");
  });

  test("non-admins get 403; unknown report 404; bad parameters 400", async () => {
    expectError(await list(bob), 403, "M_FORBIDDEN");
    expectError(await server.request("GET", "/_synapse/admin/v1/event_reports/999999", { token: admin.access_token }), 404, "M_NOT_FOUND");
    expectError(await server.request("GET", "/_synapse/admin/v1/event_reports/abc", { token: admin.access_token }), 400, "M_INVALID_PARAM");
    expectError(await list(admin, "?dir=x"), 400, "M_INVALID_PARAM");
    expectError(await list(admin, "?limit=-1"), 400, "M_INVALID_PARAM");
  });
});
