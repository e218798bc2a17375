// End-to-end encryption keys (spec: Client-Server API, "Key management API").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
type User = { user_id: string; access_token: string; device_id: string };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

function deviceKeys(user: User, curve = "curve-key") {
  return {
    user_id: user.user_id,
    device_id: user.device_id,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: { [`curve25519:${user.device_id}`]: curve, [`ed25519:${user.device_id}`]: "ed-key" },
    signatures: { [user.user_id]: { [`ed25519:${user.device_id}`]: "sig" } },
  };
}
const upload = (user: User, body: unknown) => server.request("POST", `${v3}/keys/upload`, { token: user.access_token, body });
const otk = (id: string, key = `key-${id}`) => ({ [`signed_curve25519:${id}`]: { key, signatures: {} } });

async function roomWith(a: User, b: User): Promise<string> {
  const room = await server.request("POST", `${v3}/createRoom`, { token: a.access_token, body: { preset: "public_chat" } });
  await server.request("POST", `${v3}/rooms/${encodeURIComponent(room.body.room_id)}/join`, { token: b.access_token, body: {} });
  return room.body.room_id;
}

describe("keys/upload", () => {
  test("stores device keys and one-time keys and returns the counts; identical uploads at once both succeed", async () => {
    const alice = await server.register("keys-alice");
    const body = { device_keys: deviceKeys(alice), one_time_keys: { ...otk("A1"), ...otk("A2") } };
    const [first, second] = await Promise.all([upload(alice, body), upload(alice, body)]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.body.one_time_key_counts).toEqual({ signed_curve25519: 2 });
    expect(second.body.one_time_key_counts).toEqual({ signed_curve25519: 2 });
  });

  test("refuses keys for another user or device, new identity keys, and a reused key id with new content", async () => {
    const bob = await server.register("keys-bob");
    const other = { ...deviceKeys(bob), device_id: "NOTMINE" };
    expect((await upload(bob, { device_keys: other })).status).toBe(400);
    expect((await upload(bob, { device_keys: deviceKeys(bob, "first") })).status).toBe(200);
    const changed = await upload(bob, { device_keys: deviceKeys(bob, "second") });
    expect(changed.status).toBe(400);
    expect((await upload(bob, { one_time_keys: otk("B1", "one") })).status).toBe(200);
    const clash = await upload(bob, { one_time_keys: otk("B1", "two") });
    expect(clash.status).toBe(400);
    expect(clash.body.errcode).toBe("M_INVALID_PARAM");
    const counts = await upload(bob, {});
    expect(counts.body.one_time_key_counts).toEqual({ signed_curve25519: 1 });
  });
});

describe("keys/query and keys/claim", () => {
  test("query returns device keys with the display name; remote users are failures", async () => {
    const carol = await server.register("keys-carol");
    await upload(carol, { device_keys: deviceKeys(carol) });
    const dave = await server.register("keys-dave");
    const response = await server.request("POST", `${v3}/keys/query`, {
      token: dave.access_token,
      body: { device_keys: { [carol.user_id]: [], "@someone:elsewhere.example": [] } },
    });
    expect(response.status).toBe(200);
    const device = response.body.device_keys[carol.user_id][carol.device_id];
    expect(device.keys[`curve25519:${carol.device_id}`]).toBe("curve-key");
    expect(device.unsigned).toBeObject();
    expect(response.body.failures["elsewhere.example"]).toBeDefined();
  });

  test("claims hand out each one-time key once, then the fallback key", async () => {
    const erin = await server.register("keys-erin");
    await upload(erin, { device_keys: deviceKeys(erin), one_time_keys: otk("E1"), fallback_keys: { "signed_curve25519:F1": { key: "fallback", fallback: true, signatures: {} } } });
    const frank = await server.register("keys-frank");
    const claim = () =>
      server.request("POST", `${v3}/keys/claim`, { token: frank.access_token, body: { one_time_keys: { [erin.user_id]: { [erin.device_id]: "signed_curve25519" } } } });
    const [a, b] = await Promise.all([claim(), claim()]);
    const keys = [a, b].map((r) => Object.keys(r.body.one_time_keys[erin.user_id][erin.device_id])[0]);
    // Exactly one racer got the one-time key; the other got the fallback key.
    expect(keys.sort()).toEqual(["signed_curve25519:E1", "signed_curve25519:F1"]);
    const sync = await server.request("GET", `${v3}/sync`, { token: erin.access_token });
    expect(sync.body.device_one_time_keys_count).toEqual({});
    expect(sync.body.device_unused_fallback_key_types).toEqual([]);
  });
});

describe("device lists", () => {
  test("a room-mate's new keys wake a long-poll and appear in device_lists.changed and /keys/changes", async () => {
    const grace = await server.register("keys-grace");
    const heidi = await server.register("keys-heidi");
    await roomWith(grace, heidi);
    const start = await server.request("GET", `${v3}/sync`, { token: grace.access_token });
    const waiting = server.request("GET", `${v3}/sync?since=${start.body.next_batch}&timeout=5000`, { token: grace.access_token });
    const began = Date.now();
    await upload(heidi, { device_keys: deviceKeys(heidi) });
    const next = await waiting;
    expect(Date.now() - began).toBeLessThan(4000);
    expect(next.body.device_lists.changed).toContain(heidi.user_id);
    const changes = await server.request("GET", `${v3}/keys/changes?from=${start.body.next_batch}&to=${next.body.next_batch}`, { token: grace.access_token });
    expect(changes.body.changed).toContain(heidi.user_id);
  });

  test("deleting a device removes its keys and room-mates see the change", async () => {
    const ivan = await server.register("keys-ivan");
    const judy = await server.register("keys-judy");
    await roomWith(ivan, judy);
    await upload(judy, { device_keys: deviceKeys(judy), one_time_keys: otk("J1") });
    const start = await server.request("GET", `${v3}/sync`, { token: ivan.access_token });
    await server.request("POST", `${v3}/logout`, { token: judy.access_token });
    expect(server.hs.store.keys.deviceKeys(judy.user_id, judy.device_id)).toBeUndefined();
    expect(server.hs.store.keys.oneTimeKeyCounts(judy.user_id, judy.device_id)).toEqual({});
    const next = await server.request("GET", `${v3}/sync?since=${start.body.next_batch}`, { token: ivan.access_token });
    expect(next.body.device_lists.changed).toContain(judy.user_id);
  });

  test("a user who joins a shared room is in changed; one who leaves every shared room is in left", async () => {
    const kim = await server.register("keys-kim");
    const leo = await server.register("keys-leo");
    const room = await server.request("POST", `${v3}/createRoom`, { token: kim.access_token, body: { preset: "public_chat" } });
    const roomId = encodeURIComponent(room.body.room_id);
    const start = await server.request("GET", `${v3}/sync`, { token: kim.access_token });
    await server.request("POST", `${v3}/rooms/${roomId}/join`, { token: leo.access_token, body: {} });
    const joined = await server.request("GET", `${v3}/sync?since=${start.body.next_batch}`, { token: kim.access_token });
    expect(joined.body.device_lists.changed).toContain(leo.user_id);
    await server.request("POST", `${v3}/rooms/${roomId}/leave`, { token: leo.access_token, body: {} });
    const left = await server.request("GET", `${v3}/sync?since=${joined.body.next_batch}`, { token: kim.access_token });
    expect(left.body.device_lists.left).toContain(leo.user_id);
  });

  test("a join or leave older than a limited timeline's window still counts (it is in state, not in the timeline)", async () => {
    const mia = await server.register("keys-mia");
    const ned = await server.register("keys-ned");
    const room = await server.request("POST", `${v3}/createRoom`, { token: mia.access_token, body: { preset: "public_chat" } });
    const roomId = encodeURIComponent(room.body.room_id);
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 2 } } }));
    const start = await server.request("GET", `${v3}/sync?filter=${filter}`, { token: mia.access_token });
    await server.request("POST", `${v3}/rooms/${roomId}/join`, { token: ned.access_token, body: {} });
    for (let i = 0; i < 4; i++) {
      await server.request("PUT", `${v3}/rooms/${roomId}/send/m.room.message/gap-${i}`, { token: mia.access_token, body: { msgtype: "m.text", body: `${i}` } });
    }
    const joined = await server.request("GET", `${v3}/sync?filter=${filter}&since=${start.body.next_batch}`, { token: mia.access_token });
    const section = joined.body.rooms.join[room.body.room_id];
    expect(section.timeline.limited).toBe(true);
    expect(section.timeline.events.some((event: any) => event.type === "m.room.member")).toBe(false);
    expect(joined.body.device_lists.changed).toContain(ned.user_id);

    await server.request("POST", `${v3}/rooms/${roomId}/leave`, { token: ned.access_token, body: {} });
    for (let i = 4; i < 8; i++) {
      await server.request("PUT", `${v3}/rooms/${roomId}/send/m.room.message/gap-${i}`, { token: mia.access_token, body: { msgtype: "m.text", body: `${i}` } });
    }
    const left = await server.request("GET", `${v3}/sync?filter=${filter}&since=${joined.body.next_batch}`, { token: mia.access_token });
    expect(left.body.rooms.join[room.body.room_id].timeline.limited).toBe(true);
    expect(left.body.device_lists.left).toContain(ned.user_id);
  });

  test("joining a room puts its members in changed; leaving it puts those no longer shared in left", async () => {
    const olga = await server.register("keys-olga");
    const pete = await server.register("keys-pete");
    const quin = await server.register("keys-quin");
    const room = await server.request("POST", `${v3}/createRoom`, { token: pete.access_token, body: { preset: "public_chat" } });
    const roomId = encodeURIComponent(room.body.room_id);
    await server.request("POST", `${v3}/rooms/${roomId}/join`, { token: quin.access_token, body: {} });
    // Olga shares another room with quin only.
    await roomWith(olga, quin);
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } }));
    const start = await server.request("GET", `${v3}/sync?filter=${filter}`, { token: olga.access_token });
    await server.request("POST", `${v3}/rooms/${roomId}/join`, { token: olga.access_token, body: {} });
    const joined = await server.request("GET", `${v3}/sync?filter=${filter}&since=${start.body.next_batch}`, { token: olga.access_token });
    expect(joined.body.device_lists.changed).toEqual(expect.arrayContaining([pete.user_id, quin.user_id]));
    // /keys/changes tells the same for the same window.
    const between = (from: string, to: string) => server.request("GET", `${v3}/keys/changes?from=${from}&to=${to}`, { token: olga.access_token });
    expect((await between(start.body.next_batch, joined.body.next_batch)).body.changed).toEqual(expect.arrayContaining([pete.user_id, quin.user_id]));

    await server.request("POST", `${v3}/rooms/${roomId}/leave`, { token: olga.access_token, body: {} });
    const left = await server.request("GET", `${v3}/sync?filter=${filter}&since=${joined.body.next_batch}`, { token: olga.access_token });
    expect(left.body.device_lists.left).toEqual([pete.user_id]);
    expect(left.body.device_lists.changed).toEqual([]);
    expect((await between(joined.body.next_batch, left.body.next_batch)).body).toEqual({ changed: [], left: [pete.user_id] });
  });
});
