// Rate limits over HTTP (spec: Client-Server API, "Rate limiting": 429
// M_LIMIT_EXCEEDED with retry_after_ms; DESIGN.md: and a Retry-After header).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRegistrationToken } from "../../src/accounts/admin";
import { issueCredentials } from "../../src/accounts/credentials";
import { createAccount } from "../../src/accounts/registration";
import { expectError, expectNoNewUsers, sleep } from "../helpers/assert";
import { startTestServer, type TestResponse, type TestServer } from "../helpers/server";

const LOGIN = "/_matrix/client/v3/login";
const REGISTER = "/_matrix/client/v3/register";
const PASSWORD = "correct horse battery staple";

const loginBody = (user: string, password = PASSWORD) => ({
  type: "m.login.password",
  identifier: { type: "m.id.user", user },
  password,
});

/** 429 M_LIMIT_EXCEEDED with a positive retry_after_ms (at most `maxWaitMs`) and a matching Retry-After header. */
function expectRateLimited(response: TestResponse, maxWaitMs: number): number {
  expectError(response, 429, "M_LIMIT_EXCEEDED");
  expect(Object.keys(response.body).sort()).toEqual(["errcode", "error", "retry_after_ms"]);
  const waitMs = response.body.retry_after_ms;
  expect(waitMs).toBeNumber();
  expect(Number.isInteger(waitMs)).toBe(true);
  expect(waitMs).toBeGreaterThan(0);
  expect(waitMs).toBeLessThanOrEqual(maxWaitMs);
  const header = response.headers.get("retry-after");
  expect(header).toMatch(/^\d+$/);
  expect(Number(header)).toBeGreaterThanOrEqual(1);
  expect(Number(header)).toBe(Math.ceil(waitMs / 1000));
  expect(response.headers.get("access-control-allow-origin")).toBe("*");
  return waitMs;
}

describe("login, per client address", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rate_limits: { enabled: true, login: { per_second: 0.1, burst: 2 } } });
    await createAccount(server.hs, { localpart: "alice", password: PASSWORD });
    await createAccount(server.hs, { localpart: "bob", password: PASSWORD });
  });
  afterAll(() => server.stop());

  test("the third login from one address is 429 and issues nothing", async () => {
    expect((await server.request("POST", LOGIN, { body: loginBody("alice") })).status).toBe(200);
    expect((await server.request("POST", LOGIN, { body: loginBody("alice") })).status).toBe(200);
    const devices = server.hs.store.devices.list("@alice:localhost").length;
    const third = await server.request("POST", LOGIN, { body: loginBody("alice") });
    // One token every 10 s: the wait is at most 10 s.
    expectRateLimited(third, 10_000);
    expect(server.hs.store.devices.list("@alice:localhost")).toHaveLength(devices);
  });

  test("the limit is per address, not per account: another account is limited too", async () => {
    expectRateLimited(await server.request("POST", LOGIN, { body: loginBody("bob") }), 10_000);
  });

  test("a limited attempt does not get to check the password", async () => {
    expectRateLimited(await server.request("POST", LOGIN, { body: loginBody("bob", "wrong") }), 10_000);
  });

  test("X-Forwarded-For is ignored unless x_forwarded is configured", async () => {
    const response = await server.request("POST", LOGIN, { body: loginBody("alice"), headers: { "x-forwarded-for": "10.9.9.9" } });
    expectRateLimited(response, 10_000);
  });

  test("other endpoints are not limited by the login bucket", async () => {
    const token = server.hs.store.transaction(() => issueCredentials(server.hs, "@alice:localhost", {})).access_token;
    for (let i = 0; i < 5; i++) {
      expect((await server.request("GET", "/_matrix/client/v3/account/whoami", { token })).status).toBe(200);
    }
    expect((await server.request("GET", LOGIN)).status).toBe(200);
  });
});

describe("login, behind a trusted proxy", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ x_forwarded: true, rate_limits: { enabled: true, login: { per_second: 0.1, burst: 2 } } });
    await createAccount(server.hs, { localpart: "carol", password: PASSWORD });
  });
  afterAll(() => server.stop());

  // The proxy appends the peer it saw; what comes before is whatever the client sent.
  const loginFrom = (address: string, spoofed = "192.0.2.1") =>
    server.request("POST", LOGIN, { body: loginBody("carol"), headers: { "x-forwarded-for": `${spoofed}, ${address}` } });

  test("each forwarded client address has its own bucket", async () => {
    expect((await loginFrom("10.0.0.1")).status).toBe(200);
    expect((await loginFrom("10.0.0.1")).status).toBe(200);
    expectRateLimited(await loginFrom("10.0.0.1"), 10_000);
    expect((await loginFrom("10.0.0.2")).status).toBe(200);
  });

  test("a client cannot escape its bucket by sending its own X-Forwarded-For entries", async () => {
    expectRateLimited(await loginFrom("10.0.0.1", "198.51.100.7"), 10_000);
  });
});

describe("failed logins per account", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      rate_limits: {
        enabled: true,
        login: { per_second: 100, burst: 100 },
        // One token every 2 s: slow enough that a loaded machine cannot refill it between attempts.
        failed_login_per_account: { per_second: 0.5, burst: 2 },
      },
    });
    for (const localpart of ["victim", "bystander", "lucky", "uia-victim"]) await createAccount(server.hs, { localpart, password: PASSWORD });
  });
  afterAll(() => server.stop());

  test("after a burst of failures even the right password is refused until the bucket refills", async () => {
    expectError(await server.request("POST", LOGIN, { body: loginBody("victim", "guess 1") }), 403, "M_FORBIDDEN");
    // Other spellings of the same account share its bucket.
    expectError(await server.request("POST", LOGIN, { body: loginBody("@VICTIM:localhost", "guess 2") }), 403, "M_FORBIDDEN");
    const refused = await server.request("POST", LOGIN, { body: loginBody("victim") });
    const waitMs = expectRateLimited(refused, 2000);
    expect(server.hs.store.devices.list("@victim:localhost")).toEqual([]);

    // Another account from the same address is unaffected.
    expect((await server.request("POST", LOGIN, { body: loginBody("bystander") })).status).toBe(200);

    await sleep(waitMs + 100);
    const afterRefill = await server.request("POST", LOGIN, { body: loginBody("victim") });
    expect(afterRefill.status).toBe(200);
  });

  test("successful logins do not drain the account's bucket", async () => {
    for (let i = 0; i < 4; i++) expect((await server.request("POST", LOGIN, { body: loginBody("lucky") })).status).toBe(200);
  });

  test("wrong passwords in user-interactive auth drain the same bucket as login", async () => {
    const session = await server.request("POST", LOGIN, { body: loginBody("uia-victim") });
    const token = session.body.access_token;
    const changePassword = (password: string) =>
      server.request("POST", "/_matrix/client/v3/account/password", {
        token,
        body: {
          new_password: "a new password",
          logout_devices: false,
          auth: { type: "m.login.password", identifier: { type: "m.id.user", user: "uia-victim" }, password },
        },
      });
    for (const guess of ["guess 1", "guess 2"]) {
      const failed = await changePassword(guess);
      expect(failed.status).toBe(401);
      expect(failed.body.errcode).toBe("M_FORBIDDEN");
    }
    expectRateLimited(await changePassword(PASSWORD), 2000);
    expectRateLimited(await server.request("POST", LOGIN, { body: loginBody("uia-victim") }), 2000);
  });
});

describe("registration", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      allow_guest_access: true,
      rate_limits: { enabled: true, registration: { per_second: 0.1, burst: 2 } },
    });
  });
  afterAll(() => server.stop());

  const register = (username: string) =>
    server.request("POST", REGISTER, { body: { username, password: PASSWORD, auth: { type: "m.login.dummy" } } });

  test("UIA challenges do not spend the bucket; the third registration is 429 and creates nothing", async () => {
    for (let i = 0; i < 3; i++) expect((await server.request("POST", REGISTER, { body: { username: `probe${i}a` } })).status).toBe(401);
    expect((await register("reg-one")).status).toBe(200);
    expect((await register("reg-two")).status).toBe(200);
    const third = await expectNoNewUsers(server, () => register("reg-three"));
    expectRateLimited(third, 10_000);
    expect(server.hs.store.users.get("@reg-three:localhost")).toBeUndefined();
  });

  test("guest registration shares the registration bucket", async () => {
    const guest = await expectNoNewUsers(server, () => server.request("POST", `${REGISTER}?kind=guest`, { body: {} }));
    expectRateLimited(guest, 10_000);
  });

  test("login is not limited by the registration bucket", async () => {
    expect((await server.request("POST", LOGIN, { body: loginBody("reg-one") })).status).toBe(200);
  });
});

describe("registration, retried after a 429", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ rate_limits: { enabled: true, registration: { per_second: 1, burst: 1 } } });
  });
  afterAll(() => server.stop());

  test("the client keeps its UIA session and completes it once the bucket refills", async () => {
    const first = await server.request("POST", REGISTER, { body: { username: "patient", password: PASSWORD } });
    expect(first.status).toBe(401);
    // Someone else from the same address takes the only token meanwhile.
    const other = await server.request("POST", REGISTER, { body: { username: "eager", password: PASSWORD, auth: { type: "m.login.dummy" } } });
    expect(other.status).toBe(200);

    const finish = () =>
      server.request("POST", REGISTER, {
        body: { username: "patient", password: PASSWORD, auth: { type: "m.login.dummy", session: first.body.session } },
      });
    const limited = await expectNoNewUsers(server, finish);
    const waitMs = expectRateLimited(limited, 1000);
    await sleep(waitMs + 50);
    const retried = await finish();
    expect(retried.status).toBe(200);
    expect(retried.body.user_id).toBe("@patient:localhost");
  });
});

describe("registration token validity checks", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ registration: "token", rate_limits: { enabled: true, registration: { per_second: 0.1, burst: 2 } } });
    createRegistrationToken(server.hs, { token: "guessme" });
  });
  afterAll(() => server.stop());

  test("are rate limited, so tokens cannot be brute-forced", async () => {
    const check = (token: string) => server.request("GET", `${REGISTER}/m.login.registration_token/validity?token=${token}`);
    expect((await check("wrong-1")).body).toEqual({ valid: false });
    expect((await check("wrong-2")).body).toEqual({ valid: false });
    expectRateLimited(await check("guessme"), 10_000);
  });
});

describe("with rate limits disabled", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      allow_guest_access: true,
      rate_limits: {
        enabled: false,
        login: { per_second: 0.1, burst: 1 },
        failed_login_per_account: { per_second: 0.1, burst: 1 },
        registration: { per_second: 0.1, burst: 1 },
      },
    });
    await createAccount(server.hs, { localpart: "dave", password: PASSWORD });
  });
  afterAll(() => server.stop());

  test("nothing is limited", async () => {
    expect(server.hs.rateLimiter.enabled).toBe(false);
    for (let i = 0; i < 5; i++) expect((await server.request("POST", LOGIN, { body: loginBody("dave") })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await server.request("POST", LOGIN, { body: loginBody("dave", "wrong") })).status).toBe(403);
    expect((await server.request("POST", LOGIN, { body: loginBody("dave") })).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      const response = await server.request("POST", REGISTER, {
        body: { username: `free-${i}`, password: PASSWORD, auth: { type: "m.login.dummy" } },
      });
      expect(response.status).toBe(200);
    }
    for (let i = 0; i < 3; i++) expect((await server.request("POST", `${REGISTER}?kind=guest`, { body: {} })).status).toBe(200);
  });
});
