// Device management (spec: Client-Server API, "Device management").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const PASSWORD = "correct horse battery staple";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function login(user: string, options: { deviceId?: string; displayName?: string } = {}) {
  const response = await server.request("POST", "/_matrix/client/v3/login", {
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user },
      password: PASSWORD,
      ...(options.deviceId ? { device_id: options.deviceId } : {}),
      ...(options.displayName ? { initial_device_display_name: options.displayName } : {}),
    },
  });
  expect(response.status).toBe(200);
  return response.body as { access_token: string; device_id: string; user_id: string };
}

function whoami(token: string) {
  return server.request("GET", "/_matrix/client/v3/account/whoami", { token });
}

function passwordAuth(user: string, password = PASSWORD, session?: string) {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...(session ? { session } : {}) };
}

describe("GET /devices", () => {
  test("lists the user's devices with display names and last seen time and address", async () => {
    const before = Date.now();
    const alice = await server.register("dev-list");
    const phone = await login("dev-list", { displayName: "Alice's phone" });
    await whoami(phone.access_token);
    const response = await server.request("GET", "/_matrix/client/v3/devices", { token: alice.access_token });
    expect(response.status).toBe(200);
    const devices = response.body.devices as Record<string, unknown>[];
    expect(devices.map((d) => d.device_id).sort()).toEqual([alice.device_id, phone.device_id].sort());
    const phoneView = devices.find((d) => d.device_id === phone.device_id)!;
    expect(phoneView.display_name).toBe("Alice's phone");
    for (const device of devices) {
      expect(device.last_seen_ip).toBe("127.0.0.1");
      expect(device.last_seen_ts).toBeNumber();
      expect(device.last_seen_ts as number).toBeGreaterThanOrEqual(before);
      expect(device.last_seen_ts as number).toBeLessThanOrEqual(Date.now());
    }
  });

  test("a device's last_seen is filled in by use even if it was empty", async () => {
    const alice = await server.register("dev-seen");
    // Forget what login recorded, as for a device created before last-seen tracking.
    server.hs.store.devices.recordLastSeen(alice.user_id, alice.device_id, null as never, null as never);
    expect(server.hs.store.devices.get(alice.user_id, alice.device_id)!.lastSeenTs).toBeNull();
    const response = await server.request("GET", "/_matrix/client/v3/devices", { token: alice.access_token });
    const device = response.body.devices[0];
    expect(device.last_seen_ts).toBeNumber();
    expect(device.last_seen_ip).toBe("127.0.0.1");
  });

  test("does not show other users' devices", async () => {
    const alice = await server.register("dev-own-a");
    const bob = await server.register("dev-own-b");
    const response = await server.request("GET", "/_matrix/client/v3/devices", { token: alice.access_token });
    expect(response.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([alice.device_id]);
    expect(response.body.devices.map((d: { device_id: string }) => d.device_id)).not.toContain(bob.device_id);
  });

  test("needs an access token", async () => {
    const response = await server.request("GET", "/_matrix/client/v3/devices");
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });
});

describe("GET /devices/{deviceId}", () => {
  test("returns one device", async () => {
    const alice = await server.register("dev-get");
    const response = await server.request("GET", `/_matrix/client/v3/devices/${alice.device_id}`, { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body.device_id).toBe(alice.device_id);
    expect(response.body.last_seen_ip).toBe("127.0.0.1");
    expect(response.body.last_seen_ts).toBeNumber();
  });

  test("unknown device: 404 M_NOT_FOUND", async () => {
    const alice = await server.register("dev-get-unknown");
    const response = await server.request("GET", "/_matrix/client/v3/devices/NOSUCHDEVICE", { token: alice.access_token });
    expect(response.status).toBe(404);
    expect(response.body.errcode).toBe("M_NOT_FOUND");
  });

  test("another user's device is not found", async () => {
    const alice = await server.register("dev-get-a");
    const bob = await server.register("dev-get-b");
    const response = await server.request("GET", `/_matrix/client/v3/devices/${bob.device_id}`, { token: alice.access_token });
    expect(response.status).toBe(404);
    expect(response.body.errcode).toBe("M_NOT_FOUND");
  });

  test("a device id chosen at login, with characters that need escaping, round-trips", async () => {
    await server.register("dev-escaped");
    const phone = await login("dev-escaped", { deviceId: "my phone/1" });
    const response = await server.request("GET", `/_matrix/client/v3/devices/${encodeURIComponent("my phone/1")}`, {
      token: phone.access_token,
    });
    expect(response.status).toBe(200);
    expect(response.body.device_id).toBe("my phone/1");
  });
});

describe("PUT /devices/{deviceId}", () => {
  test("renames a device", async () => {
    const alice = await server.register("dev-rename");
    const response = await server.request("PUT", `/_matrix/client/v3/devices/${alice.device_id}`, {
      token: alice.access_token,
      body: { display_name: "Work laptop" },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    const device = await server.request("GET", `/_matrix/client/v3/devices/${alice.device_id}`, { token: alice.access_token });
    expect(device.body.display_name).toBe("Work laptop");
  });

  test("without display_name leaves the name unchanged", async () => {
    await server.register("dev-rename-keep");
    const phone = await login("dev-rename-keep", { displayName: "Phone" });
    const response = await server.request("PUT", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: phone.access_token,
      body: {},
    });
    expect(response.status).toBe(200);
    expect(server.hs.store.devices.get(phone.user_id, phone.device_id)!.displayName).toBe("Phone");
  });

  test("unknown device: 404 M_NOT_FOUND, nothing created", async () => {
    const alice = await server.register("dev-rename-unknown");
    const response = await server.request("PUT", "/_matrix/client/v3/devices/NOSUCHDEVICE", {
      token: alice.access_token,
      body: { display_name: "ghost" },
    });
    expect(response.status).toBe(404);
    expect(response.body.errcode).toBe("M_NOT_FOUND");
    expect(server.hs.store.devices.get(alice.user_id, "NOSUCHDEVICE")).toBeUndefined();
  });

  test("another user's device cannot be renamed", async () => {
    const alice = await server.register("dev-rename-a");
    const bob = await server.register("dev-rename-b");
    const response = await server.request("PUT", `/_matrix/client/v3/devices/${bob.device_id}`, {
      token: alice.access_token,
      body: { display_name: "mine now" },
    });
    expect(response.status).toBe(404);
    expect(server.hs.store.devices.get(bob.user_id, bob.device_id)!.displayName).toBeNull();
  });

  test("a display_name that is not a string: 400 M_BAD_JSON, name unchanged", async () => {
    await server.register("dev-rename-bad");
    const phone = await login("dev-rename-bad", { displayName: "Phone" });
    const response = await server.request("PUT", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: phone.access_token,
      body: { display_name: 42 },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_BAD_JSON");
    expect(server.hs.store.devices.get(phone.user_id, phone.device_id)!.displayName).toBe("Phone");
  });

  test("a body that is not JSON: 400 M_NOT_JSON", async () => {
    const alice = await server.register("dev-rename-notjson");
    const response = await server.request("PUT", `/_matrix/client/v3/devices/${alice.device_id}`, {
      token: alice.access_token,
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_NOT_JSON");
  });
});

describe("DELETE /devices/{deviceId}", () => {
  test("first answers 401 with the password flow and deletes nothing", async () => {
    const alice = await server.register("dev-del-challenge");
    const phone = await login("dev-del-challenge");
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
    });
    expect(response.status).toBe(401);
    expect(response.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(response.body.session).toBeString();
    expect(server.hs.store.devices.get(alice.user_id, phone.device_id)).toBeDefined();
    expect((await whoami(phone.access_token)).status).toBe(200);
  });

  test("a wrong password: 401 M_FORBIDDEN, the device stays", async () => {
    const alice = await server.register("dev-del-wrong");
    const phone = await login("dev-del-wrong");
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth("dev-del-wrong", "nope") },
    });
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(response.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(server.hs.store.devices.get(alice.user_id, phone.device_id)).toBeDefined();
  });

  test("with the password in the session: deletes the device and kills its token only", async () => {
    const alice = await server.register("dev-del-ok");
    const phone = await login("dev-del-ok");
    const challenge = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
      body: {},
    });
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth(alice.user_id, PASSWORD, challenge.body.session) },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});

    const dead = await whoami(phone.access_token);
    expect(dead.status).toBe(401);
    expect(dead.body.errcode).toBe("M_UNKNOWN_TOKEN");
    expect((await whoami(alice.access_token)).status).toBe(200);
    expect(server.hs.store.devices.get(alice.user_id, phone.device_id)).toBeUndefined();
    const listed = await server.request("GET", "/_matrix/client/v3/devices", { token: alice.access_token });
    expect(listed.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([alice.device_id]);
  });

  test("deleting the device of the calling token logs it out", async () => {
    const alice = await server.register("dev-del-self");
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${alice.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth("dev-del-self") },
    });
    expect(response.status).toBe(200);
    expect((await whoami(alice.access_token)).status).toBe(401);
  });

  test("an unknown device id succeeds (already gone), as Synapse does", async () => {
    const alice = await server.register("dev-del-unknown");
    const response = await server.request("DELETE", "/_matrix/client/v3/devices/NOSUCHDEVICE", {
      token: alice.access_token,
      body: { auth: passwordAuth("dev-del-unknown") },
    });
    expect(response.status).toBe(200);
    expect((await whoami(alice.access_token)).status).toBe(200);
  });

  test("cannot delete another user's device", async () => {
    const alice = await server.register("dev-del-a");
    const bob = await server.register("dev-del-b");
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${bob.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth("dev-del-a") },
    });
    // Alice's password proves Alice; the id names no device of hers, so nothing of Bob's goes.
    expect(response.status).toBe(200);
    expect(server.hs.store.devices.get(bob.user_id, bob.device_id)).toBeDefined();
    expect((await whoami(bob.access_token)).status).toBe(200);
  });
});

describe("POST /delete_devices", () => {
  test("asks for the password, then deletes exactly the listed devices", async () => {
    const alice = await server.register("dev-bulk");
    const phone = await login("dev-bulk");
    const tablet = await login("dev-bulk");
    const laptop = await login("dev-bulk");
    const devices = [phone.device_id, tablet.device_id];

    const challenge = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices },
    });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(server.hs.store.devices.list(alice.user_id)).toHaveLength(4);

    const wrong = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices, auth: passwordAuth("dev-bulk", "nope", challenge.body.session) },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errcode).toBe("M_FORBIDDEN");
    expect(wrong.body.session).toBe(challenge.body.session);
    expect(server.hs.store.devices.list(alice.user_id)).toHaveLength(4);

    const response = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices, auth: passwordAuth("dev-bulk", PASSWORD, challenge.body.session) },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect(server.hs.store.devices.list(alice.user_id).map((d) => d.deviceId).sort()).toEqual(
      [alice.device_id, laptop.device_id].sort(),
    );
    expect((await whoami(phone.access_token)).status).toBe(401);
    expect((await whoami(tablet.access_token)).status).toBe(401);
    expect((await whoami(laptop.access_token)).status).toBe(200);
  });

  test("devices is required and must be a list of strings", async () => {
    const alice = await server.register("dev-bulk-bad");
    const missing = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { auth: passwordAuth("dev-bulk-bad") },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errcode).toBe("M_MISSING_PARAM");
    const wrongType = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices: [1, 2], auth: passwordAuth("dev-bulk-bad") },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errcode).toBe("M_BAD_JSON");
    expect((await whoami(alice.access_token)).status).toBe(200);
  });
});

describe("user-interactive auth sessions", () => {
  test("a session started by one user cannot be used by another", async () => {
    const alice = await server.register("uia-alice");
    const bob = await server.register("uia-bob");
    const bobPhone = await login("uia-bob");

    const aliceChallenge = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices: [alice.device_id] },
    });
    const session = aliceChallenge.body.session;
    expect(session).toBeString();

    // Bob presents Alice's session with his own (correct) password.
    const response = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: bob.access_token,
      body: { devices: [bobPhone.device_id], auth: passwordAuth("uia-bob", PASSWORD, session) },
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.body.errcode).toBeString();
    expect(server.hs.store.devices.get(bob.user_id, bobPhone.device_id)).toBeDefined();
    expect((await whoami(bobPhone.access_token)).status).toBe(200);

    // The session still belongs to Alice and still works for her.
    const alicePhone = await login("uia-alice");
    const aliceDone = await server.request("POST", "/_matrix/client/v3/delete_devices", {
      token: alice.access_token,
      body: { devices: [alicePhone.device_id], auth: passwordAuth("uia-alice", PASSWORD, session) },
    });
    expect(aliceDone.status).toBe(200);
    expect((await whoami(alicePhone.access_token)).status).toBe(401);
  });

  test("an unknown session id is refused", async () => {
    const alice = await server.register("uia-unknown");
    const phone = await login("uia-unknown");
    const response = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth("uia-unknown", PASSWORD, "no-such-session") },
    });
    expect(response.status).toBe(400);
    expect(server.hs.store.devices.get(alice.user_id, phone.device_id)).toBeDefined();
  });

  test("a completed session cannot be replayed", async () => {
    const alice = await server.register("uia-replay");
    const phone = await login("uia-replay");
    const tablet = await login("uia-replay");
    const challenge = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
    });
    const session = challenge.body.session;
    const first = await server.request("DELETE", `/_matrix/client/v3/devices/${phone.device_id}`, {
      token: alice.access_token,
      body: { auth: passwordAuth("uia-replay", PASSWORD, session) },
    });
    expect(first.status).toBe(200);
    // Only the session id, no password: must not delete another device.
    const replay = await server.request("DELETE", `/_matrix/client/v3/devices/${tablet.device_id}`, {
      token: alice.access_token,
      body: { auth: { session } },
    });
    expect(replay.status).not.toBe(200);
    expect(server.hs.store.devices.get(alice.user_id, tablet.device_id)).toBeDefined();
  });
});
