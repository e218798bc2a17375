// The Synapse-compatible admin API (Synapse docs: admin_api/register_api.md,
// admin_api/user_admin_api.md, admin_api/registration_tokens.md).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createAccount } from "../../src/accounts/registration";
import { startTestServer, type TestServer } from "../helpers/server";

const SECRET = "a shared secret for tests";
const PASSWORD = "correct horse battery staple";

let server: TestServer;
let admin: { user_id: string; access_token: string; device_id: string };
let user: { user_id: string; access_token: string; device_id: string };

beforeAll(async () => {
  server = await startTestServer({ server_name: "admin.test", registration_shared_secret: SECRET });
  await createAccount(server.hs, { localpart: "root", password: PASSWORD, admin: true });
  admin = await loginAs("root");
  user = await server.register("plain-user");
});
afterAll(() => server.stop());

async function loginAs(localpart: string, password = PASSWORD) {
  const response = await server.request("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password },
  });
  if (response.status !== 200) throw new Error(`login ${localpart}: ${JSON.stringify(response.body)}`);
  return response.body;
}

function tryLogin(localpart: string, password: string) {
  return server.request("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart }, password },
  });
}

function whoami(token: string) {
  return server.request("GET", "/_matrix/client/v3/account/whoami", { token });
}

/** The MAC exactly as Synapse's docs compute it (independent of the server's own helper). */
function mac(secret: string, nonce: string, username: string, password: string, isAdmin: boolean): string {
  return createHmac("sha1", secret)
    .update(`${nonce}\0${username}\0${password}\0${isAdmin ? "admin" : "notadmin"}`)
    .digest("hex");
}

async function nonce(target: TestServer = server): Promise<string> {
  const response = await target.request("GET", "/_synapse/admin/v1/register");
  expect(response.status).toBe(200);
  expect(response.body.nonce).toBeString();
  return response.body.nonce;
}

const adminGet = (path: string) => server.request("GET", path, { token: admin.access_token });

describe("shared-secret registration", () => {
  test("GET gives a fresh nonce each time", async () => {
    const a = await nonce();
    const b = await nonce();
    expect(a.length).toBeGreaterThanOrEqual(16);
    expect(a).not.toBe(b);
  });

  test("creates a non-admin user with a correct MAC and returns credentials", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-plain", password: "pw1", admin: false, mac: mac(SECRET, n, "ss-plain", "pw1", false) },
    });
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe("@ss-plain:admin.test");
    expect(response.body.home_server).toBe("admin.test");
    expect(response.body.device_id).toBeString();
    expect(response.body.access_token).toBeString();
    const me = await whoami(response.body.access_token);
    expect(me.body).toEqual({ user_id: "@ss-plain:admin.test", device_id: response.body.device_id, is_guest: false });
    expect(server.hs.store.users.get("@ss-plain:admin.test")!.isAdmin).toBe(false);
    expect((await tryLogin("ss-plain", "pw1")).status).toBe(200);
    // Not an admin: the admin API refuses the new token.
    const refused = await server.request("GET", "/_synapse/admin/v2/users", { token: response.body.access_token });
    expect(refused.status).toBe(403);
  });

  test("honours the admin flag (MAC over 'admin')", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-admin", password: "pw2", admin: true, mac: mac(SECRET, n, "ss-admin", "pw2", true) },
    });
    expect(response.status).toBe(200);
    expect(server.hs.store.users.get("@ss-admin:admin.test")!.isAdmin).toBe(true);
    const list = await server.request("GET", "/_synapse/admin/v2/users", { token: response.body.access_token });
    expect(list.status).toBe(200);
  });

  test("omitting admin means notadmin, and the display name is used when given", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-default", password: "pw", displayname: "Default Person", mac: mac(SECRET, n, "ss-default", "pw", false) },
    });
    expect(response.status).toBe(200);
    const row = server.hs.store.users.get("@ss-default:admin.test")!;
    expect(row.isAdmin).toBe(false);
    expect(row.displayName).toBe("Default Person");
  });

  test("the MAC covers the username as sent; the user id is its lower-case form (as Synapse)", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "Mixed-Case", password: "pw", mac: mac(SECRET, n, "Mixed-Case", "pw", false) },
    });
    expect(response.status).toBe(200);
    expect(response.body.user_id).toBe("@mixed-case:admin.test");
  });

  test("a MAC claiming notadmin cannot register an admin", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-escalate", password: "pw", admin: true, mac: mac(SECRET, n, "ss-escalate", "pw", false) },
    });
    expect(response.status).toBe(403);
    expect(server.hs.store.users.get("@ss-escalate:admin.test")).toBeUndefined();
  });

  test("a wrong MAC: 403 M_FORBIDDEN, no user", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-wrongmac", password: "pw", mac: mac("not the secret", n, "ss-wrongmac", "pw", false) },
    });
    expect(response.status).toBe(403);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
    expect(server.hs.store.users.get("@ss-wrongmac:admin.test")).toBeUndefined();
  });

  test("a nonce is single use: reusing it is 400, even after a success", async () => {
    const n = await nonce();
    const first = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-once", password: "pw", mac: mac(SECRET, n, "ss-once", "pw", false) },
    });
    expect(first.status).toBe(200);
    const again = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-twice", password: "pw", mac: mac(SECRET, n, "ss-twice", "pw", false) },
    });
    expect(again.status).toBe(400);
    expect(again.body.errcode).toBeString();
    expect(server.hs.store.users.get("@ss-twice:admin.test")).toBeUndefined();
  });

  test("a nonce spent on a wrong MAC cannot be retried", async () => {
    const n = await nonce();
    await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-retry", password: "pw", mac: "00" },
    });
    const retry = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "ss-retry", password: "pw", mac: mac(SECRET, n, "ss-retry", "pw", false) },
    });
    expect(retry.status).toBe(400);
    expect(server.hs.store.users.get("@ss-retry:admin.test")).toBeUndefined();
  });

  test("a made-up nonce is 400", async () => {
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: "made-up", username: "ss-madeup", password: "pw", mac: mac(SECRET, "made-up", "ss-madeup", "pw", false) },
    });
    expect(response.status).toBe(400);
    expect(server.hs.store.users.get("@ss-madeup:admin.test")).toBeUndefined();
  });

  test("a taken username is M_USER_IN_USE", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", {
      body: { nonce: n, username: "plain-user", password: "pw", mac: mac(SECRET, n, "plain-user", "pw", false) },
    });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_USER_IN_USE");
  });

  test("missing fields are M_MISSING_PARAM", async () => {
    const n = await nonce();
    const response = await server.request("POST", "/_synapse/admin/v1/register", { body: { nonce: n, username: "x" } });
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBe("M_MISSING_PARAM");
  });

  test("without a configured secret both GET and POST are 400", async () => {
    const bare = await startTestServer();
    try {
      const get = await bare.request("GET", "/_synapse/admin/v1/register");
      expect(get.status).toBe(400);
      expect(get.body.errcode).toBeString();
      const post = await bare.request("POST", "/_synapse/admin/v1/register", {
        body: { nonce: "n", username: "nobody", password: "pw", mac: mac("", "n", "nobody", "pw", false) },
      });
      expect(post.status).toBe(400);
      expect(bare.hs.store.users.count()).toBe(0);
    } finally {
      await bare.stop();
    }
  });
});

describe("admin API access", () => {
  test("a non-admin gets 403 M_FORBIDDEN everywhere and changes nothing", async () => {
    const token = user.access_token;
    const calls: [string, string, unknown?][] = [
      ["GET", "/_synapse/admin/v2/users"],
      ["GET", `/_synapse/admin/v2/users/${admin.user_id}`],
      ["PUT", "/_synapse/admin/v2/users/@sneaky:admin.test", { password: "x", admin: true }],
      ["PUT", `/_synapse/admin/v2/users/${user.user_id}`, { admin: true }],
      ["POST", `/_synapse/admin/v1/deactivate/${admin.user_id}`, {}],
      ["POST", `/_synapse/admin/v1/reset_password/${admin.user_id}`, { new_password: "owned" }],
      ["GET", "/_synapse/admin/v1/registration_tokens"],
      ["POST", "/_synapse/admin/v1/registration_tokens/new", { token: "sneaky" }],
    ];
    for (const [method, path, body] of calls) {
      const response = await server.request(method, path, { token, body });
      expect({ path, status: response.status, errcode: response.body.errcode }).toEqual({ path, status: 403, errcode: "M_FORBIDDEN" });
    }
    expect(server.hs.store.users.get("@sneaky:admin.test")).toBeUndefined();
    expect(server.hs.store.users.get(user.user_id)!.isAdmin).toBe(false);
    expect(server.hs.store.users.get(admin.user_id)!.deactivated).toBe(false);
    expect(server.hs.store.registrationTokens.get("sneaky")).toBeUndefined();
    expect((await whoami(admin.access_token)).status).toBe(200);
  });

  test("no token: 401 M_MISSING_TOKEN", async () => {
    const response = await server.request("GET", "/_synapse/admin/v2/users");
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });
});

describe("GET /_synapse/admin/v2/users", () => {
  let listServer: TestServer;
  let token: string;
  beforeAll(async () => {
    listServer = await startTestServer({ server_name: "list.test", allow_guest_access: true });
    await createAccount(listServer.hs, { localpart: "admin", password: PASSWORD, admin: true });
    for (const name of ["u1", "u2", "u3", "u4", "u5"]) await createAccount(listServer.hs, { localpart: name, password: PASSWORD });
    await createAccount(listServer.hs, { localpart: "gone", password: PASSWORD });
    listServer.hs.store.users.setDeactivated("@gone:list.test", true);
    const login = await listServer.request("POST", "/_matrix/client/v3/login", {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: "admin" }, password: PASSWORD },
    });
    token = login.body.access_token;
  });
  afterAll(() => listServer.stop());

  const list = (query = "") => listServer.request("GET", `/_synapse/admin/v2/users${query}`, { token });

  test("lists active users by user id with a total and Synapse's fields", async () => {
    const response = await list();
    expect(response.status).toBe(200);
    expect(response.body.total).toBe(6);
    expect(response.body.next_token).toBeUndefined();
    const names = response.body.users.map((u: { name: string }) => u.name);
    expect(names).toEqual(["@admin:list.test", "@u1:list.test", "@u2:list.test", "@u3:list.test", "@u4:list.test", "@u5:list.test"]);
    const first = response.body.users[0];
    expect(first).toMatchObject({ name: "@admin:list.test", admin: true, deactivated: false, is_guest: false, displayname: "admin" });
    expect(first.creation_ts).toBeNumber();
    expect(response.body.users[1].admin).toBe(false);
  });

  test("pages with limit and from/next_token until no next_token", async () => {
    const seen: string[] = [];
    let from: string | undefined = "0";
    let pages = 0;
    while (from !== undefined) {
      const response = await list(`?limit=4&from=${from}`);
      expect(response.status).toBe(200);
      expect(response.body.total).toBe(6);
      expect(response.body.users.length).toBeLessThanOrEqual(4);
      seen.push(...response.body.users.map((u: { name: string }) => u.name));
      from = response.body.next_token;
      if (from !== undefined) expect(from).toBeString();
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    const page2 = await list("?limit=4&from=4");
    expect(page2.body.users.map((u: { name: string }) => u.name)).toEqual(["@u4:list.test", "@u5:list.test"]);
  });

  test("deactivated=true includes deactivated users", async () => {
    const without = await list();
    expect(without.body.users.map((u: { name: string }) => u.name)).not.toContain("@gone:list.test");
    const response = await list("?deactivated=true");
    expect(response.body.total).toBe(7);
    const gone = response.body.users.find((u: { name: string }) => u.name === "@gone:list.test");
    expect(gone).toMatchObject({ deactivated: true });
  });

  test("guests are listed unless guests=false", async () => {
    const guest = await listServer.request("POST", "/_matrix/client/v3/register?kind=guest", { body: {} });
    expect(guest.status).toBe(200);
    try {
      const all = await list();
      expect(all.body.total).toBe(7);
      const shown = all.body.users.find((u: { name: string }) => u.name === guest.body.user_id);
      expect(shown).toMatchObject({ is_guest: true, admin: false });
      const noGuests = await list("?guests=false");
      expect(noGuests.body.total).toBe(6);
      expect(noGuests.body.users.map((u: { name: string }) => u.name)).not.toContain(guest.body.user_id);
    } finally {
      // Keep the other listing tests' counts: the guest leaves the listing.
      listServer.hs.store.users.setDeactivated(guest.body.user_id, true);
    }
  });

  test("name filters by user id", async () => {
    const response = await list("?name=u3");
    expect(response.body.users.map((u: { name: string }) => u.name)).toEqual(["@u3:list.test"]);
    expect(response.body.total).toBe(1);
  });

  test("a bad from or limit is 400 M_INVALID_PARAM", async () => {
    for (const query of ["?from=-1", "?from=abc", "?limit=0", "?limit=x"]) {
      const response = await list(query);
      expect({ query, status: response.status, errcode: response.body.errcode }).toEqual({ query, status: 400, errcode: "M_INVALID_PARAM" });
    }
  });
});

describe("GET and PUT /_synapse/admin/v2/users/{userId}", () => {
  test("GET shows one user", async () => {
    const response = await adminGet(`/_synapse/admin/v2/users/${encodeURIComponent(user.user_id)}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: user.user_id, admin: false, deactivated: false, is_guest: false, displayname: "plain-user" });
  });

  test("GET of an unknown local user is 404 M_NOT_FOUND; of a remote user 400", async () => {
    const unknown = await adminGet("/_synapse/admin/v2/users/@nobody:admin.test");
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe("M_NOT_FOUND");
    const remote = await adminGet("/_synapse/admin/v2/users/@someone:elsewhere.test");
    expect(remote.status).toBe(400);
  });

  test("PUT creates a user (201) that can log in, with admin and display name", async () => {
    const response = await server.request("PUT", "/_synapse/admin/v2/users/@created:admin.test", {
      token: admin.access_token,
      body: { password: "created pw", displayname: "Created Person", admin: true },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ name: "@created:admin.test", admin: true, deactivated: false, displayname: "Created Person" });
    const row = server.hs.store.users.get("@created:admin.test")!;
    expect(row.isAdmin).toBe(true);
    expect(row.displayName).toBe("Created Person");
    expect((await tryLogin("created", "created pw")).status).toBe(200);
  });

  test("PUT modifies an existing user (200): admin flag, display name", async () => {
    const target = await server.register("to-modify");
    const promote = await server.request("PUT", `/_synapse/admin/v2/users/${target.user_id}`, {
      token: admin.access_token,
      body: { admin: true, displayname: "Modified" },
    });
    expect(promote.status).toBe(200);
    expect(promote.body).toMatchObject({ name: target.user_id, admin: true, displayname: "Modified" });
    expect(server.hs.store.users.get(target.user_id)!.isAdmin).toBe(true);
    // Now an admin: the admin API answers their token.
    expect((await server.request("GET", "/_synapse/admin/v2/users", { token: target.access_token })).status).toBe(200);

    const demote = await server.request("PUT", `/_synapse/admin/v2/users/${target.user_id}`, {
      token: admin.access_token,
      body: { admin: false },
    });
    expect(demote.status).toBe(200);
    expect(demote.body.admin).toBe(false);
    expect((await server.request("GET", "/_synapse/admin/v2/users", { token: target.access_token })).status).toBe(403);
    // Untouched fields stay.
    expect(server.hs.store.users.get(target.user_id)!.displayName).toBe("Modified");
  });

  test("PUT with a password changes it and logs out the user's devices", async () => {
    const target = await server.register("pw-reset-put");
    const response = await server.request("PUT", `/_synapse/admin/v2/users/${target.user_id}`, {
      token: admin.access_token,
      body: { password: "set by admin" },
    });
    expect(response.status).toBe(200);
    expect((await whoami(target.access_token)).status).toBe(401);
    expect(server.hs.store.devices.list(target.user_id)).toEqual([]);
    expect((await tryLogin("pw-reset-put", PASSWORD)).status).toBe(403);
    expect((await tryLogin("pw-reset-put", "set by admin")).status).toBe(200);
  });

  test("PUT of an admin's own password keeps the device that asked (as Synapse does)", async () => {
    await createAccount(server.hs, { localpart: "self-put", password: PASSWORD, admin: true });
    const first = await loginAs("self-put");
    const second = await loginAs("self-put");
    const response = await server.request("PUT", `/_synapse/admin/v2/users/${first.user_id}`, {
      token: first.access_token,
      body: { password: "my own new password" },
    });
    expect(response.status).toBe(200);
    expect((await whoami(first.access_token)).status).toBe(200);
    expect((await whoami(second.access_token)).status).toBe(401);
  });

  test("PUT with a password and logout_devices: false keeps the devices", async () => {
    const target = await server.register("pw-reset-put-keep");
    const response = await server.request("PUT", `/_synapse/admin/v2/users/${target.user_id}`, {
      token: admin.access_token,
      body: { password: "kept sessions", logout_devices: false },
    });
    expect(response.status).toBe(200);
    expect((await whoami(target.access_token)).status).toBe(200);
    expect((await tryLogin("pw-reset-put-keep", "kept sessions")).status).toBe(200);
  });

  test("PUT deactivated: true deactivates and logs out", async () => {
    const target = await server.register("put-deactivate");
    const response = await server.request("PUT", `/_synapse/admin/v2/users/${target.user_id}`, {
      token: admin.access_token,
      body: { deactivated: true },
    });
    expect(response.status).toBe(200);
    expect(response.body.deactivated).toBe(true);
    expect((await whoami(target.access_token)).status).toBe(401);
    expect((await tryLogin("put-deactivate", PASSWORD)).body.errcode).toBe("M_USER_DEACTIVATED");
  });

  test("PUT with a bad body or a remote user id changes nothing", async () => {
    const badType = await server.request("PUT", `/_synapse/admin/v2/users/${user.user_id}`, {
      token: admin.access_token,
      body: { admin: "yes" },
    });
    expect(badType.status).toBe(400);
    expect(badType.body.errcode).toBe("M_BAD_JSON");
    expect(server.hs.store.users.get(user.user_id)!.isAdmin).toBe(false);

    const remote = await server.request("PUT", "/_synapse/admin/v2/users/@x:elsewhere.test", {
      token: admin.access_token,
      body: { password: "pw" },
    });
    expect(remote.status).toBe(400);
    expect(server.hs.store.users.get("@x:elsewhere.test")).toBeUndefined();

    const badName = await server.request("PUT", "/_synapse/admin/v2/users/@Bad%20Name:admin.test", {
      token: admin.access_token,
      body: { password: "pw" },
    });
    expect(badName.status).toBe(400);
    expect(badName.body.errcode).toBe("M_INVALID_USERNAME");
  });
});

describe("POST /_synapse/admin/v1/deactivate/{userId}", () => {
  test("deactivates: tokens die, login answers M_USER_DEACTIVATED, the listing hides the user", async () => {
    const target = await server.register("admin-deact");
    const response = await server.request("POST", `/_synapse/admin/v1/deactivate/${target.user_id}`, {
      token: admin.access_token,
      body: {},
    });
    expect(response.status).toBe(200);
    expect(response.body.id_server_unbind_result).toBe("success");
    expect((await whoami(target.access_token)).status).toBe(401);
    const login = await tryLogin("admin-deact", PASSWORD);
    expect(login.status).toBe(403);
    expect(login.body.errcode).toBe("M_USER_DEACTIVATED");
    const shown = await adminGet(`/_synapse/admin/v2/users/${target.user_id}`);
    expect(shown.body.deactivated).toBe(true);
  });

  test("accepts an empty body (Synapse: for backwards compatibility)", async () => {
    const target = await server.register("admin-deact-nobody");
    const response = await server.request("POST", `/_synapse/admin/v1/deactivate/${target.user_id}`, { token: admin.access_token });
    expect(response.status).toBe(200);
    expect(server.hs.store.users.get(target.user_id)!.deactivated).toBe(true);
  });

  test("erase: true clears the display name", async () => {
    const target = await server.register("admin-erase");
    await server.request("POST", `/_synapse/admin/v1/deactivate/${target.user_id}`, {
      token: admin.access_token,
      body: { erase: true },
    });
    expect(server.hs.store.users.get(target.user_id)!.displayName).toBeNull();
  });

  test("unknown user: 404 M_NOT_FOUND", async () => {
    const response = await server.request("POST", "/_synapse/admin/v1/deactivate/@ghost:admin.test", {
      token: admin.access_token,
      body: {},
    });
    expect(response.status).toBe(404);
    expect(response.body.errcode).toBe("M_NOT_FOUND");
  });
});

describe("POST /_synapse/admin/v1/reset_password/{userId}", () => {
  test("sets the password and logs out every device", async () => {
    const target = await server.register("admin-reset");
    const response = await server.request("POST", `/_synapse/admin/v1/reset_password/${target.user_id}`, {
      token: admin.access_token,
      body: { new_password: "reset by admin" },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect((await whoami(target.access_token)).status).toBe(401);
    expect((await tryLogin("admin-reset", PASSWORD)).status).toBe(403);
    expect((await tryLogin("admin-reset", "reset by admin")).status).toBe(200);
  });

  test("logout_devices: false keeps the sessions", async () => {
    const target = await server.register("admin-reset-keep");
    const response = await server.request("POST", `/_synapse/admin/v1/reset_password/${target.user_id}`, {
      token: admin.access_token,
      body: { new_password: "reset kept", logout_devices: false },
    });
    expect(response.status).toBe(200);
    expect((await whoami(target.access_token)).status).toBe(200);
    expect((await tryLogin("admin-reset-keep", "reset kept")).status).toBe(200);
  });

  test("an admin resetting their own password keeps the device that asked (as Synapse does)", async () => {
    await createAccount(server.hs, { localpart: "self-reset", password: PASSWORD, admin: true });
    const first = await loginAs("self-reset");
    const second = await loginAs("self-reset");
    const response = await server.request("POST", `/_synapse/admin/v1/reset_password/${first.user_id}`, {
      token: first.access_token,
      body: { new_password: "my own new password" },
    });
    expect(response.status).toBe(200);
    expect((await whoami(first.access_token)).status).toBe(200);
    expect((await whoami(second.access_token)).status).toBe(401);
  });

  test("new_password is required; an empty one is M_WEAK_PASSWORD; unknown user 404", async () => {
    const missing = await server.request("POST", `/_synapse/admin/v1/reset_password/${user.user_id}`, {
      token: admin.access_token,
      body: {},
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errcode).toBe("M_MISSING_PARAM");
    const weak = await server.request("POST", `/_synapse/admin/v1/reset_password/${user.user_id}`, {
      token: admin.access_token,
      body: { new_password: "" },
    });
    expect(weak.status).toBe(400);
    expect(weak.body.errcode).toBe("M_WEAK_PASSWORD");
    const unknown = await server.request("POST", "/_synapse/admin/v1/reset_password/@ghost:admin.test", {
      token: admin.access_token,
      body: { new_password: "x" },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe("M_NOT_FOUND");
    expect((await whoami(user.access_token)).status).toBe(200);
  });
});

describe("registration tokens", () => {
  const base = "/_synapse/admin/v1/registration_tokens";
  const call = (method: string, path: string, body?: unknown) =>
    server.request(method, `${base}${path}`, { token: admin.access_token, body });

  test("new with defaults: a random 16-character token, unlimited, no expiry", async () => {
    const response = await call("POST", "/new", {});
    expect(response.status).toBe(200);
    expect(response.body.token).toMatch(/^[A-Za-z0-9._~-]{16}$/);
    expect(response.body).toMatchObject({ uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
    expect(server.hs.store.registrationTokens.get(response.body.token)).toBeDefined();
  });

  test("new with a given token, uses_allowed and expiry_time", async () => {
    const expiry = Date.now() + 86_400_000;
    const response = await call("POST", "/new", { token: "given-token", uses_allowed: 3, expiry_time: expiry });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ token: "given-token", uses_allowed: 3, pending: 0, completed: 0, expiry_time: expiry });
  });

  test("new with length makes a random token of that length", async () => {
    for (const length of [1, 8, 32, 64]) {
      const response = await call("POST", "/new", { length });
      expect(response.status).toBe(200);
      expect(response.body.token).toHaveLength(length);
      expect(response.body.token).toMatch(/^[A-Za-z0-9._~-]+$/);
    }
  });

  test("new refuses bad input and duplicates, storing nothing", async () => {
    const countBefore = server.hs.store.registrationTokens.list().length;
    const cases: unknown[] = [
      { token: "has space" },
      { token: "x".repeat(65) },
      { uses_allowed: -1 },
      { uses_allowed: 1.5 },
      { expiry_time: Date.now() - 1000 },
      { length: 0 },
      { length: 65 },
      { token: "given-token" }, // exists already (created above)
    ];
    for (const body of cases) {
      const response = await call("POST", "/new", body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(response.body.errcode).toBeString();
    }
    expect(server.hs.store.registrationTokens.list().length).toBe(countBefore);
  });

  test("get, put and delete one token; 404 when it does not exist", async () => {
    await call("POST", "/new", { token: "crud-token", uses_allowed: 1 });
    const got = await call("GET", "/crud-token");
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ token: "crud-token", uses_allowed: 1, pending: 0, completed: 0, expiry_time: null });

    const expiry = Date.now() + 3_600_000;
    const put = await call("PUT", "/crud-token", { expiry_time: expiry });
    expect(put.status).toBe(200);
    // Omitted fields keep their value.
    expect(put.body).toEqual({ token: "crud-token", uses_allowed: 1, pending: 0, completed: 0, expiry_time: expiry });
    const unlimited = await call("PUT", "/crud-token", { uses_allowed: null });
    expect(unlimited.body).toMatchObject({ uses_allowed: null, expiry_time: expiry });
    const badPut = await call("PUT", "/crud-token", { uses_allowed: "many" });
    expect(badPut.status).toBe(400);
    expect(server.hs.store.registrationTokens.get("crud-token")!.usesAllowed).toBeNull();
    // As on creation, Synapse refuses an expiry time in the past.
    const pastPut = await call("PUT", "/crud-token", { expiry_time: Date.now() - 60_000 });
    expect(pastPut.status).toBe(400);
    expect(pastPut.body.errcode).toBe("M_INVALID_PARAM");
    expect(server.hs.store.registrationTokens.get("crud-token")!.expiryTime).toBe(expiry);
    // Nothing to change: the token as it is.
    const emptyPut = await call("PUT", "/crud-token", {});
    expect(emptyPut.status).toBe(200);
    expect(emptyPut.body).toMatchObject({ token: "crud-token", uses_allowed: null, expiry_time: expiry });

    const deleted = await call("DELETE", "/crud-token");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    expect(server.hs.store.registrationTokens.get("crud-token")).toBeUndefined();

    for (const [method, body] of [["GET"], ["PUT", { uses_allowed: 1 }], ["DELETE"]] as [string, unknown?][]) {
      const response = await call(method, "/crud-token", body);
      expect({ method, status: response.status, errcode: response.body.errcode }).toEqual({
        method,
        status: 404,
        errcode: "M_NOT_FOUND",
      });
    }
    expect(server.hs.store.registrationTokens.get("crud-token")).toBeUndefined();
  });

  test("list, and valid=true / valid=false split usable from expired or used-up tokens", async () => {
    await call("POST", "/new", { token: "list-valid", uses_allowed: 5 });
    await call("POST", "/new", { token: "list-usedup", uses_allowed: 0 });
    await call("POST", "/new", { token: "list-expiring", expiry_time: Date.now() + 60_000 });
    // Expire it behind the API's back (the API refuses past expiry times).
    server.hs.store.registrationTokens.update("list-expiring", { expiryTime: Date.now() - 1 });

    const names = (body: { registration_tokens: { token: string }[] }) => body.registration_tokens.map((t) => t.token);
    const all = await call("GET", "");
    expect(all.status).toBe(200);
    expect(names(all.body)).toEqual(expect.arrayContaining(["list-valid", "list-usedup", "list-expiring"]));
    const entry = all.body.registration_tokens.find((t: { token: string }) => t.token === "list-valid");
    expect(entry).toEqual({ token: "list-valid", uses_allowed: 5, pending: 0, completed: 0, expiry_time: null });

    const valid = await call("GET", "?valid=true");
    expect(names(valid.body)).toContain("list-valid");
    expect(names(valid.body)).not.toContain("list-usedup");
    expect(names(valid.body)).not.toContain("list-expiring");
    const invalid = await call("GET", "?valid=false");
    expect(names(invalid.body)).toEqual(expect.arrayContaining(["list-usedup", "list-expiring"]));
    expect(names(invalid.body)).not.toContain("list-valid");
  });

  test("a token made here registers an account and counts the use", async () => {
    const tokenServer = await startTestServer({ registration: "token" });
    try {
      await createAccount(tokenServer.hs, { localpart: "boss", password: PASSWORD, admin: true });
      const login = await tokenServer.request("POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: "boss" }, password: PASSWORD },
      });
      const bossToken = login.body.access_token;
      const made = await tokenServer.request("POST", `${base}/new`, { token: bossToken, body: { uses_allowed: 1 } });
      const regToken = made.body.token;

      const start = await tokenServer.request("POST", "/_matrix/client/v3/register", { body: { username: "invitee", password: "pw" } });
      expect(start.status).toBe(401);
      expect(start.body.flows).toEqual([{ stages: ["m.login.registration_token"] }]);
      const done = await tokenServer.request("POST", "/_matrix/client/v3/register", {
        body: { username: "invitee", password: "pw", auth: { type: "m.login.registration_token", token: regToken, session: start.body.session } },
      });
      expect(done.status).toBe(200);

      const after = await tokenServer.request("GET", `${base}/${regToken}`, { token: bossToken });
      expect(after.body).toMatchObject({ uses_allowed: 1, pending: 0, completed: 1 });
      const invalid = await tokenServer.request("GET", `${base}?valid=false`, { token: bossToken });
      expect(invalid.body.registration_tokens.map((t: { token: string }) => t.token)).toContain(regToken);
    } finally {
      await tokenServer.stop();
    }
  });
});
