// TURN credentials and OpenID tokens (spec: Client-Server API "Voice over IP",
// "OpenID"; voip.yaml, openid.yaml; Server-Server API "OpenID").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let plain: TestServer;
let secret: TestServer;
let fixed: TestServer;
let alice: User;
let bob: User;

beforeAll(async () => {
  plain = await startTestServer();
  secret = await startTestServer({
    turn: { uris: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"], shared_secret: "s3cret", user_lifetime_ms: 3_600_000 },
  });
  fixed = await startTestServer({ turn: { uris: ["turn:turn.example.org"], username: "static", password: "pw" } });
  alice = await plain.register("oid-alice");
  bob = await plain.register("oid-bob");
});
afterAll(async () => {
  await plain.stop();
  await secret.stop();
  await fixed.stop();
});

describe("GET /voip/turnServer", () => {
  test("without TURN configured: 200 {} as Synapse, so clients call without TURN", async () => {
    const response = await plain.request("GET", `${CLIENT}/voip/turnServer`, { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
  });

  test("needs a login", async () => {
    expectError(await plain.request("GET", `${CLIENT}/voip/turnServer`), 401, "M_MISSING_TOKEN");
  });

  test("with a shared secret: coturn's time-limited credentials (expiry:user, HMAC-SHA1 base64)", async () => {
    const user = await secret.register("turn-user");
    const before = Math.floor(Date.now() / 1000);
    const response = await secret.request("GET", `${CLIENT}/voip/turnServer`, { token: user.access_token });
    expect(response.status).toBe(200);
    const { username, password, uris, ttl } = response.body;
    expect(uris).toEqual(["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]);
    expect(ttl).toBe(3600);
    const [expiry, userId] = [username.slice(0, username.indexOf(":")), username.slice(username.indexOf(":") + 1)];
    expect(userId).toBe(user.user_id);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 3600);
    expect(Number(expiry)).toBeLessThanOrEqual(before + 3602);
    const expected = new Bun.CryptoHasher("sha1", "s3cret").update(username).digest("base64");
    expect(password).toBe(expected);
  });

  test("with a static username and password", async () => {
    const user = await fixed.register("turn-fixed");
    const response = await fixed.request("GET", `${CLIENT}/voip/turnServer`, { token: user.access_token });
    expect(response.body).toEqual({ username: "static", password: "pw", uris: ["turn:turn.example.org"], ttl: 3600 });
  });
});

describe("OpenID tokens", () => {
  const requestToken = (user: User, userId = user.user_id) =>
    plain.request("POST", `${CLIENT}/user/${encodeURIComponent(userId)}/openid/request_token`, { token: user.access_token, body: {} });
  const userinfo = (token: string) => plain.request("GET", `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token)}`);

  test("request_token answers the spec's fields; userinfo names the owner", async () => {
    const response = await requestToken(alice);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      matrix_server_name: plain.hs.config.server_name,
      expires_in: 3600,
    });
    const info = await userinfo(response.body.access_token);
    expect(info.status).toBe(200);
    expect(info.body).toEqual({ sub: alice.user_id });
  });

  test("the token is not an access token, and an access token is not an OpenID token", async () => {
    const token = (await requestToken(alice)).body.access_token;
    expectError(await plain.request("GET", `${CLIENT}/account/whoami`, { token }), 401, "M_UNKNOWN_TOKEN");
    expectError(await userinfo(alice.access_token), 401, "M_UNKNOWN_TOKEN");
  });

  test("unknown, missing or expired tokens: 401 M_UNKNOWN_TOKEN", async () => {
    expectError(await userinfo("nonsense"), 401, "M_UNKNOWN_TOKEN");
    expectError(await plain.request("GET", "/_matrix/federation/v1/openid/userinfo"), 401, "M_UNKNOWN_TOKEN");
    const token = (await requestToken(bob)).body.access_token;
    plain.hs.store.sqlite.run("UPDATE openid_tokens SET expires_ts = 1");
    expectError(await userinfo(token), 401, "M_UNKNOWN_TOKEN");
  });

  test("only for oneself: 403 for another user, 400 for a bad user id, 401 without login; nothing stored", async () => {
    const count = () => (plain.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM openid_tokens").get() as { n: number }).n;
    const before = count();
    expectError(await requestToken(alice, bob.user_id), 403, "M_FORBIDDEN");
    expectError(await requestToken(alice, "not-a-user"), 400, "M_INVALID_PARAM");
    expectError(await plain.request("POST", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/openid/request_token`, { body: {} }), 401, "M_MISSING_TOKEN");
    expect(count()).toBe(before);
  });
});
