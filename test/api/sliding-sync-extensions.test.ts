// Sliding sync extensions (MSC4186 "Extensions"): to_device, e2ee, account_data,
// receipts and typing, each scoped by `lists` / `rooms` where it applies, and the
// two connections Element X keeps side by side for one device.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sleep } from "../helpers/assert";
import { CLIENT, createRoom, joinRoom, leaveRoom, newTxnId, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { sliding } from "../helpers/sliding";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = (name = "u") => server.register(`sse-${name}-${++counter}`);
const enc = encodeURIComponent;
const ok = async (user: User, method: string, path: string, body: unknown = {}) => {
  const response = await server.request(method, path, { token: user.access_token, body });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
};
const list = (range: [number, number]) => ({ ranges: [range], timeline_limit: 1, required_state: [] });

async function sharedRoom(a: User, b: User, name = "shared"): Promise<string> {
  const roomId = await createRoom(server, a, { name, preset: "public_chat" });
  await joinRoom(server, b, roomId);
  return roomId;
}

function deviceKeys(user: User) {
  return {
    user_id: user.user_id,
    device_id: user.device_id,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: { [`curve25519:${user.device_id}`]: "curve", [`ed25519:${user.device_id}`]: "ed" },
    signatures: {},
  };
}

const sendToDevice = (from: User, to: User, content: Record<string, unknown>) =>
  ok(from, "PUT", `${CLIENT}/sendToDevice/org.example.ping/${newTxnId()}`, { messages: { [to.user_id]: { [to.device_id]: content } } });

describe("to_device", () => {
  test("delivers messages, pages by next_batch, and deletes what a later since acknowledges", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    for (let i = 0; i < 3; i++) await sendToDevice(alice, bob, { n: i });
    const encryption = (since?: string, limit?: number) => ({ conn_id: "encryption", extensions: { to_device: { enabled: true, since, limit } } });
    const first = await sliding(server, bob, encryption(undefined, 2));
    expect(first.extensions.to_device.events.map((e: any) => e.content.n)).toEqual([0, 1]);
    expect(first.extensions.to_device.events[0]).toMatchObject({ type: "org.example.ping", sender: alice.user_id });
    const next = first.extensions.to_device.next_batch;
    expect(next).toBeString();

    // Repeating the old since (the answer was lost) gives the same messages again.
    const again = await sliding(server, bob, encryption(undefined, 2), { pos: first.pos });
    expect(again.extensions.to_device.events.map((e: any) => e.content.n)).toEqual([0, 1]);

    const second = await sliding(server, bob, encryption(next), { pos: again.pos });
    expect(second.extensions.to_device.events.map((e: any) => e.content.n)).toEqual([2]);
    // The acknowledged messages are gone from the store.
    const waiting = server.hs.store.toDevice.pending(bob.user_id, bob.device_id, server.hs.store.stream.current, 10);
    expect(waiting.map((row) => JSON.parse(row.content).n)).toEqual([2]);
    const third = await sliding(server, bob, encryption(second.extensions.to_device.next_batch), { pos: second.pos });
    expect(third.extensions.to_device.events).toEqual([]);
    expect(server.hs.store.toDevice.pending(bob.user_id, bob.device_id, server.hs.store.stream.current, 10)).toEqual([]);
  });

  test("a to-device message wakes a waiting connection", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const body = (since?: string) => ({ conn_id: "encryption", extensions: { to_device: { enabled: true, since } } });
    const first = await sliding(server, bob, body());
    const polling = sliding(server, bob, body(first.extensions.to_device.next_batch), { pos: first.pos, timeout: 5000 });
    await sleep(100);
    await sendToDevice(alice, bob, { wake: true });
    const woken = await polling;
    expect(woken.extensions.to_device.events.map((e: any) => e.content)).toEqual([{ wake: true }]);
  });

  test("a bad since is 400", async () => {
    const bob = await newUser("bob");
    const response = await server.request("POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", {
      token: bob.access_token,
      body: { extensions: { to_device: { enabled: true, since: "not-a-token" } } },
    });
    expect(response.status).toBe(400);
  });
});

describe("e2ee", () => {
  test("key counts, fallback key types, device_lists changed and left", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    await ok(alice, "POST", `${CLIENT}/keys/upload`, {
      one_time_keys: { "signed_curve25519:a1": { key: "k1" }, "signed_curve25519:a2": { key: "k2" } },
      fallback_keys: { "signed_curve25519:f1": { key: "f", fallback: true } },
    });
    const roomId = await sharedRoom(alice, bob);
    const body = { conn_id: "encryption", extensions: { e2ee: { enabled: true } } };
    const first = await sliding(server, alice, body);
    expect(first.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 2 });
    expect(first.extensions.e2ee.device_unused_fallback_key_types).toEqual(["signed_curve25519"]);
    expect(first.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });

    // Bob uploads device keys: alice shares a room with him, so he is in `changed`; this wakes her.
    const polling = sliding(server, alice, body, { pos: first.pos, timeout: 5000 });
    await sleep(100);
    await ok(bob, "POST", `${CLIENT}/keys/upload`, { device_keys: deviceKeys(bob) });
    const changed = await polling;
    expect(changed.extensions.e2ee.device_lists.changed).toEqual([bob.user_id]);

    // A new user joining a shared room: their devices are new to alice.
    const carol = await newUser("carol");
    await joinRoom(server, carol, roomId);
    const joined = await sliding(server, alice, body, { pos: changed.pos });
    expect(joined.extensions.e2ee.device_lists.changed).toEqual([carol.user_id]);

    // Bob leaves the only shared room: `left`.
    await leaveRoom(server, bob, roomId);
    const left = await sliding(server, alice, body, { pos: joined.pos });
    expect(left.extensions.e2ee.device_lists.left).toEqual([bob.user_id]);
    expect(left.extensions.e2ee.device_lists.changed).toEqual([]);

    // A claimed one-time key lowers the count.
    await ok(bob, "POST", `${CLIENT}/keys/claim`, { one_time_keys: { [alice.user_id]: { [alice.device_id]: "signed_curve25519" } } });
    const counted = await sliding(server, alice, body, { pos: left.pos });
    expect(counted.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 1 });
  });

  test("device changes of users who share no room are not reported", async () => {
    const alice = await newUser("alice");
    const stranger = await newUser("stranger");
    const body = { conn_id: "encryption", extensions: { e2ee: { enabled: true } } };
    const first = await sliding(server, alice, body);
    await ok(stranger, "POST", `${CLIENT}/keys/upload`, { device_keys: deviceKeys(stranger) });
    const next = await sliding(server, alice, body, { pos: first.pos });
    expect(next.extensions.e2ee.device_lists).toEqual({ changed: [], left: [] });
  });
});

describe("account_data", () => {
  test("global and per-room account data, first all of it, then only changes; rooms scoped by lists", async () => {
    const alice = await newUser("alice");
    const inList = await createRoom(server, alice, { name: "in list" });
    await sendMessage(server, alice, inList, "newest");
    const older = await createRoom(server, alice, { name: "older" });
    // Make `older` older than `inList` by bump: it has no message, inList has one after.
    await sendMessage(server, alice, inList, "newer still");
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/account_data/org.example.global`, { v: 1 });
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/rooms/${enc(inList)}/account_data/org.example.room`, { v: 1 });
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/rooms/${enc(older)}/account_data/org.example.room`, { v: 1 });
    const body = { conn_id: "room-list", lists: { top: list([0, 0]) }, extensions: { account_data: { enabled: true } } };
    const first = await sliding(server, alice, body);
    expect(Object.keys(first.rooms)).toEqual([inList]);
    expect(first.extensions.account_data.global).toContainEqual({ type: "org.example.global", content: { v: 1 } });
    expect(first.extensions.account_data.rooms).toEqual({ [inList]: [{ type: "org.example.room", content: { v: 1 } }] });

    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/account_data/org.example.global`, { v: 2 });
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/rooms/${enc(inList)}/account_data/org.example.room`, { v: 2 });
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/rooms/${enc(older)}/account_data/org.example.room`, { v: 2 });
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(second.extensions.account_data.global).toEqual([{ type: "org.example.global", content: { v: 2 } }]);
    expect(second.extensions.account_data.rooms).toEqual({ [inList]: [{ type: "org.example.room", content: { v: 2 } }] });

    // A room entering the range brings all of its account data.
    await sendMessage(server, alice, older, "now the newest");
    const third = await sliding(server, alice, body, { pos: second.pos });
    expect(third.rooms[older].initial).toBe(true);
    expect(third.extensions.account_data.rooms[older]).toEqual([{ type: "org.example.room", content: { v: 2 } }]);

    // Scoped to a list that does not exist: no room account data, global still.
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/rooms/${enc(older)}/account_data/org.example.room`, { v: 3 });
    const scoped = await sliding(server, alice, { ...body, extensions: { account_data: { enabled: true, lists: ["other"] } } }, { pos: third.pos });
    expect(scoped.extensions.account_data?.rooms ?? {}).toEqual({});
  });

  test("an account data write wakes a waiting connection", async () => {
    const alice = await newUser("alice");
    const body = { conn_id: "room-list", extensions: { account_data: { enabled: true } } };
    const first = await sliding(server, alice, body);
    const polling = sliding(server, alice, body, { pos: first.pos, timeout: 5000 });
    await sleep(100);
    await ok(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/account_data/org.example.wake`, { up: true });
    const woken = await polling;
    expect(woken.extensions.account_data.global).toEqual([{ type: "org.example.wake", content: { up: true } }]);
  });
});

describe("receipts", () => {
  test("receipts of rooms in scope: on the events sent first, then new ones; private ones only to their owner", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await sharedRoom(alice, bob);
    const old = await sendMessage(server, alice, roomId, "old");
    await ok(bob, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/m.read/${enc(old)}`);
    const latest = await sendMessage(server, alice, roomId, "latest");
    await ok(alice, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/m.read/${enc(latest)}`);
    const body = { conn_id: "room-list", lists: { all: list([0, 9]) }, extensions: { receipts: { enabled: true, rooms: ["*"], lists: ["*"] } } };
    const first = await sliding(server, alice, body);
    // Bob's receipt is on an event not sent (timeline_limit 1): left out; alice's own is in.
    expect(first.extensions.receipts.rooms[roomId]).toEqual({
      type: "m.receipt",
      content: { [latest]: { "m.read": { [alice.user_id]: { ts: expect.any(Number) } } } },
    });

    await ok(bob, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/m.read/${enc(latest)}`);
    await ok(bob, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/m.read.private/${enc(latest)}`);
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(second.extensions.receipts.rooms[roomId].content).toEqual({ [latest]: { "m.read": { [bob.user_id]: { ts: expect.any(Number) } } } });
    const bobs = await sliding(server, bob, { ...body, conn_id: "bob" });
    expect(bobs.extensions.receipts.rooms[roomId].content[latest]["m.read.private"]).toEqual({ [bob.user_id]: { ts: expect.any(Number) } });
  });

  test("rooms outside the scope get none", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await sharedRoom(alice, bob);
    const eventId = await sendMessage(server, bob, roomId, "hi");
    const body = { conn_id: "room-list", lists: { all: list([0, 9]) }, extensions: { receipts: { enabled: true, lists: ["nothing"], rooms: [] } } };
    const first = await sliding(server, alice, body);
    await ok(bob, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`);
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(second.extensions.receipts).toBeUndefined();
  });
});

describe("typing", () => {
  test("typing in rooms in scope, when it changes; a change wakes a waiting connection", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await sharedRoom(alice, bob);
    const setTyping = (typing: boolean) => ok(bob, "PUT", `${CLIENT}/rooms/${enc(roomId)}/typing/${enc(bob.user_id)}`, typing ? { typing, timeout: 30000 } : { typing });
    await setTyping(true);
    const body = { conn_id: "room-list", lists: { all: list([0, 9]) }, extensions: { typing: { enabled: true } } };
    const first = await sliding(server, alice, body);
    expect(first.extensions.typing.rooms[roomId]).toEqual({ type: "m.typing", content: { user_ids: [bob.user_id] } });

    const polling = sliding(server, alice, body, { pos: first.pos, timeout: 5000 });
    await sleep(100);
    await setTyping(false);
    const stopped = await polling;
    expect(stopped.extensions.typing.rooms[roomId]).toEqual({ type: "m.typing", content: { user_ids: [] } });
    const quiet = await sliding(server, alice, body, { pos: stopped.pos });
    expect(quiet.extensions.typing).toBeUndefined();

    // Scoped to no list: nothing, even when someone types.
    await setTyping(true);
    const scoped = await sliding(server, alice, { ...body, extensions: { typing: { enabled: true, lists: [], rooms: [] } } }, { pos: quiet.pos });
    expect(scoped.extensions.typing).toBeUndefined();
  });

  test("subscribed rooms are in scope", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await sharedRoom(alice, bob);
    await ok(bob, "PUT", `${CLIENT}/rooms/${enc(roomId)}/typing/${enc(bob.user_id)}`, { typing: true, timeout: 30000 });
    const response = await sliding(server, alice, {
      conn_id: "sub",
      room_subscriptions: { [roomId]: { timeline_limit: 1, required_state: [] } },
      extensions: { typing: { enabled: true, rooms: [roomId] } },
    });
    expect(response.extensions.typing.rooms[roomId].content.user_ids).toEqual([bob.user_id]);
  });
});

describe("two connections of one device", () => {
  test("the room list and the encryption connection run side by side, each with its own positions", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await sharedRoom(alice, bob);
    const roomList = { conn_id: "room-list", lists: { all_rooms: list([0, 19]) }, extensions: { account_data: { enabled: true }, receipts: { enabled: true, rooms: ["*"] }, typing: { enabled: true } } };
    const encryption = (since?: string) => ({ conn_id: "encryption", extensions: { to_device: { enabled: true, since }, e2ee: { enabled: true } } });
    const [list1, enc1] = await Promise.all([sliding(server, alice, roomList), sliding(server, alice, encryption())]);
    expect(list1.rooms[roomId].initial).toBe(true);
    expect(enc1.rooms).toEqual({});
    expect(enc1.extensions.e2ee).toBeDefined();

    // Both wait; a message wakes the room list, a to-device message the encryption connection.
    const listPoll = sliding(server, alice, roomList, { pos: list1.pos, timeout: 5000 });
    const encPoll = sliding(server, alice, encryption(enc1.extensions.to_device.next_batch), { pos: enc1.pos, timeout: 5000 });
    await sleep(100);
    const eventId = await sendMessage(server, bob, roomId, "for the list");
    await sendToDevice(bob, alice, { secret: "for the encryption connection" });
    const [list2, enc2] = await Promise.all([listPoll, encPoll]);
    expect(list2.rooms[roomId].timeline.at(-1).event_id).toBe(eventId);
    expect(list2.extensions.to_device).toBeUndefined();
    const toDevice = enc2.extensions.to_device.events.length > 0 ? enc2 : await sliding(server, alice, encryption(enc1.extensions.to_device.next_batch), { pos: enc2.pos });
    expect(toDevice.extensions.to_device.events.map((e: any) => e.content)).toEqual([{ secret: "for the encryption connection" }]);

    // Each connection's pos is its own.
    const crossed = await server.request("POST", `/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=${enc(list2.pos)}`, { token: alice.access_token, body: encryption() });
    expect(crossed.body.errcode).toBe("M_UNKNOWN_POS");
    // The room list still goes on from its own pos.
    const list3 = await sliding(server, alice, roomList, { pos: list2.pos });
    expect(list3.rooms).toEqual({});
  });
});
