// Errors and bad input across the whole HTTP surface (spec: Client-Server API,
// "Standard error response", "Web Browser Clients"; DESIGN.md "Errors and bad input").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issueCredentials } from "../../src/accounts/credentials";
import { createAccount } from "../../src/accounts/registration";
import { buildApp } from "../../src/app";
import { expectError } from "../helpers/assert";
import { startTestServer, type TestResponse, type TestServer } from "../helpers/server";

const PASSWORD = "correct horse battery staple";

let server: TestServer;
let alice: { user_id: string; access_token: string; device_id: string };
beforeAll(async () => {
  server = await startTestServer({ max_request_body_bytes: 70_000 });
  alice = await server.register("alice");
});
afterAll(() => server.stop());

type RawBody = string | Uint8Array | ReadableStream<Uint8Array>;

/** Sends raw bytes (fetch directly: the helper only sends strings). */
async function sendRaw(method: string, path: string, body: RawBody, headers: Record<string, string> = {}): Promise<TestResponse> {
  const response = await fetch(server.baseUrl + path, { method, body, headers: { "content-type": "application/json", ...headers } });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A user-interactive auth 401: the spec's body has flows and a session, and no errcode until a stage fails. */
function isUiaChallenge(response: TestResponse): boolean {
  return response.status === 401 && Array.isArray(response.body?.flows) && typeof response.body?.session === "string";
}

function expectCors(response: TestResponse): void {
  expect(response.headers.get("access-control-allow-origin")).toBe("*");
}

/** Exactly the two members of the standard error body, both strings. */
function expectStandardErrorBody(response: TestResponse): void {
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(Object.keys(response.body).sort()).toEqual(["errcode", "error"]);
  expect(response.body.errcode).toMatch(/^M_[A-Z_]+$/);
  expect(response.body.error).toBeString();
}

describe("unknown endpoints", () => {
  const unknownPaths = [
    "/_matrix/client/unstable/org.matrix.msc2965/auth_issuer",
    "/_matrix/client/v3/no-such-endpoint",
    "/_matrix/client/v1/register",
    "/_matrix/client/v3/login/extra/segments",
    "/_matrix/client/v3/rooms/!room:localhost/no-such-thing",
    "/_matrix/no/such/api",
    "/",
    "/favicon.ico",
  ];
  for (const path of unknownPaths) {
    test(`GET ${path} is 404 M_UNRECOGNIZED`, async () => {
      const response = await server.request("GET", path);
      expectError(response, 404, "M_UNRECOGNIZED");
      expectStandardErrorBody(response);
      expectCors(response);
    });
  }

  test("an unknown path is 404 with any method and any body, authenticated or not", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await server.request(method, "/_matrix/client/v3/no-such-endpoint", { body: "{not json", token: alice.access_token });
      expectError(response, 404, "M_UNRECOGNIZED");
    }
  });
});

describe("known paths with the wrong method", () => {
  const cases: [string, string][] = [
    ["GET", "/_matrix/client/v3/register"],
    ["PUT", "/_matrix/client/v3/login"],
    ["DELETE", "/_matrix/client/v3/login"],
    ["GET", "/_matrix/client/v3/logout"],
    ["POST", "/_matrix/client/v3/account/whoami"],
    ["POST", "/_matrix/client/v3/devices/SOMEDEVICE"],
    ["GET", "/_matrix/client/v3/refresh"],
    ["POST", "/_matrix/client/versions"],
    ["POST", "/_matrix/client/r0/register/available"],
  ];
  for (const [method, path] of cases) {
    test(`${method} ${path} is 405 M_UNRECOGNIZED`, async () => {
      const response = await server.request(method, path, { body: method === "GET" ? undefined : {}, token: alice.access_token });
      expectError(response, 405, "M_UNRECOGNIZED");
      expectStandardErrorBody(response);
      expectCors(response);
    });
  }
});

describe("CORS", () => {
  const preflight = (path: string) =>
    server.request("OPTIONS", path, {
      headers: {
        origin: "https://app.element.io",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  for (const path of [
    "/_matrix/client/v3/login",
    "/_matrix/client/v3/account/whoami",
    "/_matrix/client/v3/devices/SOMEDEVICE",
    "/_matrix/client/unstable/org.matrix.msc2965/auth_issuer",
    "/_matrix/client/v3/no-such-endpoint",
    "/_synapse/admin/v2/users",
  ]) {
    test(`OPTIONS ${path} succeeds with CORS headers, without a token`, async () => {
      const response = await preflight(path);
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      const methods = (response.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
      expect(methods).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "DELETE", "OPTIONS"]));
      const headers = (response.headers.get("access-control-allow-headers") ?? "").split(",").map((h) => h.trim().toLowerCase());
      expect(headers).toEqual(expect.arrayContaining(["authorization", "content-type", "x-requested-with"]));
    });
  }

  test("successful responses carry CORS headers and expose Retry-After", async () => {
    const response = await server.request("GET", "/_matrix/client/v3/account/whoami", { token: alice.access_token });
    expect(response.status).toBe(200);
    expectCors(response);
    expect((response.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("retry-after");
  });

  test("error responses carry CORS headers", async () => {
    const errors = [
      await server.request("GET", "/_matrix/client/v3/account/whoami"),
      await server.request("GET", "/_matrix/client/v3/account/whoami", { token: "unknown" }),
      await server.request("POST", "/_matrix/client/v3/login", { body: "{" }),
      await server.request("POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", user: "alice", password: "wrong" } }),
      await server.request("POST", "/_matrix/client/v3/register", { body: {} }),
      await sendRaw("POST", "/_matrix/client/v3/login", "x".repeat(80_000)),
    ];
    expect(errors.map((r) => r.status)).toEqual([401, 401, 400, 403, 401, 413]);
    for (const response of errors) expectCors(response);
  });
});

describe("request bodies", () => {
  test("a body over max_request_body_bytes is 413 M_TOO_LARGE", async () => {
    const body = JSON.stringify({ type: "m.login.password", user: "alice", password: "x".repeat(70_000) });
    const response = await sendRaw("POST", "/_matrix/client/v3/login", body);
    expectError(response, 413, "M_TOO_LARGE");
    expectStandardErrorBody(response);
  });

  test("a body just under the limit is parsed", async () => {
    const body = JSON.stringify({ type: "m.login.password", user: "alice", password: PASSWORD, pad: "x".repeat(69_000) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(70_000);
    const response = await sendRaw("POST", "/_matrix/client/v3/login", body);
    expect(response.status).toBe(200);
  });

  test("a chunked body (no Content-Length) over the limit is 413 M_TOO_LARGE", async () => {
    const chunk = new TextEncoder().encode("x".repeat(10_000));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await sendRaw("POST", "/_matrix/client/v3/register", stream);
    expectError(response, 413, "M_TOO_LARGE");
  });

  test("an oversized body creates nothing", async () => {
    const before = server.hs.store.users.count();
    const body = JSON.stringify({ username: "huge", password: PASSWORD, auth: { type: "m.login.dummy" }, pad: "x".repeat(70_000) });
    expectError(await sendRaw("POST", "/_matrix/client/v3/register", body), 413, "M_TOO_LARGE");
    expect(server.hs.store.users.count()).toBe(before);
  });

  for (const [what, body] of [
    ["an array", "[]"],
    ["an array of objects", '[{"type": "m.login.password"}]'],
    ["a string", '"m.login.password"'],
    ["a number", "42"],
    ["null", "null"],
    ["true", "true"],
  ]) {
    test(`a JSON body that is ${what} is 400 M_BAD_JSON`, async () => {
      const response = await sendRaw("POST", "/_matrix/client/v3/login", body!);
      expectError(response, 400, "M_BAD_JSON");
      expectStandardErrorBody(response);
    });
  }

  const notJson: [string, RawBody][] = [
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ["a lone continuation byte", new Uint8Array([0x80])],
    ["random binary", new Uint8Array([0x00, 0x01, 0x02, 0xc3, 0x28, 0xa0, 0xa1])],
    ["truncated JSON", '{"type": "m.login.password", "user": '],
    ["plain text", "hello world"],
    ["trailing garbage", '{"type": "m.login.password"} trailing'],
    ["single quotes", "{'type': 'm.login.password'}"],
    ["a trailing comma", '{"type": "m.login.password",}'],
    ["NaN", '{"a": NaN}'],
    ["form encoding", "type=m.login.password&user=alice"],
  ];
  for (const [what, body] of notJson) {
    test(`${what} is 400 M_NOT_JSON`, async () => {
      const response = await sendRaw("POST", "/_matrix/client/v3/login", body);
      expectError(response, 400, "M_NOT_JSON");
      expectStandardErrorBody(response);
    });
  }

  test("the body is read as JSON whatever the Content-Type", async () => {
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/octet-stream"]) {
      const response = await sendRaw(
        "POST",
        "/_matrix/client/v3/login",
        JSON.stringify({ type: "m.login.password", user: "alice", password: PASSWORD }),
        { "content-type": contentType },
      );
      expect(response.status).toBe(200);
      expect(response.body.user_id).toBe("@alice:localhost");
    }
  });
});

describe("error bodies", () => {
  test("are exactly {errcode, error} for the common failures", async () => {
    const responses = [
      await server.request("GET", "/_matrix/client/v3/nothing-here"),
      await server.request("PUT", "/_matrix/client/v3/login"),
      await server.request("GET", "/_matrix/client/v3/account/whoami"),
      await server.request("POST", "/_matrix/client/v3/login", { body: "{" }),
      await server.request("POST", "/_matrix/client/v3/login", { body: "[]" }),
      await server.request("POST", "/_matrix/client/v3/login", { body: {} }),
      await server.request("POST", "/_matrix/client/v3/login", { body: { type: 5 } }),
      await server.request("POST", "/_matrix/client/v3/login", { body: { type: "m.login.foo" } }),
      await server.request("POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", user: "alice", password: "no" } }),
      await server.request("POST", "/_matrix/client/v3/register", { body: { username: "alice" } }),
      await server.request("POST", "/_matrix/client/v3/register", { body: { username: "Bad Name" } }),
      await server.request("POST", "/_matrix/client/v3/register?kind=guest", { body: {} }),
      await server.request("GET", "/_matrix/client/v3/register/available"),
      await server.request("GET", "/_synapse/admin/v2/users", { token: alice.access_token }),
      await sendRaw("POST", "/_matrix/client/v3/login", "x".repeat(80_000)),
    ];
    for (const response of responses) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expectStandardErrorBody(response);
    }
  });

  test("M_UNKNOWN_TOKEN adds only the spec's soft_logout flag", async () => {
    const response = await server.request("GET", "/_matrix/client/v3/account/whoami", { token: "unknown" });
    expect(Object.keys(response.body).sort()).toEqual(["errcode", "error", "soft_logout"]);
    expect(response.body.soft_logout).toBe(false);
  });

  test("leak no internals (stack traces, SQL)", async () => {
    const response = await server.request("POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", user: "'; DROP TABLE users; --", password: "x" } });
    expectError(response, 403, "M_FORBIDDEN");
    expect(JSON.stringify(response.body)).not.toMatch(/at \w+ \(|sqlite|SELECT|\.ts:/i);
  });
});

describe("no 500s for bad input", () => {
  // Raw bodies that must never crash a handler: not JSON, JSON of every wrong shape,
  // and plausible-looking objects with wrong member types.
  const garbage: (string | Uint8Array)[] = [
    "",
    "{",
    "}",
    "[]",
    "null",
    "0",
    '"string"',
    "1e400",
    new Uint8Array([0xff, 0xfe, 0xfd]),
    "{}",
    '{"__proto__": {"admin": true}}',
    '{"constructor": {"prototype": {"x": 1}}}',
    '{"auth": []}',
    '{"auth": "dummy"}',
    '{"auth": {"type": 5}}',
    '{"auth": {"type": ["m.login.dummy"]}}',
    '{"auth": {"type": "m.login.password", "session": 5}}',
    '{"auth": {"type": "m.login.password", "identifier": "alice", "password": []}}',
    '{"auth": {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": 5}, "password": "x"}}',
    '{"auth": {"type": "m.login.password", "identifier": null, "password": "x"}}',
    '{"auth": {"type": "m.login.registration_token", "token": {}}}',
    '{"type": "m.login.password", "identifier": {"type": "m.id.user", "user": {"a": 1}}, "password": "x"}',
    '{"type": "m.login.password", "identifier": [], "user": 5, "password": null}',
    '{"type": "m.login.password", "user": "@:", "password": "x"}',
    '{"type": "m.login.password", "user": "@alice", "password": "x"}',
    '{"username": "\\u0000", "password": "\\ud800"}',
    '{"username": null, "password": null, "device_id": null}',
    '{"username": ["a"], "inhibit_login": "true", "refresh_token": {}}',
    '{"refresh_token": null}',
    '{"refresh_token": ""}',
    '{"devices": "ABC"}',
    '{"devices": [1, null, {}]}',
    '{"new_password": 5, "logout_devices": "yes"}',
    '{"new_password": "", "auth": {"type": "m.login.password", "user": "alice", "password": "x"}}',
    '{"display_name": ["x"]}',
    '{"erase": "no"}',
    '{"nonce": 1, "username": 2, "password": 3, "mac": 4}',
    '{"nonce": "x", "username": "x", "password": "x", "mac": "x"}',
    '{"uses_allowed": -1, "expiry_time": "soon", "length": 999}',
    '{"token": "has spaces", "uses_allowed": 1.5}',
    '{"admin": "yes", "deactivated": 1, "displayname": 5}',
    `{"deep": ${"[".repeat(5000)}${"]".repeat(5000)}}`,
    `{"type": "${"m".repeat(60_000)}"}`,
  ];

  let adminId: string;
  const routes: { method: string; path: string }[] = [];
  beforeAll(async () => {
    adminId = await createAccount(server.hs, { localpart: "garbage-admin", password: PASSWORD, admin: true });
    const seen = new Set<string>();
    for (const route of buildApp(server.hs).routes) {
      if (!["POST", "PUT", "DELETE"].includes(route.method)) continue;
      const key = `${route.method} ${route.path}`;
      if (!seen.has(key)) routes.push({ method: route.method, path: route.path }), seen.add(key);
    }
  });

  /** A fresh token for each request: some garbage is valid enough to log out or deactivate. */
  const freshAdminToken = () => server.hs.store.transaction(() => issueCredentials(server.hs, adminId, {}).access_token);

  const concretePath = (path: string) =>
    path
      .replace(":userId", encodeURIComponent("@garbage-target:localhost"))
      .replace(":deviceId", "SOMEDEVICE")
      .replace(":token", "sometoken")
      .replace(/:[A-Za-z]+/g, "x");

  test("the app has write endpoints to try", () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(keys).toContain("POST /_matrix/client/v3/register");
    expect(keys).toContain("POST /_matrix/client/v3/login");
    expect(keys).toContain("POST /_matrix/client/v3/refresh");
    expect(keys).toContain("POST /_matrix/client/v3/account/password");
    expect(keys.length).toBeGreaterThan(15);
  });

  test("no POST/PUT/DELETE endpoint answers garbage with a 500, and every 4xx is a Matrix error", async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const authenticated of [true, false]) {
        for (const body of garbage) {
          const headers: Record<string, string> = authenticated ? { authorization: `Bearer ${freshAdminToken()}` } : {};
          const response = await sendRaw(route.method, concretePath(route.path), body, headers);
          const label = `${route.method} ${route.path} ${authenticated ? "(admin)" : "(anonymous)"} ${String(body).slice(0, 60)}`;
          if (response.status >= 500) failures.push(`${label}: ${response.status}`);
          else if (response.status >= 400 && typeof response.body?.errcode !== "string" && !isUiaChallenge(response)) {
            failures.push(`${label}: ${response.status} without errcode`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 60_000);

  test("garbage in query strings and headers is never a 500", async () => {
    const requests: [string, string, Record<string, string>?][] = [
      ["GET", "/_matrix/client/v3/register/available?username=%FF%FE"],
      ["GET", "/_matrix/client/v3/register/available?username=%"],
      ["GET", "/_matrix/client/v3/register/available?username=a&username=b"],
      ["GET", "/_matrix/client/v3/register/available?username="],
      ["GET", "/_matrix/client/v3/register/m.login.registration_token/validity?token=%00"],
      ["POST", "/_matrix/client/v3/register?kind="],
      ["POST", "/_matrix/client/v3/register?kind=%FF"],
      ["GET", "/_matrix/client/v3/account/whoami?access_token="],
      ["GET", "/_matrix/client/v3/account/whoami?access_token=%FF"],
      ["GET", "/_matrix/client/v3/account/whoami", { authorization: "Bearer " + "x".repeat(8000) }],
      ["GET", "/_matrix/client/v3/account/whoami", { authorization: "Bearer \u00e9\u00e8" }],
      ["GET", "/_matrix/client/v3/account/whoami", { authorization: "" }],
      ["GET", "/_matrix/client/v3/devices/%FF", { authorization: `Bearer ${alice.access_token}` }],
      ["GET", "/_matrix/client/v3/devices/%2F..%2F", { authorization: `Bearer ${alice.access_token}` }],
      ["GET", "/_synapse/admin/v2/users?from=-1&limit=abc", { authorization: `Bearer ${alice.access_token}` }],
      ["GET", "/_matrix/client/v3/%00"],
      ["GET", "/_matrix/client/v3/login%2F..%2F"],
    ];
    const failures: string[] = [];
    for (const [method, path, headers] of requests) {
      const response = await fetch(server.baseUrl + path, {
        method,
        headers: Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("latin1")])),
        body: method === "POST" ? "{}" : undefined,
      });
      const text = await response.text();
      if (response.status >= 500) failures.push(`${method} ${path}: ${response.status} ${text}`);
    }
    expect(failures).toEqual([]);
  });
});

describe("strange event content beside ordinary sends", () => {
  // An append writes without a savepoint of its own once its checks pass
  // (store.writeAfterChecks), so a failure in its writes would fail every
  // request of the same group commit. Content of every odd shape, sent at the
  // same moment as ordinary messages into a room whose members have push rules
  // of their own, must leave the ordinary sends answered and stored.
  const strange: Record<string, unknown>[] = [
    { msgtype: "m.text", body: 42 },
    { msgtype: "m.text", body: { nested: ["x"] } },
    { msgtype: 7, body: null },
    { body: "x".repeat(60_000) },
    { msgtype: "m.text", body: "@room ping", "m.mentions": "everyone" },
    { msgtype: "m.text", body: "hi", "m.mentions": { user_ids: "not a list", room: "yes" } },
    { msgtype: "m.text", body: "edit", "m.relates_to": { rel_type: "m.replace", event_id: 5 } },
    { msgtype: "m.text", body: "thread", "m.relates_to": { rel_type: "m.thread", event_id: "$nope", is_falling_back: "x" } },
    { msgtype: "m.text", body: "ref", "m.relates_to": "x" },
    { msgtype: "m.text", body: "float", value: 1.5 },
    { msgtype: "m.text", body: "big", value: 2 ** 60 },
    { msgtype: "m.text", body: "deep", a: { b: { c: { d: { e: { f: { g: { h: [1, [2, [3]]] } } } } } } } },
    { msgtype: "m.text", body: "Alice\u0000 \ud800 and * [x] (y) $ ^ alice" },
    { url: 5, msgtype: "m.image", body: "img" },
  ];

  test("never fail the ordinary sends of the same moment, and nothing half-stored is left", async () => {
    const bob = await server.register("strange-bob");
    const room = (await server.request("POST", "/_matrix/client/v3/createRoom", { token: alice.access_token, body: { preset: "public_chat" } })).body.room_id;
    expect((await server.request("POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: bob.access_token, body: {} })).status).toBe(200);
    // Bob has a keyword rule and a room rule of his own, so his evaluation is not the shared one.
    const rule = (kind: string, id: string, body: unknown) =>
      server.request("PUT", `/_matrix/client/v3/pushrules/global/${kind}/${encodeURIComponent(id)}`, { token: bob.access_token, body });
    expect((await rule("content", "ping", { pattern: "p*ng", actions: ["notify"] })).status).toBe(200);
    expect((await rule("override", "odd", { conditions: [{ kind: "event_match", key: "content.body", pattern: "[x]*" }], actions: ["notify", { set_tweak: "highlight" }] })).status).toBe(200);

    let n = 0;
    const send = (content: Record<string, unknown>) =>
      server.request("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/strange-${n++}`, { token: alice.access_token, body: content });
    for (let round = 0; round < 3; round++) {
      const ordinary = Array.from({ length: 5 }, (_, i) => send({ msgtype: "m.text", body: `ordinary ${round}-${i}` }));
      const odd = strange.map(send);
      const answers = await Promise.all([...ordinary, ...odd]);
      const ordinaryAnswers = answers.slice(0, 5);
      for (const answer of ordinaryAnswers) expect(answer.status).toBe(200);
      for (const answer of answers.slice(5)) {
        expect(answer.status).toBeLessThan(500);
        if (answer.status !== 200) expect(answer.body.errcode).toStartWith("M_");
      }
      // Every event that was answered 200 is there, whole.
      for (const answer of answers.filter((a) => a.status === 200)) {
        const event = await server.request("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/event/${encodeURIComponent(answer.body.event_id)}`, { token: bob.access_token });
        expect(event.status).toBe(200);
        expect(event.body.room_id).toBe(room);
      }
    }
    // The room goes on: a later message is the newest event, and Bob's unread count is a number.
    const last = await send({ msgtype: "m.text", body: "after" });
    expect(last.status).toBe(200);
    const synced = (await server.request("GET", "/_matrix/client/v3/sync", { token: bob.access_token })).body;
    expect(synced.rooms.join[room].timeline.events.at(-1).event_id).toBe(last.body.event_id);
    expect(synced.rooms.join[room].unread_notifications.notification_count).toBeNumber();
  });
});

describe("authentication comes before validation", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  test("a malformed body without a token is 401 M_MISSING_TOKEN, not 400", async () => {
    const response = await server.request("POST", "/_matrix/client/v3/createRoom", { body: { visibility: 5 } });
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });

  test("a non-admin with a malformed admin request is 403, not a schema error", async () => {
    const user = await server.register("not-admin");
    const response = await server.request("PUT", "/_synapse/admin/v2/users/@x:localhost", { token: user.access_token, body: { admin: "yes" } });
    expect(response.status).toBe(403);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
  });
});
