// Login, access tokens, refresh, whoami and logout (spec: Client-Server API, "Login",
// "Using access tokens", "Refreshing access tokens", "Logout", GET /account/whoami).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, sleep } from "../helpers/assert";
import { startTestServer, type TestServer } from "../helpers/server";

const LOGIN = "/_matrix/client/v3/login";
const WHOAMI = "/_matrix/client/v3/account/whoami";
const PASSWORD = "correct horse battery staple";

const passwordLogin = (user: string, password: unknown = PASSWORD, extra: Record<string, unknown> = {}) => ({
  type: "m.login.password",
  identifier: { type: "m.id.user", user },
  password,
  ...extra,
});

describe("login", () => {
  let server: TestServer;
  const login = (body: unknown) => server.request("POST", LOGIN, { body });
  const whoami = (token: string) => server.request("GET", WHOAMI, { token });

  beforeAll(async () => {
    server = await startTestServer();
    await server.register("bob");
  });
  afterAll(() => server.stop());

  test("GET /login offers m.login.password", async () => {
    const response = await server.request("GET", LOGIN);
    expect(response.status).toBe(200);
    expect(response.body.flows).toContainEqual({ type: "m.login.password" });
    for (const flow of response.body.flows) expect(flow.type).toBeString();
  });

  describe("m.id.user identifiers", () => {
    for (const [what, user] of [
      ["a localpart", "bob"],
      ["a full user id", "@bob:localhost"],
      ["a localpart in another case", "BoB"],
      ["a full user id in another case", "@BOB:LocalHost"],
    ]) {
      test(`${what} logs in`, async () => {
        const response = await login(passwordLogin(user!));
        expect(response.status).toBe(200);
        expect(response.body.user_id).toBe("@bob:localhost");
        expect(response.body.access_token).toBeString();
        expect(response.body.device_id).toBeString();
        expect(response.body.home_server).toBe("localhost");
        const me = await whoami(response.body.access_token);
        expect(me.body).toEqual({ user_id: "@bob:localhost", device_id: response.body.device_id, is_guest: false });
      });
    }

    test("the deprecated top-level `user` logs in", async () => {
      const response = await login({ type: "m.login.password", user: "bob", password: PASSWORD });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@bob:localhost");
    });

    test("a login without refresh_token gets no refresh token and a token that does not expire", async () => {
      const response = await login(passwordLogin("bob"));
      expect(response.body.refresh_token).toBeUndefined();
      expect(response.body.expires_in_ms).toBeUndefined();
    });

    test("every login creates a new device with its own token", async () => {
      const before = server.hs.store.devices.list("@bob:localhost").length;
      const a = await login(passwordLogin("bob"));
      const b = await login(passwordLogin("bob"));
      expect(a.body.device_id).not.toBe(b.body.device_id);
      expect(a.body.access_token).not.toBe(b.body.access_token);
      expect(server.hs.store.devices.list("@bob:localhost")).toHaveLength(before + 2);
      expect((await whoami(a.body.access_token)).body.device_id).toBe(a.body.device_id);
      expect((await whoami(b.body.access_token)).body.device_id).toBe(b.body.device_id);
    });
  });

  describe("refused logins", () => {
    test("a wrong password is 403 M_FORBIDDEN and issues nothing", async () => {
      const devices = server.hs.store.devices.list("@bob:localhost").length;
      expectError(await login(passwordLogin("bob", "wrong password")), 403, "M_FORBIDDEN");
      expect(server.hs.store.devices.list("@bob:localhost")).toHaveLength(devices);
    });

    test("an unknown user is 403 M_FORBIDDEN with the same message as a wrong password", async () => {
      const unknown = await login(passwordLogin("nobody"));
      const wrong = await login(passwordLogin("bob", "wrong password"));
      expectError(unknown, 403, "M_FORBIDDEN");
      expect(unknown.body.error).toBe(wrong.body.error);
    });

    test("a user on another server is 403 M_FORBIDDEN", async () => {
      expectError(await login(passwordLogin("@bob:elsewhere.example")), 403, "M_FORBIDDEN");
    });

    test("a missing password is 400", async () => {
      const response = await login({ type: "m.login.password", identifier: { type: "m.id.user", user: "bob" } });
      expectError(response, 400, "M_MISSING_PARAM");
    });

    test("a password that is not a string is 400", async () => {
      const response = await login(passwordLogin("bob", 12345));
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBeString();
    });

    test("a missing user is 400 M_MISSING_PARAM", async () => {
      expectError(await login({ type: "m.login.password", password: PASSWORD }), 400, "M_MISSING_PARAM");
      expectError(await login({ type: "m.login.password", identifier: { type: "m.id.user" }, password: PASSWORD }), 400, "M_MISSING_PARAM");
    });

    test("an unsupported identifier type is 400", async () => {
      const response = await login({
        type: "m.login.password",
        identifier: { type: "m.id.thirdparty", medium: "email", address: "bob@example.org" },
        password: PASSWORD,
      });
      expect(response.status).toBe(400);
    });

    test("an identifier that is not an object is 400 M_BAD_JSON", async () => {
      expectError(await login({ type: "m.login.password", identifier: "bob", password: PASSWORD }), 400, "M_BAD_JSON");
    });

    for (const type of ["m.login.token", "m.login.sso", "org.example.custom"]) {
      test(`login type ${type} is 400 M_UNKNOWN`, async () => {
        expectError(await login({ type, identifier: { type: "m.id.user", user: "bob" }, password: PASSWORD }), 400, "M_UNKNOWN");
      });
    }

    test("a missing type is 400", async () => {
      const response = await login({ identifier: { type: "m.id.user", user: "bob" }, password: PASSWORD });
      expect(response.status).toBe(400);
    });
  });

  describe("devices", () => {
    test("logging in with an existing device_id reuses the device and kills its old token", async () => {
      const first = await login(passwordLogin("bob", PASSWORD, { device_id: "REUSED", initial_device_display_name: "Laptop" }));
      expect(first.status).toBe(200);
      expect(first.body.device_id).toBe("REUSED");
      const second = await login(passwordLogin("bob", PASSWORD, { device_id: "REUSED", initial_device_display_name: "Renamed?" }));
      expect(second.status).toBe(200);
      expect(second.body.device_id).toBe("REUSED");
      expect(second.body.access_token).not.toBe(first.body.access_token);

      expectError(await whoami(first.body.access_token), 401, "M_UNKNOWN_TOKEN");
      expect((await whoami(second.body.access_token)).body.device_id).toBe("REUSED");
      const reused = server.hs.store.devices.list("@bob:localhost").filter((d) => d.deviceId === "REUSED");
      expect(reused).toHaveLength(1);
      // The spec: initial_device_display_name is ignored if device_id names a known device.
      expect(reused[0]!.displayName).toBe("Laptop");
    });

    test("initial_device_display_name names a new device", async () => {
      const response = await login(passwordLogin("bob", PASSWORD, { initial_device_display_name: "Jungle Phone" }));
      expect(server.hs.store.devices.get("@bob:localhost", response.body.device_id)?.displayName).toBe("Jungle Phone");
      const device = await server.request("GET", `/_matrix/client/v3/devices/${response.body.device_id}`, {
        token: response.body.access_token,
      });
      expect(device.body.display_name).toBe("Jungle Phone");
    });

    test("a device_id of another user is a new device of this user", async () => {
      const carol = await server.register("carol");
      const response = await login(passwordLogin("bob", PASSWORD, { device_id: carol.device_id }));
      expect(response.status).toBe(200);
      expect(response.body.device_id).toBe(carol.device_id);
      // Carol's device and token are untouched.
      expect((await whoami(carol.access_token)).body.user_id).toBe("@carol:localhost");
      expect(server.hs.store.devices.get("@carol:localhost", carol.device_id)).toBeDefined();
    });

    test("an empty device_id is 400 M_BAD_JSON", async () => {
      expectError(await login(passwordLogin("bob", PASSWORD, { device_id: "" })), 400, "M_BAD_JSON");
    });
  });

  test("well_known is absent when public_baseurl is not configured", async () => {
    const response = await login(passwordLogin("bob"));
    expect(response.status).toBe(200);
    expect("well_known" in response.body).toBe(false);
  });

  test("the r0 prefix answers GET and POST /login", async () => {
    const flows = await server.request("GET", "/_matrix/client/r0/login");
    expect(flows.status).toBe(200);
    expect(flows.body.flows).toContainEqual({ type: "m.login.password" });
    const response = await server.request("POST", "/_matrix/client/r0/login", { body: passwordLogin("bob") });
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe("@bob:localhost");
    expect((await server.request("GET", "/_matrix/client/r0/account/whoami", { token: response.body.access_token })).status).toBe(200);
  });

  describe("deactivated accounts", () => {
    test("login is 403 M_USER_DEACTIVATED and the old tokens are dead", async () => {
      const dave = await server.register("dave");
      const deactivate = await server.request("POST", "/_matrix/client/v3/account/deactivate", {
        token: dave.access_token,
        body: { auth: { type: "m.login.password", identifier: { type: "m.id.user", user: "dave" }, password: PASSWORD } },
      });
      expect(deactivate.status).toBe(200);
      expectError(await login(passwordLogin("dave")), 403, "M_USER_DEACTIVATED");
      expectError(await whoami(dave.access_token), 401, "M_UNKNOWN_TOKEN");
      expect(server.hs.store.devices.list("@dave:localhost")).toEqual([]);
    });
  });
});

describe("well_known in the login response", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ public_baseurl: "https://matrix.example.org/" });
    await server.register("erin");
  });
  afterAll(() => server.stop());

  test("is present, and matches /.well-known/matrix/client", async () => {
    const response = await server.request("POST", LOGIN, { body: passwordLogin("erin") });
    expect(response.status).toBe(200);
    const discovered = await server.request("GET", "/.well-known/matrix/client");
    expect(response.body.well_known).toEqual(discovered.body);
    expect(response.body.well_known["m.homeserver"].base_url).toBe("https://matrix.example.org");
  });
});

describe("access tokens", () => {
  let server: TestServer;
  let frank: { user_id: string; access_token: string; device_id: string };
  beforeAll(async () => {
    server = await startTestServer();
    frank = await server.register("frank");
  });
  afterAll(() => server.stop());

  test("whoami returns user_id, device_id and is_guest: false", async () => {
    const me = await server.request("GET", WHOAMI, { token: frank.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user_id: "@frank:localhost", device_id: frank.device_id, is_guest: false });
  });

  test("the token is stored only as a hash", () => {
    const dump = JSON.stringify(server.hs.store.sqlite.query("SELECT * FROM access_tokens").all());
    expect(dump).not.toContain(frank.access_token);
  });

  test("the ?access_token= query parameter works", async () => {
    const me = await server.request("GET", `${WHOAMI}?access_token=${encodeURIComponent(frank.access_token)}`);
    expect(me.status).toBe(200);
    expect(me.body.user_id).toBe("@frank:localhost");
  });

  test("the same token in header and query is accepted; different ones are refused", async () => {
    const same = await server.request("GET", `${WHOAMI}?access_token=${frank.access_token}`, { token: frank.access_token });
    expect(same.status).toBe(200);
    const other = await server.request("GET", `${WHOAMI}?access_token=someothertoken`, { token: frank.access_token });
    expect(other.status).toBe(401);
  });

  test("no token is 401 M_MISSING_TOKEN", async () => {
    expectError(await server.request("GET", WHOAMI), 401, "M_MISSING_TOKEN");
  });

  test("a malformed Authorization header is 401 M_MISSING_TOKEN", async () => {
    for (const authorization of ["Basic Zm9vOmJhcg==", "Bearer", "Bearer a b"]) {
      expectError(await server.request("GET", WHOAMI, { headers: { authorization } }), 401, "M_MISSING_TOKEN");
    }
  });

  test("an unknown token is 401 M_UNKNOWN_TOKEN, not a soft logout", async () => {
    const response = await server.request("GET", WHOAMI, { token: "syt_bm9ib2R5_notarealtoken_abcdef" });
    expectError(response, 401, "M_UNKNOWN_TOKEN");
    expect(response.body.soft_logout).not.toBe(true);
    const query = await server.request("GET", `${WHOAMI}?access_token=nope`);
    expectError(query, 401, "M_UNKNOWN_TOKEN");
  });

  test("the bearer scheme is case-insensitive", async () => {
    const me = await server.request("GET", WHOAMI, { headers: { authorization: `bearer ${frank.access_token}` } });
    expect(me.status).toBe(200);
  });
});

describe("access tokens in the query string, when refused by configuration", () => {
  let server: TestServer;
  let gina: { access_token: string };
  beforeAll(async () => {
    server = await startTestServer({ allow_access_token_in_query: false });
    gina = await server.register("gina");
  });
  afterAll(() => server.stop());

  test("?access_token= is refused with 401 M_MISSING_TOKEN", async () => {
    const response = await server.request("GET", `${WHOAMI}?access_token=${encodeURIComponent(gina.access_token)}`);
    expectError(response, 401, "M_MISSING_TOKEN");
  });

  test("the Authorization header still works", async () => {
    expect((await server.request("GET", WHOAMI, { token: gina.access_token })).status).toBe(200);
  });
});

describe("refresh tokens", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.register("hank");
  });
  afterAll(() => server.stop());

  const refresh = (refresh_token: unknown) => server.request("POST", "/_matrix/client/v3/refresh", { body: { refresh_token } });

  test("login with refresh_token: true returns a refresh token and expires_in_ms", async () => {
    const response = await server.request("POST", LOGIN, { body: passwordLogin("hank", PASSWORD, { refresh_token: true }) });
    expect(response.status).toBe(200);
    expect(response.body.refresh_token).toBeString();
    expect(response.body.expires_in_ms).toBe(5 * 60 * 1000);
  });

  test("POST /refresh gives new tokens for the same device; the old refresh token is then dead", async () => {
    const logged = await server.request("POST", LOGIN, { body: passwordLogin("hank", PASSWORD, { refresh_token: true }) });
    const first = await refresh(logged.body.refresh_token);
    expect(first.status).toBe(200);
    expect(first.body.access_token).toBeString();
    expect(first.body.refresh_token).toBeString();
    expect(first.body.access_token).not.toBe(logged.body.access_token);
    expect(first.body.refresh_token).not.toBe(logged.body.refresh_token);
    expect(first.body.expires_in_ms).toBe(5 * 60 * 1000);

    const me = await server.request("GET", WHOAMI, { token: first.body.access_token });
    expect(me.body).toEqual({ user_id: "@hank:localhost", device_id: logged.body.device_id, is_guest: false });

    // Once the new access token has been used, the old refresh token is revoked (spec: POST /refresh).
    const reused = await refresh(logged.body.refresh_token);
    expectError(reused, 401, "M_UNKNOWN_TOKEN");

    // The chain goes on with the new refresh token.
    const second = await refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    expect((await server.request("GET", WHOAMI, { token: second.body.access_token })).body.device_id).toBe(logged.body.device_id);
    expect(server.hs.store.devices.list("@hank:localhost").filter((d) => d.deviceId === logged.body.device_id)).toHaveLength(1);
  });

  test("the old refresh token stays valid until the new pair is used, so a lost response can be retried", async () => {
    const logged = await server.request("POST", LOGIN, { body: passwordLogin("hank", PASSWORD, { refresh_token: true }) });
    const lost = await refresh(logged.body.refresh_token);
    expect(lost.status).toBe(200);
    // The client never saw `lost` and retries with the same refresh token.
    const retried = await refresh(logged.body.refresh_token);
    expect(retried.status).toBe(200);
    // The unused pair of the first attempt is gone; the retried one works.
    expectError(await server.request("GET", WHOAMI, { token: lost.body.access_token }), 401, "M_UNKNOWN_TOKEN");
    expectError(await refresh(lost.body.refresh_token), 401, "M_UNKNOWN_TOKEN");
    expect((await server.request("GET", WHOAMI, { token: retried.body.access_token })).status).toBe(200);
    // Using the new access token spent the original refresh token and its access token.
    expectError(await refresh(logged.body.refresh_token), 401, "M_UNKNOWN_TOKEN");
    expectError(await server.request("GET", WHOAMI, { token: logged.body.access_token }), 401, "M_UNKNOWN_TOKEN");
  });

  test("an unknown refresh token is 401 M_UNKNOWN_TOKEN", async () => {
    expectError(await refresh("syr_bm9ib2R5_notarealtoken_abcdef"), 401, "M_UNKNOWN_TOKEN");
  });

  test("an access token is not a refresh token", async () => {
    const logged = await server.request("POST", LOGIN, { body: passwordLogin("hank", PASSWORD, { refresh_token: true }) });
    expectError(await refresh(logged.body.access_token), 401, "M_UNKNOWN_TOKEN");
  });

  test("a missing or non-string refresh_token is 400", async () => {
    expectError(await server.request("POST", "/_matrix/client/v3/refresh", { body: {} }), 400, "M_MISSING_PARAM");
    expectError(await refresh(42), 400, "M_BAD_JSON");
  });

  test("logout kills the refresh token too", async () => {
    const logged = await server.request("POST", LOGIN, { body: passwordLogin("hank", PASSWORD, { refresh_token: true }) });
    expect((await server.request("POST", "/_matrix/client/v3/logout", { token: logged.body.access_token })).status).toBe(200);
    expectError(await refresh(logged.body.refresh_token), 401, "M_UNKNOWN_TOKEN");
  });
});

describe("expiring access tokens", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ refreshable_access_token_lifetime_ms: 1000 });
    await server.register("ivan");
  });
  afterAll(() => server.stop());

  test("an expired refreshable token is 401 M_UNKNOWN_TOKEN with soft_logout: true, and refresh revives the device", async () => {
    const refreshable = await server.request("POST", LOGIN, { body: passwordLogin("ivan", PASSWORD, { refresh_token: true }) });
    const permanent = await server.request("POST", LOGIN, { body: passwordLogin("ivan") });
    expect(refreshable.body.expires_in_ms).toBe(1000);
    expect((await server.request("GET", WHOAMI, { token: refreshable.body.access_token })).status).toBe(200);

    await sleep(1100);

    const expired = await server.request("GET", WHOAMI, { token: refreshable.body.access_token });
    expectError(expired, 401, "M_UNKNOWN_TOKEN");
    expect(expired.body.soft_logout).toBe(true);
    // A token issued without a refresh token does not expire.
    expect((await server.request("GET", WHOAMI, { token: permanent.body.access_token })).status).toBe(200);
    // The device survives a soft logout.
    expect(server.hs.store.devices.get("@ivan:localhost", refreshable.body.device_id)).toBeDefined();

    const refreshed = await server.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: refreshable.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.expires_in_ms).toBe(1000);
    const me = await server.request("GET", WHOAMI, { token: refreshed.body.access_token });
    expect(me.body.device_id).toBe(refreshable.body.device_id);
  });
});

describe("logout", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.register("judy");
  });
  afterAll(() => server.stop());

  const loginJudy = async () => (await server.request("POST", LOGIN, { body: passwordLogin("judy") })).body;

  test("POST /logout kills the token and deletes the device, leaving other devices alone", async () => {
    const a = await loginJudy();
    const b = await loginJudy();
    const response = await server.request("POST", "/_matrix/client/v3/logout", { token: a.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expectError(await server.request("GET", WHOAMI, { token: a.access_token }), 401, "M_UNKNOWN_TOKEN");
    expect(server.hs.store.devices.get("@judy:localhost", a.device_id)).toBeUndefined();
    expect((await server.request("GET", WHOAMI, { token: b.access_token })).status).toBe(200);
    expect(server.hs.store.devices.get("@judy:localhost", b.device_id)).toBeDefined();
  });

  test("POST /logout without a token is 401 M_MISSING_TOKEN", async () => {
    expectError(await server.request("POST", "/_matrix/client/v3/logout"), 401, "M_MISSING_TOKEN");
  });

  test("a logged-out token cannot log out again", async () => {
    const a = await loginJudy();
    expect((await server.request("POST", "/_matrix/client/v3/logout", { token: a.access_token })).status).toBe(200);
    expectError(await server.request("POST", "/_matrix/client/v3/logout", { token: a.access_token }), 401, "M_UNKNOWN_TOKEN");
  });

  test("POST /logout/all kills every token and device of the user, and no one else's", async () => {
    const tokens = [await loginJudy(), await loginJudy(), await loginJudy()];
    const other = await server.register("ken");
    const response = await server.request("POST", "/_matrix/client/v3/logout/all", { token: tokens[0]!.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    for (const t of tokens) expectError(await server.request("GET", WHOAMI, { token: t.access_token }), 401, "M_UNKNOWN_TOKEN");
    expect(server.hs.store.devices.list("@judy:localhost")).toEqual([]);
    expect((await server.request("GET", WHOAMI, { token: other.access_token })).status).toBe(200);
    // The account itself remains: the password still logs in.
    expect((await server.request("POST", LOGIN, { body: passwordLogin("judy") })).status).toBe(200);
  });
});
