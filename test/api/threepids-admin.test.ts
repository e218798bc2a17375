// Third-party identifiers, third-party networks and whois (spec: Client-Server
// API "Adding Account Administrative Contact Information", "Third-party
// Networks", "Server Administration"; administrative_contact.yaml,
// registration.yaml, password_management.yaml, third_party_lookup.yaml, admin.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let admin: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("tp-alice");
  bob = await server.register("tp-bob");
  admin = await server.register("tp-admin");
  server.hs.store.users.setAdmin(admin.user_id, true);
});
afterAll(() => server.stop());

const post = (path: string, body: unknown, user?: User) => server.request("POST", `${CLIENT}${path}`, { token: user?.access_token, body });

describe("3PIDs: this server verifies no email or phone number", () => {
  test("GET /account/3pid lists none", async () => {
    const response = await server.request("GET", `${CLIENT}/account/3pid`, { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ threepids: [] });
  });

  test("adding contacts: 400 M_THREEPID_MEDIUM_NOT_SUPPORTED, whatever the body", async () => {
    const email = { client_secret: "secret", email: "alice@example.org", send_attempt: 1 };
    expectError(await post("/account/3pid/email/requestToken", email), 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
    expectError(await post("/account/3pid/email/requestToken", {}), 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
    const phone = { client_secret: "secret", country: "GB", phone_number: "07700900001", send_attempt: 1 };
    expectError(await post("/account/3pid/msisdn/requestToken", phone), 400, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
  });

  test("registration and password reset by email or phone: 403 M_THREEPID_DENIED", async () => {
    for (const path of ["/register/email/requestToken", "/register/msisdn/requestToken", "/account/password/email/requestToken", "/account/password/msisdn/requestToken"]) {
      expectError(await post(path, { client_secret: "secret", email: "a@example.org", send_attempt: 1 }), 403, "M_THREEPID_DENIED");
    }
  });

  test("add, bind and the deprecated POST /account/3pid: 400 M_FORBIDDEN (3PID changes disabled, as the capability says)", async () => {
    expectError(await post("/account/3pid/add", { client_secret: "s", sid: "1" }, alice), 400, "M_FORBIDDEN");
    expectError(await post("/account/3pid/bind", { client_secret: "s", sid: "1", id_server: "id.example.org", id_access_token: "t" }, alice), 400, "M_FORBIDDEN");
    expectError(await post("/account/3pid", { three_pid_creds: { client_secret: "s", sid: "1" } }, alice), 400, "M_FORBIDDEN");
    expectError(await post("/account/3pid", { threePidCreds: { client_secret: "s", sid: "1" } }, alice), 400, "M_FORBIDDEN");
    const capabilities = await server.request("GET", `${CLIENT}/capabilities`, { token: alice.access_token });
    expect(capabilities.body.capabilities["m.3pid_changes"]).toEqual({ enabled: false });
  });

  test("delete and unbind: nothing to remove, id_server_unbind_result no-support", async () => {
    for (const path of ["/account/3pid/delete", "/account/3pid/unbind"]) {
      const response = await post(path, { medium: "email", address: "alice@example.org" }, alice);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id_server_unbind_result: "no-support" });
    }
  });

  test("bad bodies: M_BAD_JSON / M_MISSING_PARAM; no login: 401", async () => {
    expectError(await post("/account/3pid/add", { client_secret: "s", sid: 1 }, alice), 400, "M_BAD_JSON");
    expectError(await post("/account/3pid/delete", { medium: "email" }, alice), 400, "M_MISSING_PARAM");
    expectError(await post("/account/3pid/delete", { medium: "email", address: "a@example.org" }), 401, "M_MISSING_TOKEN");
    expectError(await post("/account/3pid/add", { client_secret: "s", sid: "1" }), 401, "M_MISSING_TOKEN");
  });
});

describe("third-party networks: no application service provides one", () => {
  test("GET /thirdparty/protocols is {}", async () => {
    const response = await server.request("GET", `${CLIENT}/thirdparty/protocols`, { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
  });

  test("a protocol is unknown: 404 M_NOT_FOUND", async () => {
    expectError(await server.request("GET", `${CLIENT}/thirdparty/protocol/irc`, { token: alice.access_token }), 404, "M_NOT_FOUND");
  });

  test("lookups find nothing: an empty list, as Synapse", async () => {
    for (const path of ["/thirdparty/location/irc?server=x", "/thirdparty/user/irc", "/thirdparty/location?alias=%23a:b", "/thirdparty/user?userid=@a:b"]) {
      const response = await server.request("GET", `${CLIENT}${path}`, { token: alice.access_token });
      expect(response.status).toBe(200);
      expect(response.body).toEqual([]);
    }
  });

  test("need a login", async () => {
    expectError(await server.request("GET", `${CLIENT}/thirdparty/protocols`), 401, "M_MISSING_TOKEN");
  });
});

describe("GET /admin/whois/{userId}", () => {
  const whois = (user: User, userId: string) => server.request("GET", `${CLIENT}/admin/whois/${encodeURIComponent(userId)}`, { token: user.access_token });

  test("a user sees their own devices, with the last address and time seen", async () => {
    const response = await whois(alice, alice.user_id);
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe(alice.user_id);
    const device = response.body.devices[alice.device_id];
    expect(device.sessions).toHaveLength(1);
    const [connection] = device.sessions[0].connections;
    expect(connection.ip).toBe("127.0.0.1");
    expect(connection.last_seen).toBeNumber();
  });

  test("an admin sees anyone's; others get 403", async () => {
    const response = await whois(admin, bob.user_id);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.devices)).toEqual([bob.device_id]);
    expectError(await whois(alice, bob.user_id), 403, "M_FORBIDDEN");
  });

  test("unknown user: 404; malformed id: 400", async () => {
    expectError(await whois(admin, `@nobody:${server.hs.config.server_name}`), 404, "M_NOT_FOUND");
    expectError(await whois(admin, "nobody"), 400, "M_INVALID_PARAM");
  });
});
