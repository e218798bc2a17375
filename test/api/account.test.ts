// Account management (spec: Client-Server API, "Account registration and
// management"): password change and deactivation through user-interactive auth
// with m.login.password, and the 3pid listing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const PASSWORD = "correct horse battery staple";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

function login(user: string, password: string, deviceId?: string) {
  return server.request("POST", "/_matrix/client/v3/login", {
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user },
      password,
      ...(deviceId ? { device_id: deviceId } : {}),
    },
  });
}

async function loginOk(user: string, password: string) {
  const response = await login(user, password);
  expect(response.status).toBe(200);
  return response.body as { access_token: string; device_id: string; user_id: string };
}

function whoami(token: string) {
  return server.request("GET", "/_matrix/client/v3/account/whoami", { token });
}

function passwordAuth(user: string, password: string, session?: string) {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...(session ? { session } : {}) };
}

describe("POST /account/password", () => {
  test("without auth: 401 with the m.login.password flow and a session, password unchanged", async () => {
    const alice = await server.register("pw-challenge");
    const hashBefore = server.hs.store.users.get(alice.user_id)!.passwordHash;
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "something else" },
    });
    expect(response.status).toBe(401);
    expect(response.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(response.body.session).toBeString();
    expect(response.body.session.length).toBeGreaterThan(0);
    expect(response.body.params).toEqual({});
    expect(response.body.completed).toBeUndefined();
    // A first challenge is not a failure: no errcode.
    expect(response.body.errcode).toBeUndefined();
    expect(server.hs.store.users.get(alice.user_id)!.passwordHash).toBe(hashBefore);
  });

  test("wrong password: 401 M_FORBIDDEN with the flows and the same session; then the right one succeeds", async () => {
    const alice = await server.register("pw-wrong");
    const first = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "new secret" },
    });
    const session = first.body.session;

    const wrong = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "new secret", auth: passwordAuth(alice.user_id, "not my password", session) },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errcode).toBe("M_FORBIDDEN");
    expect(wrong.body.error).toBeString();
    expect(wrong.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(wrong.body.session).toBe(session);
    expect((await login(alice.user_id, PASSWORD)).status).toBe(200);
    expect((await login(alice.user_id, "new secret")).status).toBe(403);

    const right = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "new secret", auth: passwordAuth(alice.user_id, PASSWORD, session) },
    });
    expect(right.status).toBe(200);
    expect(right.body).toEqual({});
  });

  test("correct password in one step: the new password logs in, the old one does not", async () => {
    const alice = await server.register("pw-change");
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "brand new password", auth: passwordAuth("pw-change", PASSWORD) },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});

    const old = await login("pw-change", PASSWORD);
    expect(old.status).toBe(403);
    expect(old.body.errcode).toBe("M_FORBIDDEN");
    const fresh = await login("pw-change", "brand new password");
    expect(fresh.status).toBe(200);
    expect(fresh.body.user_id).toBe(alice.user_id);
  });

  test("by default logs out every other device but keeps the calling one", async () => {
    const alice = await server.register("pw-logout");
    const phone = await loginOk("pw-logout", PASSWORD);
    const laptop = await loginOk("pw-logout", PASSWORD);
    expect(server.hs.store.devices.list(alice.user_id)).toHaveLength(3);

    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: phone.access_token,
      body: { new_password: "rotated", auth: passwordAuth("pw-logout", PASSWORD) },
    });
    expect(response.status).toBe(200);

    expect((await whoami(phone.access_token)).status).toBe(200);
    for (const token of [alice.access_token, laptop.access_token]) {
      const gone = await whoami(token);
      expect(gone.status).toBe(401);
      expect(gone.body.errcode).toBe("M_UNKNOWN_TOKEN");
    }
    expect(server.hs.store.devices.list(alice.user_id).map((d) => d.deviceId)).toEqual([phone.device_id]);
  });

  test("logout_devices: false keeps the other devices and their tokens", async () => {
    const alice = await server.register("pw-keep");
    const phone = await loginOk("pw-keep", PASSWORD);
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: phone.access_token,
      body: { new_password: "rotated", logout_devices: false, auth: passwordAuth("pw-keep", PASSWORD) },
    });
    expect(response.status).toBe(200);
    expect((await whoami(alice.access_token)).status).toBe(200);
    expect((await whoami(phone.access_token)).status).toBe(200);
    expect(server.hs.store.devices.list(alice.user_id)).toHaveLength(2);
    expect((await login("pw-keep", "rotated")).status).toBe(200);
  });

  test("an identifier naming another user is refused, even with that user's password", async () => {
    const alice = await server.register("pw-alice");
    const bob = await server.register("pw-bob");
    const aliceHash = server.hs.store.users.get(alice.user_id)!.passwordHash;
    const bobHash = server.hs.store.users.get(bob.user_id)!.passwordHash;
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "hijacked", auth: passwordAuth(bob.user_id, PASSWORD) },
    });
    expect([401, 403]).toContain(response.status);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(server.hs.store.users.get(alice.user_id)!.passwordHash).toBe(aliceHash);
    expect(server.hs.store.users.get(bob.user_id)!.passwordHash).toBe(bobHash);
    expect((await login("pw-alice", "hijacked")).status).toBe(403);
    expect((await whoami(bob.access_token)).status).toBe(200);
  });

  test("an auth type that is not offered is refused", async () => {
    const alice = await server.register("pw-dummy");
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "nope", auth: { type: "m.login.dummy" } },
    });
    expect(response.status).toBe(400);
    expect((await login("pw-dummy", PASSWORD)).status).toBe(200);
  });

  test("an empty new password is M_WEAK_PASSWORD and changes nothing", async () => {
    const alice = await server.register("pw-weak");
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { new_password: "", auth: passwordAuth("pw-weak", PASSWORD) },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_WEAK_PASSWORD");
    expect((await login("pw-weak", PASSWORD)).status).toBe(200);
  });

  test("new_password is required", async () => {
    const alice = await server.register("pw-missing");
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: alice.access_token,
      body: { auth: passwordAuth("pw-missing", PASSWORD) },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_MISSING_PARAM");
  });

  test("needs an access token", async () => {
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      body: { new_password: "x" },
    });
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });

  test("works under the r0 prefix too", async () => {
    const alice = await server.register("pw-r0");
    const response = await server.request("POST", "/_matrix/client/r0/account/password", {
      token: alice.access_token,
      body: { new_password: "r0 password", auth: passwordAuth("pw-r0", PASSWORD) },
    });
    expect(response.status).toBe(200);
    expect((await login("pw-r0", "r0 password")).status).toBe(200);
  });
});

describe("POST /account/deactivate", () => {
  test("asks for the password first and leaves the account as it was", async () => {
    const alice = await server.register("deact-challenge");
    const response = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: {},
    });
    expect(response.status).toBe(401);
    expect(response.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(response.body.session).toBeString();
    expect(server.hs.store.users.get(alice.user_id)!.deactivated).toBe(false);
    expect((await whoami(alice.access_token)).status).toBe(200);
  });

  test("a wrong password does not deactivate", async () => {
    const alice = await server.register("deact-wrong");
    const response = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: { auth: passwordAuth(alice.user_id, "guess") },
    });
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(response.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    expect(server.hs.store.users.get(alice.user_id)!.deactivated).toBe(false);
    expect((await whoami(alice.access_token)).status).toBe(200);
  });

  test("with the password: tokens die, every device goes, login answers M_USER_DEACTIVATED", async () => {
    const alice = await server.register("deact-ok");
    const phone = await loginOk("deact-ok", PASSWORD);
    const challenge = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: {},
    });
    const response = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: { auth: passwordAuth("deact-ok", PASSWORD, challenge.body.session) },
    });
    expect(response.status).toBe(200);
    // No 3PIDs are ever bound here, and the spec says that must be "success".
    expect(response.body).toEqual({ id_server_unbind_result: "success" });

    for (const token of [alice.access_token, phone.access_token]) {
      const dead = await whoami(token);
      expect(dead.status).toBe(401);
      expect(dead.body.errcode).toBe("M_UNKNOWN_TOKEN");
    }
    expect(server.hs.store.devices.list(alice.user_id)).toEqual([]);
    const row = server.hs.store.users.get(alice.user_id)!;
    expect(row.deactivated).toBe(true);
    expect(row.passwordHash).toBeNull();

    const again = await login("deact-ok", PASSWORD);
    expect(again.status).toBe(403);
    expect(again.body.errcode).toBe("M_USER_DEACTIVATED");
  });

  test("the user id stays taken after deactivation", async () => {
    const alice = await server.register("deact-taken");
    await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: { auth: passwordAuth("deact-taken", PASSWORD) },
    });
    const response = await server.request("POST", "/_matrix/client/v3/register", {
      body: { username: "deact-taken", password: "x", auth: { type: "m.login.dummy" } },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_USER_IN_USE");
  });

  test("erase: true removes the display name", async () => {
    const alice = await server.register("deact-erase");
    expect(server.hs.store.users.get(alice.user_id)!.displayName).toBe("deact-erase");
    const response = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: { erase: true, auth: passwordAuth("deact-erase", PASSWORD) },
    });
    expect(response.status).toBe(200);
    expect(server.hs.store.users.get(alice.user_id)!.displayName).toBeNull();
  });

  test("someone else's password cannot deactivate", async () => {
    const alice = await server.register("deact-alice");
    const bob = await server.register("deact-bob");
    const response = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: alice.access_token,
      body: { auth: passwordAuth(bob.user_id, PASSWORD) },
    });
    expect([401, 403]).toContain(response.status);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(server.hs.store.users.get(alice.user_id)!.deactivated).toBe(false);
    expect(server.hs.store.users.get(bob.user_id)!.deactivated).toBe(false);
  });
});

describe("GET /account/3pid", () => {
  test("lists no third-party identifiers", async () => {
    const alice = await server.register("threepid");
    const response = await server.request("GET", "/_matrix/client/v3/account/3pid", { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ threepids: [] });
  });

  test("needs an access token", async () => {
    const response = await server.request("GET", "/_matrix/client/v3/account/3pid");
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });
});

describe("GET /account/whoami", () => {
  test("names the user and the device of the token", async () => {
    const alice = await server.register("whoami");
    const response = await whoami(alice.access_token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ user_id: alice.user_id, device_id: alice.device_id, is_guest: false });
  });
});
