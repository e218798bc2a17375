// Pushers and delivery to push gateways (spec: Client-Server API, pusher.yaml;
// Push Gateway API, POST /_matrix/push/v1/notify). The gateways are Bun servers
// on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, sleep } from "../helpers/assert";
import { CLIENT, newTxnId, sendMessage, type User } from "../helpers/rooms";
import { makePrivateCa, type PrivateCa } from "../helpers/private-ca";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({ push: { retry_initial_ms: 20, max_attempts: 4 } });
});
afterAll(() => server.stop());

const newUser = (name = "u", on = server) => on.register(`push-${name}-${++counter}`);
const request = (user: User, method: string, path: string, body?: unknown, on = server) => on.request(method, path, { token: user.access_token, body });

async function ok(user: User, method: string, path: string, body?: unknown, on = server) {
  const response = await request(user, method, path, body, on);
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

interface Gateway {
  url: string;
  received: any[];
  /** Answers the next requests with these (status, body); then 200 {rejected: []}. */
  script: { status: number; body?: unknown; delayMs?: number }[];
  stop(): void;
}

function startGateway(tls?: { cert: string; key: string }): Gateway {
  const gateway: Gateway = { url: "", received: [], script: [], stop: () => {} };
  const listener = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls ? { tls } : {}),
    async fetch(req) {
      const url = new URL(req.url);
      gateway.received.push({ path: url.pathname, body: await req.json() });
      const next = gateway.script.shift() ?? { status: 200, body: { rejected: [] } };
      if (next.delayMs) await sleep(next.delayMs);
      return Response.json(next.body ?? {}, { status: next.status });
    },
  });
  gateway.url = `${tls ? "https" : "http"}://127.0.0.1:${listener.port}/_matrix/push/v1/notify`;
  gateway.stop = () => listener.stop(true);
  return gateway;
}

async function waitFor<T>(check: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const value = check();
    if (value) return value;
    await sleep(10);
  }
  throw new Error("timed out");
}

const pusher = (url: string, extra: Record<string, unknown> = {}) => ({
  kind: "http",
  app_id: "org.example.app",
  pushkey: `key-${++counter}`,
  app_display_name: "Example",
  device_display_name: "Phone",
  lang: "en",
  data: { url },
  ...extra,
});

async function pairInRoom(on = server): Promise<{ alice: User; bob: User; roomId: string }> {
  const alice = await newUser("alice", on);
  const bob = await newUser("bob", on);
  const roomId = (await ok(alice, "POST", `${CLIENT}/createRoom`, { preset: "public_chat", name: "Lunch" }, on)).room_id;
  await ok(bob, "POST", `${CLIENT}/join/${encodeURIComponent(roomId)}`, {}, on);
  return { alice, bob, roomId };
}

describe("GET /pushers and POST /pushers/set", () => {
  test("set, list, update, delete", async () => {
    const alice = await newUser();
    expect(await ok(alice, "GET", `${CLIENT}/pushers`)).toEqual({ pushers: [] });
    const body = pusher("https://push.example.org/_matrix/push/v1/notify", { profile_tag: "xyz", data: { url: "https://push.example.org/_matrix/push/v1/notify", format: "event_id_only", custom: 1 } });
    expect(await ok(alice, "POST", `${CLIENT}/pushers/set`, body)).toEqual({});
    const { append: _append, ...shown } = body as typeof body & { append?: boolean };
    expect((await ok(alice, "GET", `${CLIENT}/pushers`)).pushers).toEqual([shown]);

    await ok(alice, "POST", `${CLIENT}/pushers/set`, { ...body, device_display_name: "Tablet" });
    const [updated] = (await ok(alice, "GET", `${CLIENT}/pushers`)).pushers;
    expect(updated.device_display_name).toBe("Tablet");

    await ok(alice, "POST", `${CLIENT}/pushers/set`, { kind: null, app_id: body.app_id, pushkey: body.pushkey });
    expect(await ok(alice, "GET", `${CLIENT}/pushers`)).toEqual({ pushers: [] });
    // Deleting what is not there is fine.
    expect(await ok(alice, "POST", `${CLIENT}/pushers/set`, { kind: null, app_id: "x", pushkey: "y" })).toEqual({});
  });

  test("append: false takes the pushkey from other users; true shares it", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const carol = await newUser();
    const body = pusher("https://push.example.org/_matrix/push/v1/notify");
    await ok(alice, "POST", `${CLIENT}/pushers/set`, body);
    await ok(bob, "POST", `${CLIENT}/pushers/set`, { ...body, append: true });
    expect((await ok(alice, "GET", `${CLIENT}/pushers`)).pushers).toHaveLength(1);
    await ok(carol, "POST", `${CLIENT}/pushers/set`, body);
    expect((await ok(alice, "GET", `${CLIENT}/pushers`)).pushers).toEqual([]);
    expect((await ok(bob, "GET", `${CLIENT}/pushers`)).pushers).toEqual([]);
    expect((await ok(carol, "GET", `${CLIENT}/pushers`)).pushers).toHaveLength(1);
  });

  test("a device's pushers go when it logs out; other devices' stay", async () => {
    const alice = await newUser();
    const localpart = alice.user_id.slice(1, alice.user_id.indexOf(":"));
    const login = await server.request("POST", `${CLIENT}/login`, {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password: "correct horse battery staple" },
    });
    expect(login.status).toBe(200);
    const phone: User = login.body;
    const url = "https://push.example.org/_matrix/push/v1/notify";
    await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(url, { pushkey: "laptop" }));
    await ok(phone, "POST", `${CLIENT}/pushers/set`, pusher(url, { pushkey: "phone" }));
    expect((await ok(alice, "GET", `${CLIENT}/pushers`)).pushers.map((p: any) => p.pushkey).sort()).toEqual(["laptop", "phone"]);
    await ok(phone, "POST", `${CLIENT}/logout`, {});
    expect((await ok(alice, "GET", `${CLIENT}/pushers`)).pushers.map((p: any) => p.pushkey)).toEqual(["laptop"]);
  });

  test("bad input: a clear error and nothing stored", async () => {
    const alice = await newUser();
    const url = "https://push.example.org/_matrix/push/v1/notify";
    const cases: [Record<string, unknown>, string][] = [
      [{ app_id: "a", pushkey: "k" }, "M_MISSING_PARAM"],
      [{ kind: "http", pushkey: "k" }, "M_MISSING_PARAM"],
      [{ kind: "http", app_id: "a" }, "M_MISSING_PARAM"],
      [{ kind: "http", app_id: "a", pushkey: "k", data: { url } }, "M_MISSING_PARAM"],
      [pusher(url, { data: {} }), "M_MISSING_PARAM"],
      [pusher("https://push.example.org/notify"), "M_INVALID_PARAM"],
      [pusher("not a url"), "M_INVALID_PARAM"],
      [pusher("ftp://push.example.org/_matrix/push/v1/notify"), "M_INVALID_PARAM"],
      [pusher(url, { data: { url, format: "full" } }), "M_INVALID_PARAM"],
      [pusher(url, { kind: "carrier-pigeon" }), "M_INVALID_PARAM"],
      [pusher(url, { kind: 7 }), "M_INVALID_PARAM"],
      [pusher(url, { app_id: "a".repeat(65) }), "M_INVALID_PARAM"],
      [pusher(url, { pushkey: "k".repeat(513) }), "M_INVALID_PARAM"],
      [pusher(url, { lang: 5 }), "M_INVALID_PARAM"],
      [pusher(url, { data: [url] }), "M_INVALID_PARAM"],
      [pusher(url, { append: "yes" }), "M_INVALID_PARAM"],
      [pusher(url, { kind: "email", app_id: "m.email", pushkey: "alice@example.org" }), "M_THREEPID_NOT_FOUND"],
    ];
    for (const [body, errcode] of cases) {
      const response = await request(alice, "POST", `${CLIENT}/pushers/set`, body);
      expect([JSON.stringify(body).slice(0, 80), response.body?.errcode]).toEqual([JSON.stringify(body).slice(0, 80), errcode]);
      expectError(response, 400, errcode);
    }
    expect(await ok(alice, "GET", `${CLIENT}/pushers`)).toEqual({ pushers: [] });
    expectError(await server.request("GET", `${CLIENT}/pushers`), 401, "M_MISSING_TOKEN");
  });
});

describe("delivery to the gateway", () => {
  test("full format: event fields, counts and the device's tweaks; never for the user's own events", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      const body = pusher(gateway.url, { data: { url: gateway.url, custom: "x" } });
      await ok(alice, "POST", `${CLIENT}/pushers/set`, body);
      await sendMessage(server, alice, roomId, "my own");
      const eventId = await sendMessage(server, bob, roomId, "hello alice");
      const [received] = await waitFor(() => gateway.received.length > 0 && gateway.received);
      expect(received.path).toBe("/_matrix/push/v1/notify");
      const notification = received.body.notification;
      expect(notification).toMatchObject({
        event_id: eventId,
        room_id: roomId,
        type: "m.room.message",
        sender: bob.user_id,
        content: { msgtype: "m.text", body: "hello alice" },
        room_name: "Lunch",
        counts: { unread: 1 },
        prio: "high",
      });
      // Two members: .m.rule.room_one_to_one decides (a sound, no highlight).
      expect(notification.devices).toEqual([
        { app_id: body.app_id, pushkey: body.pushkey, pushkey_ts: expect.any(Number), data: { custom: "x" }, tweaks: { sound: "default" } },
      ]);
      await sleep(100);
      expect(gateway.received).toHaveLength(1);
    } finally {
      gateway.stop();
    }
  });

  test("a read receipt sends the lower count alone", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(gateway.url));
      await sendMessage(server, bob, roomId, "one");
      const last = await sendMessage(server, bob, roomId, "two");
      await waitFor(() => gateway.received.length >= 2);
      expect(gateway.received[1].body.notification.counts).toEqual({ unread: 2 });
      await ok(alice, "POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(last)}`, {});
      const [, , update] = await waitFor(() => gateway.received.length >= 3 && gateway.received);
      expect(update.body.notification.event_id).toBeUndefined();
      // Zero counts are left out (push gateway API, "counts").
      expect(update.body.notification.counts).toEqual({});
      expect(update.body.notification.devices[0].pushkey).toBeString();
    } finally {
      gateway.stop();
    }
  });

  test("event_id_only: only ids, counts and devices", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(gateway.url, { data: { url: gateway.url, format: "event_id_only" } }));
      const eventId = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "hey", "m.mentions": { user_ids: [alice.user_id] } });
      const [received] = await waitFor(() => gateway.received.length > 0 && gateway.received);
      const notification = received.body.notification;
      expect(Object.keys(notification).sort()).toEqual(["counts", "devices", "event_id", "prio", "room_id"]);
      expect(notification.event_id).toBe(eventId);
      expect(notification.devices[0].tweaks).toEqual({ sound: "default", highlight: true });
      expect(notification.devices[0].data).toEqual({ format: "event_id_only" });
    } finally {
      gateway.stop();
    }
  });

  test("a failing gateway is retried with back-off, and the send never waits for it", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(gateway.url));
      gateway.script.push({ status: 500, delayMs: 1500 }, { status: 503 });
      const started = Date.now();
      const eventId = await sendMessage(server, bob, roomId, "are you there");
      expect(Date.now() - started).toBeLessThan(1000);
      const received = await waitFor(() => gateway.received.length >= 3 && gateway.received);
      expect(received.map((r: any) => r.body.notification.event_id)).toEqual([eventId, eventId, eventId]);
      await sleep(200);
      expect(gateway.received).toHaveLength(3);
    } finally {
      gateway.stop();
    }
  });

  test("gives up after max_attempts", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(gateway.url));
      gateway.script.push(...Array.from({ length: 10 }, () => ({ status: 502 })));
      await sendMessage(server, bob, roomId, "hello?");
      await waitFor(() => gateway.received.length >= 4);
      await server.hs.pushDelivery.idle();
      await sleep(300);
      expect(gateway.received).toHaveLength(4);
    } finally {
      gateway.stop();
    }
  });

  test("a rejected pushkey removes its pusher", async () => {
    const gateway = startGateway();
    try {
      const { alice, bob, roomId } = await pairInRoom();
      const body = pusher(gateway.url);
      await ok(alice, "POST", `${CLIENT}/pushers/set`, body);
      gateway.script.push({ status: 200, body: { rejected: [body.pushkey] } });
      await sendMessage(server, bob, roomId, "one");
      await waitFor(() => gateway.received.length === 1);
      await server.hs.pushDelivery.idle();
      expect(await ok(alice, "GET", `${CLIENT}/pushers`)).toEqual({ pushers: [] });
      await sendMessage(server, bob, roomId, "two");
      await sleep(200);
      expect(gateway.received).toHaveLength(1);
    } finally {
      gateway.stop();
    }
  });
});

describe("HTTPS gateways and outbound_extra_ca_file", () => {
  let ca: PrivateCa;
  let tls: { cert: string; key: string };
  beforeAll(async () => {
    ca = await makePrivateCa();
    tls = ca.tls;
  });
  afterAll(() => ca.remove());

  test("delivered when the gateway's CA is configured; not otherwise", async () => {
    const gateway = startGateway(tls);
    const trusting = await startTestServer({ outbound_extra_ca_file: ca.caFile, push: { retry_initial_ms: 20, max_attempts: 1 } });
    const untrusting = await startTestServer({ push: { retry_initial_ms: 20, max_attempts: 1 } });
    try {
      for (const [hs, delivered] of [[untrusting, false], [trusting, true]] as const) {
        const { alice, bob, roomId } = await pairInRoom(hs);
        await ok(alice, "POST", `${CLIENT}/pushers/set`, pusher(gateway.url), hs);
        const before = gateway.received.length;
        await ok(bob, "PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${newTxnId()}`, { msgtype: "m.text", body: "secure" }, hs);
        await sleep(50);
        await hs.hs.pushDelivery.idle();
        expect(gateway.received.length - before).toBe(delivered ? 1 : 0);
      }
    } finally {
      gateway.stop();
      await trusting.stop();
      await untrusting.stop();
    }
  });
});
