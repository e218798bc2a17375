// Dehydrated devices (MSC3814), under /_matrix/client/unstable/org.matrix.msc3814.v1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
const msc = "/_matrix/client/unstable/org.matrix.msc3814.v1";
const PASSWORD = "correct horse battery staple";
type User = { user_id: string; access_token: string; device_id: string };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const call = (user: User, method: string, path: string, body?: unknown) => server.request(method, path, { token: user.access_token, body });

function dehydrated(user: User, deviceId: string, extra: Record<string, unknown> = {}) {
  return {
    device_id: deviceId,
    device_data: { algorithm: "org.matrix.msc3814.v1.olm", device_pickle: `pickle-${deviceId}` },
    initial_device_display_name: "Dehydrated device",
    device_keys: {
      user_id: user.user_id,
      device_id: deviceId,
      algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: { [`curve25519:${deviceId}`]: deviceId, [`ed25519:${deviceId}`]: `ed-${deviceId}` },
      signatures: { [user.user_id]: { [`ed25519:${deviceId}`]: "sig" } },
      dehydrated: true,
    },
    one_time_keys: { [`signed_curve25519:${deviceId}1`]: { key: "otk", signatures: {} } },
    fallback_keys: { [`signed_curve25519:${deviceId}F`]: { key: "fallback", fallback: true, signatures: {} } },
    ...extra,
  };
}

const queryDevices = async (asker: User, user: User) =>
  (await call(asker, "POST", `${v3}/keys/query`, { device_keys: { [user.user_id]: [] } })).body.device_keys[user.user_id] as Record<string, any>;
const deviceIds = (user: User) => server.hs.store.devices.list(user.user_id).map((device) => device.deviceId);
let txn = 0;
const sendTo = (sender: User, user: User, deviceId: string, n: number) =>
  call(sender, "PUT", `${v3}/sendToDevice/m.room.encrypted/t${++txn}`, { messages: { [user.user_id]: { [deviceId]: { n } } } });
const events = (user: User, deviceId: string, nextBatch?: string, limit?: number) =>
  call(user, "POST", `${msc}/dehydrated_device/${deviceId}/events${limit ? `?limit=${limit}` : ""}`, nextBatch === undefined ? {} : { next_batch: nextBatch });

test("/versions advertises org.matrix.msc3814", async () => {
  const response = await server.request("GET", "/_matrix/client/versions");
  expect(response.body.unstable_features["org.matrix.msc3814"]).toBe(true);
});

describe("dehydrated device lifecycle", () => {
  test("none yet: GET and DELETE are 404 M_NOT_FOUND", async () => {
    const user = await server.register("dehy-none");
    for (const method of ["GET", "DELETE"]) {
      const response = await call(user, method, `${msc}/dehydrated_device`);
      expect(response.status).toBe(404);
      expect(response.body.errcode).toBe("M_NOT_FOUND");
    }
  });

  test("PUT creates a device without an access token, with its keys; GET returns its data", async () => {
    const alice = await server.register("dehy-alice");
    const bob = await server.register("dehy-bob");
    const put = await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "DEHYA"));
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ device_id: "DEHYA" });

    const get = await call(alice, "GET", `${msc}/dehydrated_device`);
    expect(get.body).toEqual({ device_id: "DEHYA", device_data: { algorithm: "org.matrix.msc3814.v1.olm", device_pickle: "pickle-DEHYA" } });

    const device = (await call(alice, "GET", `${v3}/devices/DEHYA`)).body;
    expect(device.display_name).toBe("Dehydrated device");
    expect(deviceIds(alice).sort()).toEqual([alice.device_id, "DEHYA"].sort());
    // No access token was issued for it.
    expect(server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM access_tokens WHERE user_id = ? AND device_id = 'DEHYA'").get(alice.user_id)).toEqual({ n: 0 });

    const keys = await queryDevices(bob, alice);
    expect(keys.DEHYA.dehydrated).toBe(true);
    expect(keys.DEHYA.keys["curve25519:DEHYA"]).toBe("DEHYA");
    const claim = async () =>
      (await call(bob, "POST", `${v3}/keys/claim`, { one_time_keys: { [alice.user_id]: { DEHYA: "signed_curve25519" } } })).body.one_time_keys[alice.user_id].DEHYA;
    expect(Object.values(await claim())).toEqual([{ key: "otk", signatures: {} }]);
    expect(Object.values(await claim())).toEqual([{ key: "fallback", fallback: true, signatures: {} }]);
  });

  test("a new PUT replaces the previous device and deletes it with its keys and messages", async () => {
    const alice = await server.register("dehy-replace");
    const bob = await server.register("dehy-replace-bob");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "OLD"));
    await sendTo(bob, alice, "OLD", 1);
    expect(server.hs.store.toDevice.between(alice.user_id, "OLD", 0, server.hs.store.stream.current, 10)).toHaveLength(1);

    expect((await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "NEW"))).body).toEqual({ device_id: "NEW" });
    expect((await call(alice, "GET", `${msc}/dehydrated_device`)).body.device_id).toBe("NEW");
    expect(deviceIds(alice).sort()).toEqual([alice.device_id, "NEW"].sort());
    expect(Object.keys(await queryDevices(bob, alice)).sort()).toEqual(["NEW"]);
    expect(server.hs.store.keys.deviceKeys(alice.user_id, "OLD")).toBeUndefined();
    expect(server.hs.store.keys.oneTimeKeyCounts(alice.user_id, "OLD")).toEqual({});
    expect(server.hs.store.toDevice.between(alice.user_id, "OLD", 0, server.hs.store.stream.current, 10)).toHaveLength(0);
    // The old id is no longer the dehydrated device.
    expect((await events(alice, "OLD")).status).toBe(403);

    // Uploading again with the same id replaces it in place.
    const same = await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "NEW", { device_data: { algorithm: "x", device_pickle: "second" } }));
    expect(same.status).toBe(200);
    expect((await call(alice, "GET", `${msc}/dehydrated_device`)).body.device_data.device_pickle).toBe("second");
  });

  test("DELETE removes the device and answers its id", async () => {
    const alice = await server.register("dehy-delete");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "GONE"));
    const response = await call(alice, "DELETE", `${msc}/dehydrated_device`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ device_id: "GONE" });
    expect((await call(alice, "GET", `${msc}/dehydrated_device`)).status).toBe(404);
    expect(deviceIds(alice)).toEqual([alice.device_id]);
    expect(server.hs.store.keys.deviceKeys(alice.user_id, "GONE")).toBeUndefined();
  });

  test("deleting the device through /delete_devices also forgets it as the dehydrated device", async () => {
    const alice = await server.register("dehy-devapi");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "VIADEV"));
    const challenge = await call(alice, "POST", `${v3}/delete_devices`, { devices: ["VIADEV"] });
    const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: "dehy-devapi" }, password: PASSWORD, session: challenge.body.session };
    expect((await call(alice, "POST", `${v3}/delete_devices`, { devices: ["VIADEV"], auth })).status).toBe(200);
    expect((await call(alice, "GET", `${msc}/dehydrated_device`)).status).toBe(404);
  });

  test("bad input answers a Matrix error and changes nothing", async () => {
    const alice = await server.register("dehy-bad");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "KEEP"));
    const good = dehydrated(alice, "BAD");
    const { device_keys: _omit, ...withoutKeys } = good;
    const cases: unknown[] = [
      withoutKeys,
      { ...good, device_id: "" },
      { ...good, device_data: "opaque" },
      { ...good, device_keys: { ...good.device_keys, device_id: "SOMETHINGELSE" } },
      { ...good, device_keys: { ...good.device_keys, user_id: "@someone:localhost" } },
      { ...good, one_time_keys: { "no-colon": { key: "k" } } },
      { ...good, device_id: alice.device_id, device_keys: { ...good.device_keys, device_id: alice.device_id } },
    ];
    for (const body of cases) {
      const response = await call(alice, "PUT", `${msc}/dehydrated_device`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.errcode).toMatch(/^M_(BAD_JSON|MISSING_PARAM|INVALID_PARAM)$/);
    }
    const notJson = await server.request("PUT", `${msc}/dehydrated_device`, { token: alice.access_token, body: "{" });
    expect(notJson.body.errcode).toBe("M_NOT_JSON");

    // The previous dehydrated device is still there, with its keys; the logged-in device is untouched.
    expect((await call(alice, "GET", `${msc}/dehydrated_device`)).body.device_id).toBe("KEEP");
    expect(deviceIds(alice).sort()).toEqual([alice.device_id, "KEEP"].sort());
    expect(server.hs.store.keys.deviceKeys(alice.user_id, "KEEP")).toBeString();
    expect(server.hs.store.keys.deviceKeys(alice.user_id, "BAD")).toBeUndefined();
    expect((await call(alice, "GET", `${v3}/account/whoami`)).status).toBe(200);
  });

  test("needs an access token", async () => {
    const response = await server.request("GET", `${msc}/dehydrated_device`);
    expect(response.status).toBe(401);
  });
});

describe("POST /dehydrated_device/{deviceId}/events", () => {
  test("pages through the queued messages with next_batch, without deleting them", async () => {
    const alice = await server.register("dehy-events");
    const bob = await server.register("dehy-events-bob");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "PAGED"));
    for (let n = 1; n <= 5; n++) expect((await sendTo(bob, alice, "PAGED", n)).status).toBe(200);
    await sendTo(bob, alice, alice.device_id, 99); // for another device: never listed

    const seen: number[] = [];
    let token: string | undefined;
    const sizes: number[] = [];
    for (let round = 0; round < 10; round++) {
      const response = await events(alice, "PAGED", token, 2);
      expect(response.status).toBe(200);
      expect(response.body.next_batch).toBeString();
      sizes.push(response.body.events.length);
      for (const event of response.body.events) {
        expect(event).toEqual({ type: "m.room.encrypted", sender: bob.user_id, content: { n: expect.any(Number) } });
        seen.push(event.content.n);
      }
      if (response.body.events.length === 0) {
        // The batch after the last one is empty and still carries a token.
        expect(response.body.next_batch).toBe(token!);
        break;
      }
      token = response.body.next_batch;
    }
    expect(sizes).toEqual([2, 2, 1, 0]);
    expect(seen).toEqual([1, 2, 3, 4, 5]);

    // Nothing was deleted: starting over gets everything again (default batch size).
    const again = await events(alice, "PAGED");
    expect(again.body.events.map((event: any) => event.content.n)).toEqual([1, 2, 3, 4, 5]);
    // A message queued later is picked up from the last token.
    await sendTo(bob, alice, "PAGED", 6);
    expect((await events(alice, "PAGED", token)).body.events.map((event: any) => event.content.n)).toEqual([6]);
  });

  test("a device id that is a base64 key ('/' and '+') works percent-encoded in the path", async () => {
    const alice = await server.register("dehy-base64");
    const bob = await server.register("dehy-base64-bob");
    const deviceId = "Zm9v/YmFy+YmF6";
    expect((await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, deviceId))).body).toEqual({ device_id: deviceId });
    await sendTo(bob, alice, deviceId, 1);
    const response = await events(alice, encodeURIComponent(deviceId));
    expect(response.status).toBe(200);
    expect(response.body.events).toHaveLength(1);
  });

  test("a body-less request starts from the beginning", async () => {
    const alice = await server.register("dehy-nobody");
    const bob = await server.register("dehy-nobody-bob");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "NOBODY"));
    await sendTo(bob, alice, "NOBODY", 1);
    const response = await server.request("POST", `${msc}/dehydrated_device/NOBODY/events`, { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body.events).toHaveLength(1);
  });

  test("only the user's own dehydrated device: anything else is 403 M_FORBIDDEN", async () => {
    const alice = await server.register("dehy-forbid");
    const bob = await server.register("dehy-forbid-bob");
    expect((await events(alice, "ANY")).status).toBe(403);
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "ALICEDEHY"));
    for (const [user, deviceId] of [
      [alice, alice.device_id],
      [alice, "OTHER"],
      [bob, "ALICEDEHY"],
    ] as const) {
      const response = await events(user, deviceId);
      expect(response.status).toBe(403);
      expect(response.body.errcode).toBe("M_FORBIDDEN");
    }
  });

  test("a malformed next_batch or limit is 400 M_INVALID_PARAM", async () => {
    const alice = await server.register("dehy-token");
    await call(alice, "PUT", `${msc}/dehydrated_device`, dehydrated(alice, "TOKENS"));
    for (const token of ["", "5", "dx", "d-1", "d01", "s1_0_0"]) {
      const response = await events(alice, "TOKENS", token);
      expect(response.status, token).toBe(400);
      expect(response.body.errcode).toBe("M_INVALID_PARAM");
    }
    const bad = await call(alice, "POST", `${msc}/dehydrated_device/TOKENS/events?limit=abc`, {});
    expect(bad.body.errcode).toBe("M_INVALID_PARAM");
    const wrongType = await call(alice, "POST", `${msc}/dehydrated_device/TOKENS/events`, { next_batch: 5 });
    expect(wrongType.status).toBe(400);
  });
});
