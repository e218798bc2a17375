// Per-user data and its delivery through /sync (spec: Client-Server API,
// "Typing Notifications", "Receipts", "Fully read markers", "Client Config",
// "Room Tagging", "Send-to-Device messaging"; typing.yaml, receipts.yaml,
// read_markers.yaml, account-data.yaml, tags.yaml, to_device.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, sleep } from "../helpers/assert";
import { CLIENT, createRoom, joinRoom, newTxnId, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { ephemeral, sync } from "../helpers/sync";

const PASSWORD = "correct horse battery staple";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = (name = "u") => server.register(`data-${name}-${++counter}`);
const enc = encodeURIComponent;
const roomPath = (roomId: string, rest: string) => `${CLIENT}/rooms/${enc(roomId)}/${rest}`;
const userPath = (user: User | string, rest: string) => `${CLIENT}/user/${enc(typeof user === "string" ? user : user.user_id)}/${rest}`;

function request(user: User, method: string, path: string, body?: unknown) {
  return server.request(method, path, { token: user.access_token, body });
}

async function ok(user: User, method: string, path: string, body?: unknown) {
  const response = await request(user, method, path, body);
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function publicRoom(owner: User, others: User[]): Promise<string> {
  const roomId = await createRoom(server, owner, { preset: "public_chat" });
  for (const user of others) await joinRoom(server, user, roomId);
  return roomId;
}

/** Another logged-in device of `user`. */
async function secondDevice(user: User): Promise<User> {
  const localpart = user.user_id.slice(1, user.user_id.indexOf(":"));
  const response = await server.request("POST", `${CLIENT}/login`, {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password: PASSWORD },
  });
  expect(response.status).toBe(200);
  expect(response.body.device_id).not.toBe(user.device_id);
  return response.body;
}

const setTyping = (user: User, roomId: string, body: unknown, target = user.user_id) => request(user, "PUT", roomPath(roomId, `typing/${enc(target)}`), body);
const receipt = (user: User, roomId: string, type: string, eventId: string, body: unknown = {}) =>
  request(user, "POST", roomPath(roomId, `receipt/${enc(type)}/${enc(eventId)}`), body);

/** The account data events of a sync (global), or of one joined room. */
const globalData = (body: any) => body.account_data.events;
const roomData = (body: any, roomId: string) => body.rooms.join[roomId]?.account_data.events ?? [];

describe("typing", () => {
  test("m.typing carries the full list, and a notification expires on its own", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await publicRoom(alice, [bob, carol]);
    const first = await sync(server, alice);

    expect((await setTyping(bob, roomId, { typing: true, timeout: 300 })).status).toBe(200);
    expect((await setTyping(carol, roomId, { typing: true, timeout: 30000 })).status).toBe(200);
    const typing = await sync(server, alice, { since: first.next_batch });
    expect(ephemeral(typing.rooms.join[roomId], "m.typing")?.content.user_ids.sort()).toEqual([bob.user_id, carol.user_id].sort());

    // Bob's 300 ms pass with no request: the list changes without him, and a waiting sync hears of it.
    const started = performance.now();
    const expired = await sync(server, alice, { since: typing.next_batch, timeout: 5000 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(ephemeral(expired.rooms.join[roomId], "m.typing")?.content.user_ids).toEqual([carol.user_id]);

    // Carol stops: the list becomes empty.
    expect((await setTyping(carol, roomId, { typing: false })).status).toBe(200);
    const stopped = await sync(server, alice, { since: expired.next_batch });
    expect(ephemeral(stopped.rooms.join[roomId], "m.typing")?.content.user_ids).toEqual([]);
    // Nothing changed since: no m.typing (and no room) in the next sync.
    const quiet = await sync(server, alice, { since: stopped.next_batch });
    expect(ephemeral(quiet.rooms.join[roomId], "m.typing")).toBeUndefined();
  });

  test("a short timeout alone empties the list in a later sync", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const first = await sync(server, alice);
    await setTyping(bob, roomId, { typing: true, timeout: 300 });
    const during = await sync(server, alice, { since: first.next_batch });
    expect(ephemeral(during.rooms.join[roomId], "m.typing")?.content.user_ids).toEqual([bob.user_id]);
    await sleep(500);
    const after = await sync(server, alice, { since: during.next_batch });
    expect(ephemeral(after.rooms.join[roomId], "m.typing")?.content.user_ids).toEqual([]);
    // An initial sync now shows no one typing.
    expect(ephemeral((await sync(server, alice)).rooms.join[roomId], "m.typing")?.content.user_ids ?? []).toEqual([]);
  });

  test("for another user -> 403; not joined -> 403; bad body -> 400", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const outsider = await newUser("outsider");
    const roomId = await publicRoom(alice, [bob]);
    expectError(await setTyping(alice, roomId, { typing: true, timeout: 1000 }, bob.user_id), 403, "M_FORBIDDEN");
    expectError(await setTyping(outsider, roomId, { typing: true, timeout: 1000 }), 403, "M_FORBIDDEN");
    expect((await setTyping(alice, roomId, { timeout: 1000 })).status).toBe(400);
    // Nothing of it reached the room.
    expect(server.hs.typing.usersIn(roomId)).toEqual([]);
  });
});

describe("receipts", () => {
  test("m.read reaches the other members in ephemeral m.receipt", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "read me");
    const first = await sync(server, bob);
    expect((await receipt(alice, roomId, "m.read", eventId)).status).toBe(200);
    const next = await sync(server, bob, { since: first.next_batch });
    const content = ephemeral(next.rooms.join[roomId], "m.receipt")?.content;
    expect(content?.[eventId]?.["m.read"]?.[alice.user_id]?.ts).toBeNumber();
    expect(content[eventId]["m.read"][alice.user_id].thread_id).toBeUndefined();
    // On an initial sync the current receipts are there too.
    expect(ephemeral((await sync(server, bob)).rooms.join[roomId], "m.receipt")?.content[eventId]["m.read"][alice.user_id]).toBeDefined();
  });

  test("m.read.private goes to its owner only", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "privately read");
    const aliceBefore = await sync(server, alice);
    const bobBefore = await sync(server, bob);
    expect((await receipt(alice, roomId, "m.read.private", eventId)).status).toBe(200);

    const own = await sync(server, alice, { since: aliceBefore.next_batch });
    expect(ephemeral(own.rooms.join[roomId], "m.receipt")?.content[eventId]["m.read.private"][alice.user_id].ts).toBeNumber();
    const other = await sync(server, bob, { since: bobBefore.next_batch });
    expect(JSON.stringify(other.rooms.join[roomId] ?? {})).not.toContain("m.read.private");
    expect(JSON.stringify((await sync(server, bob)).rooms.join[roomId].ephemeral)).not.toContain("m.read.private");
  });

  test("a threaded receipt carries its thread_id", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "in main");
    const first = await sync(server, bob);
    expect((await receipt(alice, roomId, "m.read", eventId, { thread_id: "main" })).status).toBe(200);
    const next = await sync(server, bob, { since: first.next_batch });
    expect(ephemeral(next.rooms.join[roomId], "m.receipt")?.content[eventId]["m.read"][alice.user_id].thread_id).toBe("main");
    expectError(await receipt(alice, roomId, "m.read", eventId, { thread_id: "" }), 400, "M_INVALID_PARAM");
  });

  test("unknown receipt type -> 400; unknown event -> 404", async () => {
    const alice = await newUser("alice");
    const roomId = await publicRoom(alice, []);
    const eventId = await sendMessage(server, alice, roomId, "x");
    expectError(await receipt(alice, roomId, "m.bogus", eventId), 400, "M_INVALID_PARAM");
    expectError(await receipt(alice, roomId, "m.read", "$doesnotexist"), 404, "M_NOT_FOUND");
  });

  test("read_markers sets m.fully_read room account data, and the read receipt", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "marker");
    const aliceBefore = await sync(server, alice);
    const bobBefore = await sync(server, bob);
    expect((await request(alice, "POST", roomPath(roomId, "read_markers"), { "m.fully_read": eventId, "m.read": eventId })).status).toBe(200);

    expect(await ok(alice, "GET", userPath(alice, `rooms/${enc(roomId)}/account_data/m.fully_read`))).toEqual({ event_id: eventId });
    const own = await sync(server, alice, { since: aliceBefore.next_batch });
    expect(roomData(own, roomId)).toEqual([{ type: "m.fully_read", content: { event_id: eventId } }]);
    const other = await sync(server, bob, { since: bobBefore.next_batch });
    expect(ephemeral(other.rooms.join[roomId], "m.receipt")?.content[eventId]["m.read"][alice.user_id]).toBeDefined();
    // The marker is alice's alone.
    expect(roomData(other, roomId)).toEqual([]);
  });
});

describe("account data", () => {
  test("global: PUT, GET, delivered in sync once", async () => {
    const alice = await newUser("alice");
    const first = await sync(server, alice);
    expect(await ok(alice, "PUT", userPath(alice, "account_data/org.example.settings"), { theme: "dark" })).toEqual({});
    expect(await ok(alice, "GET", userPath(alice, "account_data/org.example.settings"))).toEqual({ theme: "dark" });

    const next = await sync(server, alice, { since: first.next_batch });
    expect(globalData(next)).toEqual([{ type: "org.example.settings", content: { theme: "dark" } }]);
    const again = await sync(server, alice, { since: next.next_batch });
    expect(globalData(again)).toEqual([]);
    // An initial sync has the current value; an update replaces it.
    await ok(alice, "PUT", userPath(alice, "account_data/org.example.settings"), { theme: "light" });
    const initial = globalData(await sync(server, alice)).filter((event: any) => event.type === "org.example.settings");
    expect(initial).toEqual([{ type: "org.example.settings", content: { theme: "light" } }]);
    // The update moved the row's stream position: an incremental sync delivers it once more.
    expect(globalData(await sync(server, alice, { since: again.next_batch }))).toEqual([{ type: "org.example.settings", content: { theme: "light" } }]);
  });

  test("per room: PUT, GET, delivered in the room's account_data once", async () => {
    const alice = await newUser("alice");
    const roomId = await publicRoom(alice, []);
    const first = await sync(server, alice);
    await ok(alice, "PUT", userPath(alice, `rooms/${enc(roomId)}/account_data/org.example.room`), { pinned: true });
    expect(await ok(alice, "GET", userPath(alice, `rooms/${enc(roomId)}/account_data/org.example.room`))).toEqual({ pinned: true });
    // Room data is not global data.
    expectError(await request(alice, "GET", userPath(alice, "account_data/org.example.room")), 404, "M_NOT_FOUND");

    const next = await sync(server, alice, { since: first.next_batch });
    expect(roomData(next, roomId)).toEqual([{ type: "org.example.room", content: { pinned: true } }]);
    expect(globalData(next)).toEqual([]);
    const again = await sync(server, alice, { since: next.next_batch });
    expect(again.rooms.join[roomId]).toBeUndefined();
  });

  test("another user's account data -> 403", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    await ok(alice, "PUT", userPath(alice, "account_data/org.example.secret"), { s: 1 });
    expectError(await request(bob, "GET", userPath(alice, "account_data/org.example.secret")), 403, "M_FORBIDDEN");
    expectError(await request(bob, "PUT", userPath(alice, "account_data/org.example.secret"), { s: 2 }), 403, "M_FORBIDDEN");
    expectError(await request(bob, "PUT", userPath(alice, `rooms/${enc(roomId)}/account_data/org.example.secret`), { s: 2 }), 403, "M_FORBIDDEN");
    expectError(await request(bob, "GET", userPath(alice, `rooms/${enc(roomId)}/account_data/org.example.secret`)), 403, "M_FORBIDDEN");
    expect(await ok(alice, "GET", userPath(alice, "account_data/org.example.secret"))).toEqual({ s: 1 });
  });

  test("m.fully_read and m.push_rules are the server's: 405 M_BAD_JSON (account-data.yaml)", async () => {
    const alice = await newUser("alice");
    const roomId = await publicRoom(alice, []);
    const eventId = await sendMessage(server, alice, roomId, "x");
    for (const type of ["m.fully_read", "m.push_rules"]) {
      expectError(await request(alice, "PUT", userPath(alice, `account_data/${type}`), { event_id: eventId }), 405, "M_BAD_JSON");
      expectError(await request(alice, "PUT", userPath(alice, `rooms/${enc(roomId)}/account_data/${type}`), { event_id: eventId }), 405, "M_BAD_JSON");
    }
    expectError(await request(alice, "GET", userPath(alice, `rooms/${enc(roomId)}/account_data/m.fully_read`)), 404, "M_NOT_FOUND");
  });

  test("unknown type -> 404 M_NOT_FOUND; bad room id -> 400; body must be an object", async () => {
    const alice = await newUser("alice");
    const roomId = await publicRoom(alice, []);
    expectError(await request(alice, "GET", userPath(alice, "account_data/org.example.never")), 404, "M_NOT_FOUND");
    expectError(await request(alice, "GET", userPath(alice, `rooms/${enc(roomId)}/account_data/org.example.never`)), 404, "M_NOT_FOUND");
    expect((await request(alice, "GET", userPath(alice, "rooms/not-a-room/account_data/org.example.x"))).status).toBe(400);
    expect((await request(alice, "PUT", userPath(alice, "account_data/org.example.x"), [1, 2])).status).toBe(400);
  });
});

describe("tags", () => {
  test("PUT, GET, DELETE, delivered as m.tag room account data", async () => {
    const alice = await newUser("alice");
    const roomId = await publicRoom(alice, []);
    const tagsPath = userPath(alice, `rooms/${enc(roomId)}/tags`);
    expect(await ok(alice, "GET", tagsPath)).toEqual({ tags: {} });
    const first = await sync(server, alice);

    await ok(alice, "PUT", `${tagsPath}/u.work`, { order: 0.5 });
    await ok(alice, "PUT", `${tagsPath}/m.favourite`, {});
    expect(await ok(alice, "GET", tagsPath)).toEqual({ tags: { "u.work": { order: 0.5 }, "m.favourite": {} } });
    const tagged = await sync(server, alice, { since: first.next_batch });
    expect(roomData(tagged, roomId)).toEqual([{ type: "m.tag", content: { tags: { "u.work": { order: 0.5 }, "m.favourite": {} } } }]);

    await ok(alice, "DELETE", `${tagsPath}/u.work`);
    expect(await ok(alice, "GET", tagsPath)).toEqual({ tags: { "m.favourite": {} } });
    const untagged = await sync(server, alice, { since: tagged.next_batch });
    expect(roomData(untagged, roomId)).toEqual([{ type: "m.tag", content: { tags: { "m.favourite": {} } } }]);

    // Another user's tags -> 403; order must be a number.
    const bob = await newUser("bob");
    expectError(await request(bob, "GET", tagsPath), 403, "M_FORBIDDEN");
    expectError(await request(bob, "PUT", `${tagsPath}/u.evil`, {}), 403, "M_FORBIDDEN");
    expect((await request(alice, "PUT", `${tagsPath}/u.bad`, { order: "first" })).status).toBe(400);
  });
});

describe("send-to-device", () => {
  const sendToDevice = (sender: User, type: string, txnId: string, messages: unknown) =>
    request(sender, "PUT", `${CLIENT}/sendToDevice/${enc(type)}/${enc(txnId)}`, { messages });

  test("to one device: only that device receives it, exactly once", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const bobPhone = await secondDevice(bob);
    const laptopStart = await sync(server, bob);
    const phoneStart = await sync(server, bobPhone);

    expect((await sendToDevice(alice, "org.example.hello", "t1", { [bob.user_id]: { [bob.device_id]: { hi: 1 } } })).status).toBe(200);
    const laptop = await sync(server, bob, { since: laptopStart.next_batch });
    expect(laptop.to_device.events).toEqual([{ type: "org.example.hello", sender: alice.user_id, content: { hi: 1 } }]);
    const phone = await sync(server, bobPhone, { since: phoneStart.next_batch });
    expect(phone.to_device.events).toEqual([]);

    // Until acknowledged (a sync with the token that delivered it), it comes again.
    const retried = await sync(server, bob, { since: laptopStart.next_batch });
    expect(retried.to_device.events).toEqual(laptop.to_device.events);
    const acknowledged = await sync(server, bob, { since: laptop.next_batch });
    expect(acknowledged.to_device.events).toEqual([]);
    // And once acknowledged, gone for good.
    expect((await sync(server, bob, { since: laptopStart.next_batch })).to_device.events).toEqual([]);
  });

  test("to '*': every device of the user", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const bobPhone = await secondDevice(bob);
    expect((await sendToDevice(alice, "org.example.all", "t-all", { [bob.user_id]: { "*": { all: true } } })).status).toBe(200);
    for (const device of [bob, bobPhone]) {
      const body = await sync(server, device);
      expect(body.to_device.events).toEqual([{ type: "org.example.all", sender: alice.user_id, content: { all: true } }]);
      expect((await sync(server, device, { since: body.next_batch })).to_device.events).toEqual([]);
    }
  });

  test("idempotent per transaction id", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const messages = { [bob.user_id]: { [bob.device_id]: { once: true } } };
    for (let i = 0; i < 3; i++) expect((await sendToDevice(alice, "org.example.once", "same-txn", messages)).status).toBe(200);
    const body = await sync(server, bob);
    expect(body.to_device.events).toEqual([{ type: "org.example.once", sender: alice.user_id, content: { once: true } }]);
    // A new transaction id is a new message.
    await sendToDevice(alice, "org.example.once", "other-txn", messages);
    expect((await sync(server, bob, { since: body.next_batch })).to_device.events).toHaveLength(1);
  });

  test("a long queue arrives in batches, in order, each message once", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const TOTAL = 150;
    for (let i = 0; i < TOTAL; i++) await sendToDevice(alice, "org.example.batch", newTxnId(), { [bob.user_id]: { [bob.device_id]: { i } } });
    const received: number[] = [];
    let body = await sync(server, bob);
    for (let round = 0; round < 10 && body.to_device.events.length > 0; round++) {
      received.push(...body.to_device.events.map((event: any) => event.content.i));
      body = await sync(server, bob, { since: body.next_batch });
    }
    expect(received).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  });

  test("messages wait for their device until it syncs, whatever other devices do", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const bobPhone = await secondDevice(bob);
    for (let i = 0; i < 3; i++) await sendToDevice(alice, "org.example.queued", newTxnId(), { [bob.user_id]: { [bobPhone.device_id]: { i } } });
    // The laptop syncs (and acknowledges) several times meanwhile.
    let token = (await sync(server, bob)).next_batch;
    for (let i = 0; i < 3; i++) token = (await sync(server, bob, { since: token })).next_batch;
    await sleep(50);
    const phone = await sync(server, bobPhone);
    expect(phone.to_device.events.map((event: any) => event.content.i)).toEqual([0, 1, 2]);
    expect(phone.to_device.events.every((event: any) => event.sender === alice.user_id && event.type === "org.example.queued")).toBe(true);
  });
});
