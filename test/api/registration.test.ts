// POST /register and its helpers (spec: Client-Server API, "Account registration",
// "User-Interactive Authentication API", "Token-authenticated registration", "Guest access").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRegistrationToken } from "../../src/accounts/admin";
import { createAccount } from "../../src/accounts/registration";
import { expectError, expectNoNewUsers } from "../helpers/assert";
import { startTestServer, type TestServer } from "../helpers/server";

const REGISTER = "/_matrix/client/v3/register";
const AVAILABLE = "/_matrix/client/v3/register/available";
// The spec's path is under v1; the v3 twin answers the same.
const VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity";
const VALIDITY_V3 = "/_matrix/client/v3/register/m.login.registration_token/validity";
const PASSWORD = "correct horse battery staple";

const login = (server: TestServer, user: string, password = PASSWORD) =>
  server.request("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  });

const whoami = (server: TestServer, token: string) => server.request("GET", "/_matrix/client/v3/account/whoami", { token });

describe("open registration", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.register("taken");
  });
  afterAll(() => server.stop());

  describe("user-interactive auth", () => {
    test("the first call answers 401 with the dummy flow and a session, and creates nothing", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "uia-first", password: PASSWORD } }),
      );
      expect(response.status).toBe(401);
      expect(response.body.flows).toEqual([{ stages: ["m.login.dummy"] }]);
      expect(response.body.session).toBeString();
      expect(response.body.session.length).toBeGreaterThan(0);
      expect(response.body.params).toEqual({});
      expect(response.body.completed).toBeUndefined();
      expect(server.hs.store.users.get("@uia-first:localhost")).toBeUndefined();
    });

    test("m.login.dummy in the same session completes the registration", async () => {
      const body = { username: "uia-two-step", password: PASSWORD };
      const first = await server.request("POST", REGISTER, { body });
      expect(first.status).toBe(401);
      const second = await server.request("POST", REGISTER, {
        body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
      });
      expect(second.status).toBe(200);
      expect(second.body.user_id).toBe("@uia-two-step:localhost");
      expect(second.body.home_server).toBe("localhost");
      expect(second.body.access_token).toBeString();
      expect(second.body.device_id).toBeString();
      expect(second.body.refresh_token).toBeUndefined();
      expect(second.body.expires_in_ms).toBeUndefined();

      const me = await whoami(server, second.body.access_token);
      expect(me.body).toEqual({ user_id: "@uia-two-step:localhost", device_id: second.body.device_id, is_guest: false });
    });

    test("a completed session cannot be used again", async () => {
      const first = await server.request("POST", REGISTER, { body: { username: "uia-reuse-a" } });
      const session = first.body.session;
      const ok = await server.request("POST", REGISTER, {
        body: { username: "uia-reuse-a", password: PASSWORD, auth: { type: "m.login.dummy", session } },
      });
      expect(ok.status).toBe(200);
      const again = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "uia-reuse-b", password: PASSWORD, auth: { type: "m.login.dummy", session } },
        }),
      );
      expectError(again, 400, "M_UNKNOWN");
    });

    test("an unknown session is refused", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "uia-unknown", password: PASSWORD, auth: { type: "m.login.dummy", session: "no-such-session" } },
        }),
      );
      expectError(response, 400, "M_UNKNOWN");
    });

    test("a single call with auth m.login.dummy and no session registers", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "one-shot", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@one-shot:localhost");
      expect((await whoami(server, response.body.access_token)).status).toBe(200);
    });

    test("a stage that is not offered is refused and creates nothing", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "wrong-stage", password: PASSWORD, auth: { type: "m.login.registration_token", token: "x" } },
        }),
      );
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBeString();
    });

    test("auth without a type re-issues the challenge for the same session", async () => {
      const first = await server.request("POST", REGISTER, { body: { username: "no-type" } });
      const again = await server.request("POST", REGISTER, {
        body: { username: "no-type", auth: { session: first.body.session } },
      });
      expect(again.status).toBe(401);
      expect(again.body.session).toBe(first.body.session);
      expect(again.body.flows).toEqual([{ stages: ["m.login.dummy"] }]);
    });
  });

  describe("the account created", () => {
    test("stores an argon2id hash of the password, and the password logs in", async () => {
      await server.register("hashed");
      const row = server.hs.store.users.get("@hashed:localhost")!;
      expect(row.passwordHash).toStartWith("$argon2id$");
      expect(row.passwordHash).not.toContain(PASSWORD);
      expect(row.isAdmin).toBe(false);
      expect(row.isGuest).toBe(false);
      expect(row.displayName).toBe("hashed");
      expect((await login(server, "hashed")).status).toBe(200);
      expect((await login(server, "hashed", "not the password")).status).toBe(403);
    });

    test("a registration without a username gets a generated, valid user id", async () => {
      const response = await server.request("POST", REGISTER, { body: { password: PASSWORD, auth: { type: "m.login.dummy" } } });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toMatch(/^@[a-z0-9._=\-/+]+:localhost$/);
      expect(server.hs.store.users.get(response.body.user_id)).toBeDefined();
    });

    test("a registration without a password creates an account that cannot log in with one", async () => {
      const response = await server.request("POST", REGISTER, { body: { username: "no-password", auth: { type: "m.login.dummy" } } });
      expect(response.status).toBe(200);
      expect(server.hs.store.users.get("@no-password:localhost")!.passwordHash).toBeNull();
      expectError(await login(server, "no-password", ""), 403, "M_FORBIDDEN");
      expectError(await login(server, "no-password", "anything"), 403, "M_FORBIDDEN");
    });
  });

  describe("inhibit_login", () => {
    test("creates the account but returns no access token or device", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "inhibited", password: PASSWORD, inhibit_login: true, device_id: "NEVER", auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ user_id: "@inhibited:localhost", home_server: "localhost" });
      expect(server.hs.store.users.get("@inhibited:localhost")).toBeDefined();
      expect(server.hs.store.devices.list("@inhibited:localhost")).toEqual([]);
      // The account is usable: the password logs in.
      expect((await login(server, "inhibited")).status).toBe(200);
    });

    test("inhibit_login: false logs in as usual", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "not-inhibited", password: PASSWORD, inhibit_login: false, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body.access_token).toBeString();
    });
  });

  describe("device_id and initial_device_display_name", () => {
    test("the device is created with the requested id and display name", async () => {
      const response = await server.request("POST", REGISTER, {
        body: {
          username: "with-device",
          password: PASSWORD,
          device_id: "JUNGLEPHONE",
          initial_device_display_name: "Jungle Phone",
          auth: { type: "m.login.dummy" },
        },
      });
      expect(response.status).toBe(200);
      expect(response.body.device_id).toBe("JUNGLEPHONE");
      const device = server.hs.store.devices.get("@with-device:localhost", "JUNGLEPHONE");
      expect(device?.displayName).toBe("Jungle Phone");
      expect(server.hs.store.devices.list("@with-device:localhost")).toHaveLength(1);

      const me = await whoami(server, response.body.access_token);
      expect(me.body.device_id).toBe("JUNGLEPHONE");
      const listed = await server.request("GET", "/_matrix/client/v3/devices/JUNGLEPHONE", { token: response.body.access_token });
      expect(listed.body.display_name).toBe("Jungle Phone");
    });

    test("without device_id the server generates one", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "generated-device", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expect(response.body.device_id).toMatch(/^[A-Z]{10}$/);
      expect(server.hs.store.devices.get("@generated-device:localhost", response.body.device_id)?.displayName).toBeNull();
    });
  });

  describe("refresh_token", () => {
    test("refresh_token: true returns a refresh token and the access token's lifetime", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "refreshing", password: PASSWORD, refresh_token: true, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body.refresh_token).toBeString();
      expect(response.body.refresh_token).not.toBe(response.body.access_token);
      expect(response.body.expires_in_ms).toBe(server.hs.config.refreshable_access_token_lifetime_ms);

      const refreshed = await server.request("POST", "/_matrix/client/v3/refresh", {
        body: { refresh_token: response.body.refresh_token },
      });
      expect(refreshed.status).toBe(200);
      const me = await whoami(server, refreshed.body.access_token);
      expect(me.body).toMatchObject({ user_id: "@refreshing:localhost", device_id: response.body.device_id });
    });

    test("refresh_token: false returns neither", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "not-refreshing", password: PASSWORD, refresh_token: false, auth: { type: "m.login.dummy" } },
      });
      expect(response.body.refresh_token).toBeUndefined();
      expect(response.body.expires_in_ms).toBeUndefined();
    });
  });

  describe("usernames", () => {
    test("a taken username is 400 M_USER_IN_USE", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "taken", password: PASSWORD, auth: { type: "m.login.dummy" } } }),
      );
      expectError(response, 400, "M_USER_IN_USE");
    });

    test("a taken username is reported before user-interactive auth starts", async () => {
      const response = await server.request("POST", REGISTER, { body: { username: "taken", password: PASSWORD } });
      expectError(response, 400, "M_USER_IN_USE");
      expect(response.body.session).toBeUndefined();
      expect(response.body.flows).toBeUndefined();
    });

    test("a username taken between the UIA steps is still refused", async () => {
      const first = await server.request("POST", REGISTER, { body: { username: "race" } });
      expect(first.status).toBe(401);
      await server.register("race");
      const second = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "race", password: PASSWORD, auth: { type: "m.login.dummy", session: first.body.session } },
        }),
      );
      expectError(second, 400, "M_USER_IN_USE");
    });

    test("two concurrent registrations of one username create one account", async () => {
      const before = server.hs.store.users.count();
      const body = { username: "concurrent", password: PASSWORD, auth: { type: "m.login.dummy" } };
      const responses = await Promise.all([1, 2, 3].map(() => server.request("POST", REGISTER, { body })));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 400, 400]);
      for (const r of responses.filter((r) => r.status === 400)) expectError(r, 400, "M_USER_IN_USE");
      expect(server.hs.store.users.count()).toBe(before + 1);
    });

    test("upper case is mapped to lower case", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "MixedCase", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@mixedcase:localhost");
      expect(server.hs.store.users.get("@MixedCase:localhost")).toBeUndefined();
      // ...so the same name in another case is taken.
      const again = await server.request("POST", REGISTER, {
        body: { username: "MIXEDCASE", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expectError(again, 400, "M_USER_IN_USE");
    });

    test("every character of the localpart grammar is accepted", async () => {
      const response = await server.request("POST", REGISTER, {
        body: { username: "a.b_c=d-e/f+g9", password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@a.b_c=d-e/f+g9:localhost");
    });

    const invalid: [string, string][] = [
      ["a space", "bad name"],
      ["an exclamation mark", "bad!name"],
      ["a colon", "bad:name"],
      ["an @", "@bad"],
      ["a non-ASCII letter", "émile"],
      ["an emoji", "smile😀"],
      ["a NUL", "nul\u0000"],
      ["a newline", "new\nline"],
      ["the empty string", ""],
      ["only digits", "12345"],
      ["a leading underscore", "_bridge_user"],
      ["a user id longer than 255 characters", "a".repeat(245)],
      ["a very long username", "a".repeat(1000)],
    ];
    for (const [what, username] of invalid) {
      test(`${what} is 400 M_INVALID_USERNAME, before UIA and without creating anything`, async () => {
        const withoutAuth = await expectNoNewUsers(server, () => server.request("POST", REGISTER, { body: { username, password: PASSWORD } }));
        expectError(withoutAuth, 400, "M_INVALID_USERNAME");
        const withAuth = await expectNoNewUsers(server, () =>
          server.request("POST", REGISTER, { body: { username, password: PASSWORD, auth: { type: "m.login.dummy" } } }),
        );
        expectError(withAuth, 400, "M_INVALID_USERNAME");
      });
    }

    test("the longest user id (255 characters) is accepted", async () => {
      const username = "b".repeat(255 - "@:localhost".length);
      const response = await server.request("POST", REGISTER, { body: { username, password: PASSWORD, auth: { type: "m.login.dummy" } } });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toHaveLength(255);
    });
  });

  describe("bad request bodies", () => {
    const wrongTypes: [string, Record<string, unknown>][] = [
      ["username as a number", { username: 5 }],
      ["username as an object", { username: { name: "x" } }],
      ["password as a boolean", { username: "types-a", password: true }],
      ["device_id as a number", { username: "types-b", device_id: 7 }],
      ["device_id empty", { username: "types-c", device_id: "" }],
      ["initial_device_display_name as an object", { username: "types-d", initial_device_display_name: {} }],
      ["inhibit_login as a string", { username: "types-e", inhibit_login: "yes" }],
      ["refresh_token as a number", { username: "types-f", refresh_token: 1 }],
    ];
    for (const [what, body] of wrongTypes) {
      test(`${what} is 400 M_BAD_JSON`, async () => {
        const response = await expectNoNewUsers(server, () =>
          server.request("POST", REGISTER, { body: { password: PASSWORD, ...body, auth: { type: "m.login.dummy" } } }),
        );
        expectError(response, 400, "M_BAD_JSON");
      });
    }

    test("a weak (empty) password is refused", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "weak", password: "", auth: { type: "m.login.dummy" } } }),
      );
      expectError(response, 400, "M_WEAK_PASSWORD");
    });

    test("a password over 512 bytes is refused", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "long-pw", password: "é".repeat(257), auth: { type: "m.login.dummy" } } }),
      );
      expectError(response, 400, "M_WEAK_PASSWORD");
    });

    for (const raw of ['{"username": "x",', "not json", "{'single': 'quotes'}", "\u0000"]) {
      test(`malformed JSON ${JSON.stringify(raw)} is 400 M_NOT_JSON`, async () => {
        const response = await expectNoNewUsers(server, () => server.request("POST", REGISTER, { body: raw }));
        expectError(response, 400, "M_NOT_JSON");
      });
    }

    test("a JSON array is 400 M_BAD_JSON", async () => {
      const response = await expectNoNewUsers(server, () => server.request("POST", REGISTER, { body: "[]" }));
      expectError(response, 400, "M_BAD_JSON");
    });

    test("an unknown kind is 400 M_INVALID_PARAM", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", `${REGISTER}?kind=admin`, { body: { username: "kind", auth: { type: "m.login.dummy" } } }),
      );
      expectError(response, 400, "M_INVALID_PARAM");
    });
  });

  describe("GET /register/available", () => {
    test("a free, valid name is available", async () => {
      const response = await expectNoNewUsers(server, () => server.request("GET", `${AVAILABLE}?username=free-name`));
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ available: true });
      expect(server.hs.store.users.get("@free-name:localhost")).toBeUndefined();
    });

    test("a taken name is 400 M_USER_IN_USE, in any case", async () => {
      expectError(await server.request("GET", `${AVAILABLE}?username=taken`), 400, "M_USER_IN_USE");
      expectError(await server.request("GET", `${AVAILABLE}?username=TAKEN`), 400, "M_USER_IN_USE");
    });

    for (const username of ["bad name", "_underscore", "1234", "%C3%A9mile", "a".repeat(300)]) {
      test(`${JSON.stringify(username.slice(0, 20))} is 400 M_INVALID_USERNAME`, async () => {
        const query = username.includes("%") ? username : encodeURIComponent(username);
        expectError(await server.request("GET", `${AVAILABLE}?username=${query}`), 400, "M_INVALID_USERNAME");
      });
    }

    test("a missing username is 400 M_MISSING_PARAM", async () => {
      expectError(await server.request("GET", AVAILABLE), 400, "M_MISSING_PARAM");
    });
  });

  describe("guests", () => {
    test("guest registration is 403 M_GUEST_ACCESS_FORBIDDEN when guest access is off (the default)", async () => {
      const response = await expectNoNewUsers(server, () => server.request("POST", `${REGISTER}?kind=guest`, { body: {} }));
      expectError(response, 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });

  test("the validity endpoint is 403 M_FORBIDDEN when registration tokens are not in use", async () => {
    expectError(await server.request("GET", `${VALIDITY}?token=anything`), 403, "M_FORBIDDEN");
  });

  test("the r0 prefix registers too", async () => {
    const response = await server.request("POST", "/_matrix/client/r0/register", {
      body: { username: "via-r0", password: PASSWORD, auth: { type: "m.login.dummy" } },
    });
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe("@via-r0:localhost");
  });
});

describe("guest registration when guest access is allowed", () => {
  let server: TestServer;
  let guest: { user_id: string; access_token: string; device_id: string };
  beforeAll(async () => {
    server = await startTestServer({ allow_guest_access: true });
    const response = await server.request("POST", `${REGISTER}?kind=guest`, {
      body: {
        // Everything but initial_device_display_name is ignored for guests.
        username: "chosen",
        password: PASSWORD,
        device_id: "CHOSENDEVICE",
        inhibit_login: true,
        initial_device_display_name: "Guest browser",
      },
    });
    expect(response.status).toBe(200);
    guest = response.body;
  });
  afterAll(() => server.stop());

  test("returns credentials for a new guest account, ignoring username, device_id and inhibit_login", async () => {
    expect(guest.access_token).toBeString();
    expect(guest.user_id).toMatch(/^@\d+:localhost$/);
    expect(guest.device_id).toBeString();
    expect(guest.device_id).not.toBe("CHOSENDEVICE");
    expect(server.hs.store.users.get("@chosen:localhost")).toBeUndefined();
    const row = server.hs.store.users.get(guest.user_id)!;
    expect(row.isGuest).toBe(true);
    expect(row.passwordHash).toBeNull();
    expect(server.hs.store.devices.get(guest.user_id, guest.device_id)?.displayName).toBe("Guest browser");
  });

  test("whoami says is_guest: true", async () => {
    const me = await whoami(server, guest.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user_id: guest.user_id, device_id: guest.device_id, is_guest: true });
  });

  test("each guest registration creates a distinct account", async () => {
    const other = await server.request("POST", `${REGISTER}?kind=guest`, { body: {} });
    expect(other.status).toBe(200);
    expect(other.body.user_id).not.toBe(guest.user_id);
  });

  test("guests are refused on POST /account/password", async () => {
    const response = await server.request("POST", "/_matrix/client/v3/account/password", {
      token: guest.access_token,
      body: { new_password: "new password", auth: { type: "m.login.dummy" } },
    });
    expectError(response, 403, "M_GUEST_ACCESS_FORBIDDEN");
  });

  test("guests are refused on the admin API", async () => {
    const response = await server.request("GET", "/_synapse/admin/v2/users", { token: guest.access_token });
    expectError(response, 403, "M_GUEST_ACCESS_FORBIDDEN");
  });

  test("guests are refused on POST /account/deactivate and GET /account/3pid", async () => {
    const deactivate = await server.request("POST", "/_matrix/client/v3/account/deactivate", { token: guest.access_token, body: {} });
    expectError(deactivate, 403, "M_GUEST_ACCESS_FORBIDDEN");
    expectError(await server.request("GET", "/_matrix/client/v3/account/3pid", { token: guest.access_token }), 403, "M_GUEST_ACCESS_FORBIDDEN");
    expect(server.hs.store.users.get(guest.user_id)!.deactivated).toBe(false);
  });

  test("a guest cannot log in with a password", async () => {
    const localpart = guest.user_id.slice(1, guest.user_id.indexOf(":"));
    expectError(await login(server, localpart, PASSWORD), 403, "M_FORBIDDEN");
  });

  test("user registration still works next to guest access", async () => {
    const user = await server.register("regular");
    expect((await whoami(server, user.access_token)).body.is_guest).toBe(false);
  });
});

describe("closed registration", () => {
  describe("on a first start (no accounts yet)", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ registration: "closed" });
    });
    afterAll(() => server.stop());

    test("a bootstrap token is issued", () => {
      expect(server.bootstrapToken).toBeString();
      expect(server.hs.store.users.count()).toBe(0);
    });

    test("the only flow offered is m.login.registration_token", async () => {
      const response = await expectNoNewUsers(server, () => server.request("POST", REGISTER, { body: { username: "first" } }));
      expect(response.status).toBe(401);
      expect(response.body.flows).toEqual([{ stages: ["m.login.registration_token"] }]);
    });

    test("m.login.dummy is refused", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "first", password: PASSWORD, auth: { type: "m.login.dummy" } } }),
      );
      expect(response.status).toBe(400);
    });

    test("a wrong token is refused with 401 M_FORBIDDEN in the UIA body", async () => {
      const response = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "first", password: PASSWORD, auth: { type: "m.login.registration_token", token: "wrong" } },
        }),
      );
      expect(response.status).toBe(401);
      expect(response.body.errcode).toBe("M_FORBIDDEN");
      expect(response.body.flows).toEqual([{ stages: ["m.login.registration_token"] }]);
    });

    test("the validity endpoint knows the bootstrap token", async () => {
      expect((await server.request("GET", `${VALIDITY}?token=${server.bootstrapToken}`)).body).toEqual({ valid: true });
      expect((await server.request("GET", `${VALIDITY}?token=wrong`)).body).toEqual({ valid: false });
      expect((await server.request("GET", `${VALIDITY_V3}?token=${server.bootstrapToken}`)).body).toEqual({ valid: true });
    });

    test("the bootstrap token registers the first account, which is an admin; the token is then spent", async () => {
      const token = server.bootstrapToken!;
      const response = await server.request("POST", REGISTER, {
        body: { username: "first", password: PASSWORD, auth: { type: "m.login.registration_token", token } },
      });
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@first:localhost");
      expect(server.hs.store.users.get("@first:localhost")!.isAdmin).toBe(true);
      expect(server.hs.store.registrationTokens.get(token)!.completed).toBe(1);
      const users = await server.request("GET", "/_synapse/admin/v2/users", { token: response.body.access_token });
      expect(users.status).toBe(200);
      expect(users.body.total).toBe(1);

      // Spent: registration is closed from now on, even with the same token.
      const second = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: { username: "second", password: PASSWORD, auth: { type: "m.login.registration_token", token } },
        }),
      );
      expectError(second, 403, "M_FORBIDDEN");
      expectError(await server.request("POST", REGISTER, { body: { username: "second" } }), 403, "M_FORBIDDEN");
      expectError(await server.request("GET", `${VALIDITY}?token=${token}`), 403, "M_FORBIDDEN");
      expectError(await server.request("GET", `${AVAILABLE}?username=second`), 403, "M_FORBIDDEN");
    });
  });

  describe("with accounts", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ registration: "closed" });
      // An account created another way (CLI, admin API) ends the bootstrap window.
      await createAccount(server.hs, { localpart: "operator", password: PASSWORD, admin: true });
    });
    afterAll(() => server.stop());

    test("registration is 403 M_FORBIDDEN, even with the bootstrap token", async () => {
      const plain = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, { body: { username: "intruder", password: PASSWORD, auth: { type: "m.login.dummy" } } }),
      );
      expectError(plain, 403, "M_FORBIDDEN");
      const withToken = await expectNoNewUsers(server, () =>
        server.request("POST", REGISTER, {
          body: {
            username: "intruder",
            password: PASSWORD,
            auth: { type: "m.login.registration_token", token: server.bootstrapToken },
          },
        }),
      );
      expectError(withToken, 403, "M_FORBIDDEN");
      expect(server.hs.store.users.get("@intruder:localhost")).toBeUndefined();
    });

    test("GET /register/available is 403 M_FORBIDDEN", async () => {
      expectError(await server.request("GET", `${AVAILABLE}?username=someone`), 403, "M_FORBIDDEN");
    });

    test("guest registration stays off", async () => {
      const response = await expectNoNewUsers(server, () => server.request("POST", `${REGISTER}?kind=guest`, { body: {} }));
      expectError(response, 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });

  test("no bootstrap token is issued when registration is open or token-based", async () => {
    for (const registration of ["open", "token"] as const) {
      const server = await startTestServer({ registration });
      try {
        expect(server.bootstrapToken).toBeNull();
        expect(server.hs.store.registrationTokens.list()).toEqual([]);
      } finally {
        await server.stop();
      }
    }
  });
});

describe("token registration", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ registration: "token" });
  });
  afterAll(() => server.stop());

  const registerWithToken = (username: string, token: unknown, session?: string) =>
    server.request("POST", REGISTER, {
      body: { username, password: PASSWORD, auth: { type: "m.login.registration_token", token, ...(session ? { session } : {}) } },
    });

  test("the flow offered is m.login.registration_token", async () => {
    const response = await expectNoNewUsers(server, () => server.request("POST", REGISTER, { body: { username: "t-probe" } }));
    expect(response.status).toBe(401);
    expect(response.body.flows).toEqual([{ stages: ["m.login.registration_token"] }]);
    expect(response.body.session).toBeString();
  });

  test("m.login.dummy is not enough", async () => {
    const response = await expectNoNewUsers(server, () =>
      server.request("POST", REGISTER, { body: { username: "t-dummy", password: PASSWORD, auth: { type: "m.login.dummy" } } }),
    );
    expect(response.status).toBe(400);
    expect(server.hs.store.users.get("@t-dummy:localhost")).toBeUndefined();
  });

  test("a valid token registers (a plain user, not an admin) and counts the use", async () => {
    createRegistrationToken(server.hs, { token: "valid-token", uses_allowed: 5 });
    expect((await server.request("GET", `${VALIDITY}?token=valid-token`)).body).toEqual({ valid: true });
    const response = await registerWithToken("t-valid", "valid-token");
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe("@t-valid:localhost");
    expect(server.hs.store.users.get("@t-valid:localhost")!.isAdmin).toBe(false);
    expect(server.hs.store.registrationTokens.get("valid-token")!.completed).toBe(1);
  });

  test("the token can be given in the session the first call opened", async () => {
    createRegistrationToken(server.hs, { token: "two-step" });
    const first = await server.request("POST", REGISTER, { body: { username: "t-two-step" } });
    expect(first.status).toBe(401);
    const second = await registerWithToken("t-two-step", "two-step", first.body.session);
    expect(second.status).toBe(200);
    expect(second.body.user_id).toBe("@t-two-step:localhost");
  });

  test("a token with no uses left is refused, and the validity endpoint says so", async () => {
    createRegistrationToken(server.hs, { token: "single-use", uses_allowed: 1 });
    expect((await registerWithToken("t-single-a", "single-use")).status).toBe(200);
    expect((await server.request("GET", `${VALIDITY}?token=single-use`)).body).toEqual({ valid: false });
    const response = await expectNoNewUsers(server, () => registerWithToken("t-single-b", "single-use"));
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(server.hs.store.registrationTokens.get("single-use")!.completed).toBe(1);
  });

  test("concurrent registrations cannot use a single-use token twice", async () => {
    createRegistrationToken(server.hs, { token: "contested", uses_allowed: 1 });
    const before = server.hs.store.users.count();
    const responses = await Promise.all(["t-race-a", "t-race-b", "t-race-c"].map((name) => registerWithToken(name, "contested")));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of responses.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(401);
      expect(r.body.errcode).toBe("M_FORBIDDEN");
    }
    expect(server.hs.store.users.count()).toBe(before + 1);
    expect(server.hs.store.registrationTokens.get("contested")!.completed).toBe(1);
  });

  test("a token allowing zero uses is refused", async () => {
    createRegistrationToken(server.hs, { token: "zero-uses", uses_allowed: 0 });
    const response = await expectNoNewUsers(server, () => registerWithToken("t-zero", "zero-uses"));
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
  });

  test("an expired token is refused, and the validity endpoint says so", async () => {
    server.hs.store.registrationTokens.insert({ token: "expired", usesAllowed: null, expiryTime: Date.now() - 1000 });
    expect((await server.request("GET", `${VALIDITY}?token=expired`)).body).toEqual({ valid: false });
    const response = await expectNoNewUsers(server, () => registerWithToken("t-expired", "expired"));
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(server.hs.store.registrationTokens.get("expired")!.completed).toBe(0);
  });

  test("an unknown token is refused", async () => {
    const response = await expectNoNewUsers(server, () => registerWithToken("t-unknown", "no-such-token"));
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect((await server.request("GET", `${VALIDITY}?token=no-such-token`)).body).toEqual({ valid: false });
  });

  test("a missing or non-string token is refused", async () => {
    for (const token of [undefined, 5, null]) {
      const response = await expectNoNewUsers(server, () => registerWithToken("t-missing", token));
      expect(response.status).toBe(401);
      expect(response.body.errcode).toBe("M_MISSING_PARAM");
    }
  });

  test("a username problem is reported before the token is looked at (and does not spend it)", async () => {
    createRegistrationToken(server.hs, { token: "kept", uses_allowed: 1 });
    expectError(await registerWithToken("t-valid", "kept"), 400, "M_USER_IN_USE");
    expectError(await registerWithToken("_bad", "kept"), 400, "M_INVALID_USERNAME");
    expect(server.hs.store.registrationTokens.get("kept")!.completed).toBe(0);
    expect((await registerWithToken("t-kept", "kept")).status).toBe(200);
  });

  test("the validity endpoint needs the token parameter", async () => {
    expectError(await server.request("GET", VALIDITY), 400, "M_MISSING_PARAM");
  });

  test("GET /register/available answers in token mode", async () => {
    expect((await server.request("GET", `${AVAILABLE}?username=t-free`)).body).toEqual({ available: true });
    expectError(await server.request("GET", `${AVAILABLE}?username=t-valid`), 400, "M_USER_IN_USE");
  });
});
