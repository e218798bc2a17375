// Sending and reading room events (spec: Client-Server API, "Sending events to a
// room", "Getting events for a room", "Redactions"; room_send.yaml, room_state.yaml,
// rooms.yaml, redaction.yaml, message_pagination.yaml, event_context.yaml,
// room_event_by_timestamp.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, sleep } from "../helpers/assert";
import {
  CLIENT,
  createRoom,
  expectNothingStored,
  getRoom,
  joinRoom,
  leaveRoom,
  newTxnId,
  putState,
  sendMessage,
  storedPdu,
  storedRoomEvents,
  timeline,
  type User,
} from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

const PASSWORD = "correct horse battery staple";

let server: TestServer;
let alice: User;
let aliceLaptop: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("events-alice");
  bob = await server.register("events-bob");
  carol = await server.register("events-carol");
  const login = await server.request("POST", `${CLIENT}/login`, {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: "events-alice" }, password: PASSWORD },
  });
  expect(login.status).toBe(200);
  aliceLaptop = login.body;
  expect(aliceLaptop.device_id).not.toBe(alice.device_id);
});
afterAll(() => server.stop());

const roomPath = (roomId: string, rest: string) => `${CLIENT}/rooms/${encodeURIComponent(roomId)}/${rest}`;

function send(user: User, roomId: string, txnId: string, content: unknown, type = "m.room.message") {
  return server.request("PUT", roomPath(roomId, `send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`), { token: user.access_token, body: content });
}

function redact(user: User, roomId: string, eventId: string, body: unknown = {}, txnId = newTxnId()) {
  return server.request("PUT", roomPath(roomId, `redact/${encodeURIComponent(eventId)}/${txnId}`), { token: user.access_token, body });
}

async function getEvent(user: User, roomId: string, eventId: string) {
  const response = await getRoom(server, user, roomId, `event/${encodeURIComponent(eventId)}`);
  expect(response.status).toBe(200);
  return response.body;
}

/** A public room of alice's with bob joined. */
async function sharedRoom(body: Record<string, unknown> = {}): Promise<string> {
  const roomId = await createRoom(server, alice, { preset: "public_chat", ...body });
  await joinRoom(server, bob, roomId);
  return roomId;
}

describe("PUT /send/{eventType}/{txnId}", () => {
  test("returns the event id, and the event reads back as sent", async () => {
    const roomId = await sharedRoom();
    const response = await send(bob, roomId, "t1", { msgtype: "m.text", body: "hello" });
    expect(response.status).toBe(200);
    expect(response.body.event_id).toMatch(/^\$/);
    const event = await getEvent(alice, roomId, response.body.event_id);
    expect(event).toMatchObject({
      event_id: response.body.event_id,
      room_id: roomId,
      type: "m.room.message",
      sender: bob.user_id,
      content: { msgtype: "m.text", body: "hello" },
    });
    expect(event.state_key).toBeUndefined();
    expect(event.origin_server_ts).toBeNumber();
    expect(event.unsigned.age).toBeNumber();
  });

  test("is idempotent per device and txnId: one event, the same event_id", async () => {
    const roomId = await sharedRoom();
    const first = await send(alice, roomId, "same-txn", { msgtype: "m.text", body: "once" });
    expect(first.status).toBe(200);
    const count = storedRoomEvents(server, roomId).length;
    const again = await send(alice, roomId, "same-txn", { msgtype: "m.text", body: "once" });
    expect(again.status).toBe(200);
    expect(again.body.event_id).toBe(first.body.event_id);
    expect(storedRoomEvents(server, roomId)).toHaveLength(count);

    // Another device of the same user with the same txnId sends a new event.
    const laptop = await send(aliceLaptop, roomId, "same-txn", { msgtype: "m.text", body: "once" });
    expect(laptop.status).toBe(200);
    expect(laptop.body.event_id).not.toBe(first.body.event_id);
    expect(storedRoomEvents(server, roomId)).toHaveLength(count + 1);
    // So does another user.
    const other = await send(bob, roomId, "same-txn", { msgtype: "m.text", body: "once" });
    expect(other.body.event_id).not.toBe(first.body.event_id);
    expect(storedRoomEvents(server, roomId)).toHaveLength(count + 2);
  });

  test("transaction_id is in unsigned only for the device that sent the event", async () => {
    const roomId = await sharedRoom();
    const txnId = newTxnId();
    const sent = await send(alice, roomId, txnId, { msgtype: "m.text", body: "mine" });
    const eventId = sent.body.event_id;
    expect((await getEvent(alice, roomId, eventId)).unsigned.transaction_id).toBe(txnId);
    expect((await getEvent(aliceLaptop, roomId, eventId)).unsigned).not.toHaveProperty("transaction_id");
    expect((await getEvent(bob, roomId, eventId)).unsigned).not.toHaveProperty("transaction_id");
    const page = await getRoom(server, alice, roomId, "messages", { dir: "b", limit: "1" });
    expect(page.body.chunk[0].unsigned.transaction_id).toBe(txnId);
    const bobPage = await getRoom(server, bob, roomId, "messages", { dir: "b", limit: "1" });
    expect(bobPage.body.chunk[0].event_id).toBe(eventId);
    expect(bobPage.body.chunk[0].unsigned).not.toHaveProperty("transaction_id");
  });

  test("sending into a room one has not joined is 403 and stores nothing", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    const response = await expectNothingStored(server, () => send(bob, roomId, newTxnId(), { msgtype: "m.text", body: "let me" }));
    expectError(response, 403, "M_FORBIDDEN");
    // Invited is not joined either.
    const invited = await createRoom(server, alice, { invite: [bob.user_id] });
    expectError(await expectNothingStored(server, () => send(bob, invited, newTxnId(), { body: "x" })), 403, "M_FORBIDDEN");
  });

  test("an event over 65536 bytes is 413 M_TOO_LARGE and stores nothing; one under it is accepted", async () => {
    const roomId = await sharedRoom();
    const large = await expectNothingStored(server, () => send(bob, roomId, newTxnId(), { msgtype: "m.text", body: "x".repeat(66_000) }));
    expectError(large, 413, "M_TOO_LARGE");
    const stateLarge = await expectNothingStored(server, () =>
      server.request("PUT", roomPath(roomId, "state/org.example.big/"), { token: alice.access_token, body: { data: "y".repeat(66_000) } }),
    );
    expectError(stateLarge, 413, "M_TOO_LARGE");
    const fits = await send(bob, roomId, newTxnId(), { msgtype: "m.text", body: "x".repeat(60_000) });
    expect(fits.status).toBe(200);
  });

  test("a body that is not a JSON object is refused", async () => {
    const roomId = await sharedRoom();
    expectError(await expectNothingStored(server, () => send(bob, roomId, newTxnId(), "[1,2]")), 400, "M_BAD_JSON");
    expectError(await expectNothingStored(server, () => send(bob, roomId, newTxnId(), "{not json")), 400, "M_NOT_JSON");
  });
});

describe("state events", () => {
  test("PUT and GET with an empty state key, with and without the trailing slash", async () => {
    const roomId = await sharedRoom();
    const withoutSlash = await server.request("PUT", roomPath(roomId, "state/m.room.topic"), { token: alice.access_token, body: { topic: "no slash" } });
    expect(withoutSlash.status).toBe(200);
    expect(withoutSlash.body.event_id).toMatch(/^\$/);
    expect((await getRoom(server, bob, roomId, "state/m.room.topic")).body).toEqual({ topic: "no slash" });
    expect((await getRoom(server, bob, roomId, "state/m.room.topic/")).body).toEqual({ topic: "no slash" });

    const withSlash = await server.request("PUT", roomPath(roomId, "state/m.room.topic/"), { token: alice.access_token, body: { topic: "slash" } });
    expect(withSlash.status).toBe(200);
    expect((await getRoom(server, bob, roomId, "state/m.room.topic")).body).toEqual({ topic: "slash" });
    const event = await getEvent(bob, roomId, withSlash.body.event_id);
    expect(event.state_key).toBe("");
    expect(event.type).toBe("m.room.topic");
  });

  test("PUT and GET with a state key; unknown state is 404; format=event gives the whole event", async () => {
    const roomId = await sharedRoom();
    const eventId = await putState(server, alice, roomId, "org.example.widget", "w1", { url: "https://example.org" });
    expect((await getRoom(server, bob, roomId, "state/org.example.widget/w1")).body).toEqual({ url: "https://example.org" });
    const full = await getRoom(server, bob, roomId, "state/org.example.widget/w1", { format: "event" });
    expect(full.body).toMatchObject({ event_id: eventId, type: "org.example.widget", state_key: "w1", sender: alice.user_id });
    expectError(await getRoom(server, bob, roomId, "state/org.example.widget/w2"), 404, "M_NOT_FOUND");
    expectError(await getRoom(server, bob, roomId, "state/org.example.widget"), 404, "M_NOT_FOUND");
  });

  test("a state key starting with @ that is not the sender's own is 403", async () => {
    const roomId = await sharedRoom();
    const response = await expectNothingStored(server, () =>
      server.request("PUT", roomPath(roomId, `state/org.example.presence/${encodeURIComponent(bob.user_id)}`), { token: alice.access_token, body: { a: 1 } }),
    );
    expectError(response, 403, "M_FORBIDDEN");
    // The sender's own user id is allowed.
    await putState(server, alice, roomId, "org.example.presence", alice.user_id, { a: 1 });
  });

  test("a member below state_default cannot send state (403, nothing stored)", async () => {
    const roomId = await sharedRoom();
    const response = await expectNothingStored(server, () =>
      server.request("PUT", roomPath(roomId, "state/m.room.topic"), { token: bob.access_token, body: { topic: "bob's" } }),
    );
    expectError(response, 403, "M_FORBIDDEN");
    expect((await getRoom(server, bob, roomId, "state/m.room.topic")).status).toBe(404);
  });

  test("power-level changes beyond the sender's own level are 403", async () => {
    const roomId = await sharedRoom({
      power_level_content_override: {
        users: { [alice.user_id]: 100, [bob.user_id]: 50 },
        events: { "m.room.power_levels": 50 },
      },
    });
    await joinRoom(server, carol, roomId);
    const levels = (await getRoom(server, bob, roomId, "state/m.room.power_levels")).body;
    const change = (users: Record<string, number>) =>
      server.request("PUT", roomPath(roomId, "state/m.room.power_levels/"), { token: bob.access_token, body: { ...levels, users } });
    // Raising someone above one's own level, raising oneself, lowering a higher user.
    for (const users of [
      { [alice.user_id]: 100, [bob.user_id]: 50, [carol.user_id]: 60 },
      { [alice.user_id]: 100, [bob.user_id]: 100 },
      { [alice.user_id]: 10, [bob.user_id]: 50 },
    ]) {
      expectError(await expectNothingStored(server, () => change(users)), 403, "M_FORBIDDEN");
    }
    const ban = await expectNothingStored(server, () =>
      server.request("PUT", roomPath(roomId, "state/m.room.power_levels/"), { token: bob.access_token, body: { ...levels, ban: 75 } }),
    );
    expectError(ban, 403, "M_FORBIDDEN");
    // Up to one's own level is fine.
    const ok = await change({ [alice.user_id]: 100, [bob.user_id]: 50, [carol.user_id]: 50 });
    expect(ok.status).toBe(200);
    expect((await getRoom(server, bob, roomId, "state/m.room.power_levels")).body.users[carol.user_id]).toBe(50);
  });

  test("GET /state returns the room's current state events", async () => {
    const roomId = await sharedRoom({ name: "Stateful" });
    await putState(server, alice, roomId, "m.room.name", "", { name: "Renamed" });
    const response = await getRoom(server, bob, roomId, "state");
    expect(response.status).toBe(200);
    const keys = response.body.map((event: any) => `${event.type}|${event.state_key}`).sort();
    expect(keys).toEqual(
      [
        "m.room.create|",
        `m.room.member|${alice.user_id}`,
        `m.room.member|${bob.user_id}`,
        "m.room.power_levels|",
        "m.room.join_rules|",
        "m.room.history_visibility|",
        "m.room.guest_access|",
        "m.room.name|",
      ].sort(),
    );
    const name = response.body.find((event: any) => event.type === "m.room.name");
    expect(name.content).toEqual({ name: "Renamed" });
    for (const event of response.body) {
      expect(event.event_id).toMatch(/^\$/);
      expect(event.room_id).toBe(roomId);
      expect(event.sender).toBeString();
    }
  });

  test("a replaced state event carries prev_content, prev_sender and replaces_state", async () => {
    const roomId = await sharedRoom();
    const first = await putState(server, alice, roomId, "m.room.topic", "", { topic: "one" });
    const second = await putState(server, alice, roomId, "m.room.topic", "", { topic: "two" });
    const firstEvent = await getEvent(bob, roomId, first);
    expect(firstEvent.unsigned).not.toHaveProperty("replaces_state");
    expect(firstEvent.unsigned).not.toHaveProperty("prev_content");
    const secondEvent = await getEvent(bob, roomId, second);
    expect(secondEvent.unsigned.replaces_state).toBe(first);
    expect(secondEvent.unsigned.prev_content).toEqual({ topic: "one" });
    expect(secondEvent.unsigned.prev_sender).toBe(alice.user_id);
    // The same in /messages.
    const page = await getRoom(server, bob, roomId, "messages", { dir: "b", limit: "1" });
    expect(page.body.chunk[0].unsigned.prev_content).toEqual({ topic: "one" });
  });
});

describe("GET /event", () => {
  test("an unknown event or one from another room is 404", async () => {
    const roomId = await sharedRoom();
    const other = await sharedRoom();
    const elsewhere = await sendMessage(server, alice, other, "elsewhere");
    expectError(await getRoom(server, bob, roomId, "event/$unknown"), 404, "M_NOT_FOUND");
    expectError(await getRoom(server, bob, roomId, `event/${encodeURIComponent(elsewhere)}`), 404, "M_NOT_FOUND");
  });
});

describe("redactions", () => {
  test("a sender redacts their own event: the stored PDU loses its content, GET /event shows redacted_because", async () => {
    const roomId = await sharedRoom();
    const message = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "oops", url: "mxc://x/y" });
    const response = await redact(bob, roomId, message, { reason: "typo" });
    expect(response.status).toBe(200);
    const redactionId = response.body.event_id;
    expect(redactionId).toMatch(/^\$/);

    const pdu = storedPdu(server, message);
    expect(pdu.content).toEqual({});
    expect(JSON.stringify(pdu)).not.toContain("oops");
    // The hashes and signatures of the original remain.
    expect(pdu.hashes.sha256).toBeString();
    expect(pdu.signatures[server.hs.config.server_name]).toBeDefined();
    expect(server.hs.store.events.get(message)!.redactedBy).toBe(redactionId);

    const event = await getEvent(alice, roomId, message);
    expect(event.content).toEqual({});
    expect(event.unsigned.redacted_because).toMatchObject({
      event_id: redactionId,
      type: "m.room.redaction",
      sender: bob.user_id,
      redacts: message,
      content: { reason: "typo", redacts: message },
    });
    // In /messages too.
    const page = await getRoom(server, alice, roomId, "messages", { dir: "b", limit: "2" });
    expect(page.body.chunk.map((e: any) => e.event_id)).toEqual([redactionId, message]);
    expect(page.body.chunk[1].content).toEqual({});
  });

  test("redacting another user's event needs the redact level (403 otherwise, nothing stored)", async () => {
    const roomId = await sharedRoom();
    const alices = await sendMessage(server, alice, roomId, "alice's words");
    const response = await expectNothingStored(server, () => redact(bob, roomId, alices));
    expectError(response, 403, "M_FORBIDDEN");
    expect(storedPdu(server, alices).content.body).toBe("alice's words");
    expect(server.hs.store.events.get(alices)!.redactedBy).toBeNull();

    // The room's creator (100 >= redact 50) may redact bob's.
    const bobs = await sendMessage(server, bob, roomId, "bob's words");
    expect((await redact(alice, roomId, bobs)).status).toBe(200);
    expect(storedPdu(server, bobs).content).toEqual({});
  });

  test("the redaction of a member event keeps its membership", async () => {
    const roomId = await sharedRoom();
    const join = server.hs.store.state.currentEventId(roomId, "m.room.member", bob.user_id)!;
    expect((await redact(alice, roomId, join, { reason: "cleanup" })).status).toBe(200);
    const pdu = storedPdu(server, join);
    expect(pdu.content).toEqual({ membership: "join" });
  });

  test("is idempotent per txnId", async () => {
    const roomId = await sharedRoom();
    const message = await sendMessage(server, bob, roomId, "twice");
    const first = await redact(bob, roomId, message, {}, "redact-txn");
    const count = storedRoomEvents(server, roomId).length;
    const again = await redact(bob, roomId, message, {}, "redact-txn");
    expect(again.status).toBe(200);
    expect(again.body.event_id).toBe(first.body.event_id);
    expect(storedRoomEvents(server, roomId)).toHaveLength(count);
  });

  test("a room version 10 redaction has a top-level redacts, shown also in content to clients", async () => {
    const roomId = await sharedRoom({ room_version: "10" });
    const message = await sendMessage(server, bob, roomId, "v10 message");
    const response = await redact(bob, roomId, message, { reason: "v10" });
    expect(response.status).toBe(200);
    const redactionId = response.body.event_id;
    const pdu = storedPdu(server, redactionId);
    expect(pdu.redacts).toBe(message);
    expect(pdu.content).toEqual({ reason: "v10" });
    const event = await getEvent(alice, roomId, redactionId);
    expect(event.redacts).toBe(message);
    expect(event.content).toEqual({ reason: "v10", redacts: message });
    expect(storedPdu(server, message).content).toEqual({});
  });

  test("a room version 11 redaction has redacts in content, shown also at the top level to clients", async () => {
    const roomId = await sharedRoom({ room_version: "11" });
    const message = await sendMessage(server, bob, roomId, "v11 message");
    const redactionId = (await redact(bob, roomId, message)).body.event_id;
    const pdu = storedPdu(server, redactionId);
    expect(pdu.redacts).toBeUndefined();
    expect(pdu.content).toEqual({ redacts: message });
    const event = await getEvent(alice, roomId, redactionId);
    expect(event.redacts).toBe(message);
    expect(event.content).toEqual({ redacts: message });
  });

  test("an m.room.redaction sent through /send is checked and applied like one through /redact", async () => {
    const roomId = await sharedRoom();
    const alices = await sendMessage(server, alice, roomId, "not bob's to hide");
    const refused = await expectNothingStored(server, () => send(bob, roomId, newTxnId(), { redacts: alices }, "m.room.redaction"));
    expectError(refused, 403, "M_FORBIDDEN");
    expect(storedPdu(server, alices).content.body).toBe("not bob's to hide");

    const bobs = await sendMessage(server, bob, roomId, "bob's own");
    const txnId = newTxnId();
    const own = await send(bob, roomId, txnId, { redacts: bobs, reason: "mine" }, "m.room.redaction");
    expect(own.status).toBe(200);
    expect(storedPdu(server, bobs).content).toEqual({});
    expect(server.hs.store.events.get(bobs)!.redactedBy).toBe(own.body.event_id);
    expect(storedPdu(server, own.body.event_id).content).toEqual({ redacts: bobs, reason: "mine" });
    // Idempotent like any send.
    expect((await send(bob, roomId, txnId, { redacts: bobs, reason: "mine" }, "m.room.redaction")).body.event_id).toBe(own.body.event_id);
    // Without a target it is refused.
    expectError(await expectNothingStored(server, () => send(bob, roomId, newTxnId(), { reason: "what?" }, "m.room.redaction")), 400, "M_INVALID_PARAM");
  });

  test("redacting from a room one is not in is 403", async () => {
    const roomId = await sharedRoom();
    const message = await sendMessage(server, alice, roomId, "mine");
    expectError(await expectNothingStored(server, () => redact(carol, roomId, message)), 403, "M_FORBIDDEN");
  });
});

describe("GET /messages", () => {
  let roomId: string;
  let allIds: string[];

  beforeAll(async () => {
    roomId = await sharedRoom();
    const other = await sharedRoom();
    // 311 messages (not a multiple of the page size), with another room's events in between.
    for (let i = 0; i < 311; i++) {
      await sendMessage(server, i % 2 === 0 ? alice : bob, roomId, `message ${i}`);
      if (i % 50 === 0) await sendMessage(server, alice, other, `other ${i}`);
    }
    allIds = storedRoomEvents(server, roomId).map((row) => row.eventId);
    expect(allIds.length).toBe(311 + 7); // 6 from createRoom, bob's join
  });

  async function page(query: Record<string, string>) {
    const response = await getRoom(server, bob, roomId, "messages", query);
    expect(response.status).toBe(200);
    return response.body;
  }

  test("backwards with limit 7 walks the whole room with no gap or duplicate", async () => {
    const seen: string[] = [];
    let from: string | undefined;
    let pages = 0;
    for (;;) {
      const query: Record<string, string> = { dir: "b", limit: "7" };
      if (from) query.from = from;
      const body = await page(query);
      pages++;
      expect(body.start).toBeString();
      if (from) expect(body.start).toBe(from);
      expect(body.chunk.length).toBeLessThanOrEqual(7);
      for (const event of body.chunk) expect(event.room_id).toBe(roomId);
      seen.push(...body.chunk.map((event: any) => event.event_id));
      if (body.end === undefined) {
        expect(body.chunk.length).toBeLessThan(7);
        break;
      }
      expect(body.chunk.length).toBe(7);
      from = body.end;
    }
    expect(pages).toBe(Math.ceil(allIds.length / 7));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...allIds].reverse());
  });

  test("forwards with limit 7 from the start walks the whole room in order", async () => {
    const seen: string[] = [];
    let from: string | undefined;
    let last: any;
    for (let i = 0; i < 100; i++) {
      const query: Record<string, string> = { dir: "f", limit: "7" };
      if (from) query.from = from;
      last = await page(query);
      seen.push(...last.chunk.map((event: any) => event.event_id));
      if (last.end === undefined) break;
      from = last.end;
    }
    expect(last.end).toBeUndefined();
    expect(seen).toEqual(allIds);
    // Origin timestamps never go backwards in a forward walk.
    const events = await timeline(server, bob, roomId);
    for (let i = 1; i < events.length; i++) expect(events[i].origin_server_ts).toBeGreaterThanOrEqual(events[i - 1].origin_server_ts);
  });

  test("a backward page's end token continues forwards from where it began", async () => {
    const latest = await page({ dir: "b", limit: "10" });
    const older = await page({ dir: "b", limit: "10", from: latest.end });
    // Forwards from the older page's end token gives the older page back in order.
    const forwards = await page({ dir: "f", limit: "10", from: older.end });
    expect(forwards.chunk.map((e: any) => e.event_id)).toEqual(older.chunk.map((e: any) => e.event_id).reverse());
  });

  test("start is the from token given, a sync token (with more parts) included", async () => {
    const latest = await page({ dir: "b", limit: "3" });
    const syncStyle = `${latest.end}_7_0`;
    const next = await page({ dir: "b", limit: "3", from: syncStyle });
    expect(next.start).toBe(syncStyle);
    const plain = await page({ dir: "b", limit: "3", from: latest.end });
    expect(next.chunk).toEqual(plain.chunk.map((e: any) => ({ ...e, unsigned: { ...e.unsigned, age: expect.any(Number) } })));
  });

  test("`to` stops the page", async () => {
    const first = await page({ dir: "b", limit: "5" });
    const second = await page({ dir: "b", limit: "5", from: first.end });
    const bounded = await page({ dir: "b", limit: "50", from: second.end, to: second.start });
    expect(bounded.chunk).toEqual([]);
    const all = await page({ dir: "b", limit: "50", to: second.end });
    expect(all.chunk.map((e: any) => e.event_id)).toEqual([...first.chunk, ...second.chunk].map((e: any) => e.event_id));
    expect(all.end).toBeUndefined();
  });

  test("a bad from, to, dir, limit or filter is 400", async () => {
    const queries: Record<string, string>[] = [
      { dir: "b", from: "garbage" },
      { dir: "b", from: "s-1" },
      { dir: "b", from: "" },
      { dir: "b", to: "t5" },
      { dir: "x" },
      { dir: "b", limit: "-1" },
      { dir: "b", limit: "ten" },
      { dir: "b", filter: "{not json" },
      { dir: "b", filter: JSON.stringify({ types: "m.room.message" }) },
    ];
    for (const query of queries) {
      const response = await getRoom(server, bob, roomId, "messages", query);
      expectError(response, 400, "M_INVALID_PARAM");
    }
  });
});

describe("GET /messages filters", () => {
  let roomId: string;

  beforeAll(async () => {
    roomId = await sharedRoom();
    await joinRoom(server, carol, roomId);
    await sendMessage(server, alice, roomId, "plain from alice");
    await sendMessage(server, bob, roomId, { msgtype: "m.image", body: "pic", url: "mxc://localhost/pic" });
    await sendMessage(server, bob, roomId, { reaction: true }, "org.example.custom");
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "filtered" });
    await sendMessage(server, alice, roomId, { msgtype: "m.file", body: "file", url: "mxc://localhost/file" });
  });

  async function filtered(filter: Record<string, unknown>, limit = "50") {
    const response = await getRoom(server, bob, roomId, "messages", { dir: "b", limit, filter: JSON.stringify(filter) });
    expect(response.status).toBe(200);
    return response.body;
  }

  test("types and not_types (with a trailing * wildcard)", async () => {
    const messages = await filtered({ types: ["m.room.message"] });
    expect(messages.chunk.map((e: any) => e.content.body)).toEqual(["file", "pic", "plain from alice"]);
    const rooms = await filtered({ types: ["m.room.*"] });
    expect(rooms.chunk.every((e: any) => e.type.startsWith("m.room."))).toBe(true);
    expect(rooms.chunk.some((e: any) => e.type === "org.example.custom")).toBe(false);
    const notMessages = await filtered({ not_types: ["m.room.message"] });
    expect(notMessages.chunk.length).toBeGreaterThan(0);
    expect(notMessages.chunk.some((e: any) => e.type === "m.room.message")).toBe(false);
    expect(notMessages.chunk.some((e: any) => e.type === "org.example.custom")).toBe(true);
    // not_types wins over types.
    const both = await filtered({ types: ["m.room.message"], not_types: ["m.room.message"] });
    expect(both.chunk).toEqual([]);
  });

  test("senders and not_senders", async () => {
    const bobs = await filtered({ senders: [bob.user_id] });
    expect(bobs.chunk.length).toBeGreaterThan(0);
    expect(bobs.chunk.every((e: any) => e.sender === bob.user_id)).toBe(true);
    expect(bobs.chunk.map((e: any) => e.type)).toEqual(["org.example.custom", "m.room.message", "m.room.member"]);
    const notAlice = await filtered({ not_senders: [alice.user_id] });
    expect(notAlice.chunk.some((e: any) => e.sender === alice.user_id)).toBe(false);
    expect(notAlice.chunk.some((e: any) => e.sender === carol.user_id)).toBe(true);
  });

  test("contains_url", async () => {
    const withUrl = await filtered({ contains_url: true });
    expect(withUrl.chunk.map((e: any) => e.content.body)).toEqual(["file", "pic"]);
    const withoutUrl = await filtered({ contains_url: false });
    expect(withoutUrl.chunk.length).toBeGreaterThan(0);
    expect(withoutUrl.chunk.some((e: any) => typeof e.content.url === "string")).toBe(false);
  });

  test("the filter's limit caps the page and paging past filtered-out events leaves no gap", async () => {
    const first = await filtered({ types: ["m.room.message"], limit: 1 });
    expect(first.chunk.map((e: any) => e.content.body)).toEqual(["file"]);
    const next = await getRoom(server, bob, roomId, "messages", { dir: "b", from: first.end, filter: JSON.stringify({ types: ["m.room.message"], limit: 1 }) });
    expect(next.body.chunk.map((e: any) => e.content.body)).toEqual(["pic"]);
  });

  test("lazy_load_members returns the member events of the chunk's senders", async () => {
    const body = await filtered({ lazy_load_members: true, types: ["m.room.message", "org.example.custom"] }, "2");
    // The two latest: alice's file and bob's custom event.
    const senders = new Set(body.chunk.map((e: any) => e.sender));
    expect(senders).toEqual(new Set([alice.user_id, bob.user_id]));
    expect(body.state).toBeArray();
    expect(body.state.every((e: any) => e.type === "m.room.member")).toBe(true);
    expect(new Set(body.state.map((e: any) => e.state_key))).toEqual(senders);

    const mixed = await filtered({ lazy_load_members: true, types: ["m.room.message"] });
    expect(new Set(mixed.state.map((e: any) => e.state_key))).toEqual(new Set([alice.user_id, bob.user_id]));
    // carol sent nothing, so her member event is not there.
    expect(mixed.state.some((e: any) => e.state_key === carol.user_id)).toBe(false);
    for (const member of mixed.state) expect(member.content.membership).toBe("join");
    // Without lazy loading there is no state block.
    expect((await filtered({ types: ["m.room.message"] })).state).toBeUndefined();
  });
});

describe("lazy-loaded members of a page", () => {
  test("are the senders' member events as they were when they sent, not as they are now", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await putState(server, alice, roomId, "m.room.member", alice.user_id, { membership: "join", displayname: "Alice Then" });
    await sendMessage(server, alice, roomId, "old message");
    await putState(server, alice, roomId, "m.room.member", alice.user_id, { membership: "join", displayname: "Alice Now" });
    await sendMessage(server, alice, roomId, "new message");

    const page = async (limit: number, from?: string) =>
      (await getRoom(server, alice, roomId, "messages", { dir: "b", limit: String(limit), ...(from ? { from } : {}), filter: JSON.stringify({ lazy_load_members: true, types: ["m.room.message"] }) })).body;
    const newest = await page(1);
    expect(newest.chunk.map((e: any) => e.content.body)).toEqual(["new message"]);
    expect(newest.state.map((e: any) => e.content.displayname)).toEqual(["Alice Now"]);
    const older = await page(1, newest.end);
    expect(older.chunk.map((e: any) => e.content.body)).toEqual(["old message"]);
    expect(older.state.map((e: any) => e.content.displayname)).toEqual(["Alice Then"]);
  });
});

describe("GET /context/{eventId}", () => {
  test("events before (newest first) and after (oldest first), the state at the last event, and tokens", async () => {
    const roomId = await sharedRoom();
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "before" });
    const ids: string[] = [];
    for (let i = 1; i <= 9; i++) ids.push(await sendMessage(server, alice, roomId, `m${i}`));
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "after" });

    const response = await getRoom(server, bob, roomId, `context/${encodeURIComponent(ids[4]!)}`, { limit: "4" });
    expect(response.status).toBe(200);
    const body = response.body;
    expect(body.event.event_id).toBe(ids[4]);
    expect(body.event.content.body).toBe("m5");
    expect(body.events_before.map((e: any) => e.content.body)).toEqual(["m4", "m3"]);
    expect(body.events_after.map((e: any) => e.content.body)).toEqual(["m6", "m7"]);
    // The state at m7: the first topic, both members.
    const topic = body.state.find((e: any) => e.type === "m.room.topic");
    expect(topic.content).toEqual({ topic: "before" });
    expect(body.state.filter((e: any) => e.type === "m.room.member").map((e: any) => e.state_key).sort()).toEqual([alice.user_id, bob.user_id].sort());

    // The tokens continue the timeline on either side.
    const earlier = await getRoom(server, bob, roomId, "messages", { dir: "b", from: body.start, limit: "2" });
    expect(earlier.body.chunk.map((e: any) => e.content.body)).toEqual(["m2", "m1"]);
    const later = await getRoom(server, bob, roomId, "messages", { dir: "f", from: body.end, limit: "2" });
    expect(later.body.chunk.map((e: any) => e.content.body)).toEqual(["m8", "m9"]);
  });

  test("an unknown event is 404; a room one cannot see is 403", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    const message = await sendMessage(server, alice, roomId, "private");
    expectError(await getRoom(server, alice, roomId, "context/$nope"), 404, "M_NOT_FOUND");
    expectError(await getRoom(server, carol, roomId, `context/${encodeURIComponent(message)}`), 403, "M_FORBIDDEN");
  });

  test("lazy_load_members keeps only the members who sent the events returned", async () => {
    const roomId = await sharedRoom();
    await joinRoom(server, carol, roomId);
    const target = await sendMessage(server, bob, roomId, "target");
    await sendMessage(server, alice, roomId, "after");
    const response = await getRoom(server, bob, roomId, `context/${encodeURIComponent(target)}`, {
      limit: "2",
      filter: JSON.stringify({ lazy_load_members: true }),
    });
    expect(response.status).toBe(200);
    const members = response.body.state.filter((e: any) => e.type === "m.room.member").map((e: any) => e.state_key);
    const senders = new Set([response.body.event, ...response.body.events_before, ...response.body.events_after].map((e: any) => e.sender));
    expect(new Set(members)).toEqual(senders);
  });
});

describe("GET /members and /joined_members", () => {
  test("membership, not_membership and at", async () => {
    const roomId = await sharedRoom();
    await joinRoom(server, carol, roomId);
    const token = (await getRoom(server, alice, roomId, "messages", { dir: "b", limit: "1" })).body.start;
    await leaveRoom(server, carol, roomId);
    await server.request("POST", roomPath(roomId, "ban"), { token: alice.access_token, body: { user_id: `@events-dave:${server.hs.config.server_name}` } });

    const all = await getRoom(server, bob, roomId, "members");
    expect(all.status).toBe(200);
    const byUser = Object.fromEntries(all.body.chunk.map((e: any) => [e.state_key, e.content.membership]));
    expect(byUser).toEqual({
      [alice.user_id]: "join",
      [bob.user_id]: "join",
      [carol.user_id]: "leave",
      [`@events-dave:${server.hs.config.server_name}`]: "ban",
    });
    for (const event of all.body.chunk) expect(event.type).toBe("m.room.member");

    const joined = await getRoom(server, bob, roomId, "members", { membership: "join" });
    expect(joined.body.chunk.map((e: any) => e.state_key).sort()).toEqual([alice.user_id, bob.user_id].sort());
    const notLeft = await getRoom(server, bob, roomId, "members", { not_membership: "leave" });
    expect(notLeft.body.chunk.map((e: any) => e.state_key).sort()).toEqual([alice.user_id, bob.user_id, `@events-dave:${server.hs.config.server_name}`].sort());
    const banned = await getRoom(server, bob, roomId, "members", { membership: "ban" });
    expect(banned.body.chunk).toHaveLength(1);

    // At the earlier token, carol was joined and dave unknown.
    const then = await getRoom(server, bob, roomId, "members", { at: token });
    expect(Object.fromEntries(then.body.chunk.map((e: any) => [e.state_key, e.content.membership]))).toEqual({
      [alice.user_id]: "join",
      [bob.user_id]: "join",
      [carol.user_id]: "join",
    });
    expectError(await getRoom(server, bob, roomId, "members", { at: "nonsense" }), 400, "M_INVALID_PARAM");
  });

  test("/joined_members maps joined users to their profile; non-members get 403", async () => {
    await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(bob.user_id)}/displayname`, { token: bob.access_token, body: { displayname: "Bob B" } });
    const roomId = await sharedRoom();
    await joinRoom(server, carol, roomId);
    await leaveRoom(server, carol, roomId);
    const response = await getRoom(server, alice, roomId, "joined_members");
    expect(response.status).toBe(200);
    // Registration gives a display name of the localpart; bob changed his.
    expect(response.body).toEqual({ joined: { [alice.user_id]: { display_name: "events-alice" }, [bob.user_id]: { display_name: "Bob B" } } });
    expectError(await getRoom(server, carol, roomId, "joined_members"), 403, "M_FORBIDDEN");
  });
});

describe("GET /v1/rooms/{roomId}/timestamp_to_event", () => {
  test("finds the closest event in each direction", async () => {
    const roomId = await sharedRoom();
    const before = await sendMessage(server, alice, roomId, "before");
    await sleep(5);
    const ts = Date.now();
    await sleep(5);
    const after = await sendMessage(server, alice, roomId, "after");
    const path = (query: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event?${query}`;

    const forwards = await server.request("GET", path(`ts=${ts}&dir=f`), { token: bob.access_token });
    expect(forwards.status).toBe(200);
    expect(forwards.body.event_id).toBe(after);
    expect(forwards.body.origin_server_ts).toBe(storedPdu(server, after).origin_server_ts);
    const backwards = await server.request("GET", path(`ts=${ts}&dir=b`), { token: bob.access_token });
    expect(backwards.body.event_id).toBe(before);
    expect(backwards.body.origin_server_ts).toBeLessThanOrEqual(ts);

    expectError(await server.request("GET", path(`ts=${Date.now() + 3_600_000}&dir=f`), { token: bob.access_token }), 404, "M_NOT_FOUND");
    expectError(await server.request("GET", path(`ts=${ts}&dir=x`), { token: bob.access_token }), 400, "M_INVALID_PARAM");
    expectError(await server.request("GET", path(`ts=soon&dir=f`), { token: bob.access_token }), 400, "M_INVALID_PARAM");
  });

  test("skips events the user may not see: a late joiner under joined history gets their first visible event", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "joined" } }],
    });
    // (The creation events came before history_visibility was set, under the default shared.)
    await sleep(5);
    const ts = Date.now();
    await sleep(5);
    const hidden = await sendMessage(server, alice, roomId, "hidden from bob");
    await joinRoom(server, bob, roomId);
    const bobsJoin = server.hs.store.state.currentEventId(roomId, "m.room.member", bob.user_id)!;
    const visible = await sendMessage(server, alice, roomId, "bob sees this");
    const path = (query: string) => `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event?${query}`;
    const forBob = await server.request("GET", path(`ts=${ts}&dir=f`), { token: bob.access_token });
    expect(forBob.status).toBe(200);
    expect(forBob.body.event_id).toBe(bobsJoin);
    // alice, there all along, gets the message bob may not see.
    const forAlice = await server.request("GET", path(`ts=${ts}&dir=f`), { token: alice.access_token });
    expect(forAlice.body.event_id).toBe(hidden);

    // After bob leaves, asking for "now" backwards gives his last visible event, not alice's later ones.
    await leaveRoom(server, bob, roomId);
    const bobsLeave = server.hs.store.state.currentEventId(roomId, "m.room.member", bob.user_id)!;
    await sendMessage(server, alice, roomId, "after bob left");
    const latest = await server.request("GET", path(`ts=${Date.now() + 1000}&dir=b`), { token: bob.access_token });
    expect(latest.status).toBe(200);
    expect(latest.body.event_id).toBe(bobsLeave);
    expect(visible).not.toBe(bobsLeave);
  });

  test("a non-member of a private room gets 403", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await sendMessage(server, alice, roomId, "private");
    const response = await server.request("GET", `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/timestamp_to_event?ts=0&dir=f`, { token: carol.access_token });
    expectError(response, 403, "M_FORBIDDEN");
  });
});

describe("content that is not canonical JSON", () => {
  test("a float in event content is 400 M_BAD_JSON and nothing is stored", async () => {
    const { startTestServer } = await import("../helpers/server");
    const server = await startTestServer();
    try {
      const alice = await server.register("float-alice");
      const room = await server.request("POST", "/_matrix/client/v3/createRoom", { token: alice.access_token, body: {} });
      const before = (server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
      const response = await server.request("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room.body.room_id)}/send/m.room.message/f1`, {
        token: alice.access_token,
        body: { msgtype: "m.text", body: "pi", value: 3.14 },
      });
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBe("M_BAD_JSON");
      const after = (server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
      expect(after).toBe(before);
    } finally {
      await server.stop();
    }
  });
});
