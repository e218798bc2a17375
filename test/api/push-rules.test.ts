// Push rules API (spec: Client-Server API, "Push Rules: API", pushrules.yaml) and
// their delivery as m.push_rules account data ("Push Rules: Events").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { sync } from "../helpers/sync";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = () => server.register(`rules-${++counter}`);
const enc = encodeURIComponent;
const rulePath = (kind: string, ruleId: string, rest = "") => `${CLIENT}/pushrules/global/${kind}/${enc(ruleId)}${rest}`;
const request = (user: User, method: string, path: string, body?: unknown) => server.request(method, path, { token: user.access_token, body });

async function ok(user: User, method: string, path: string, body?: unknown) {
  const response = await request(user, method, path, body);
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

const ids = (rules: { rule_id: string }[]) => rules.map((rule) => rule.rule_id);
const pushRulesOf = (body: any) => body.account_data.events.find((event: any) => event.type === "m.push_rules")?.content;

/** The stored account data rows (the one copy of a user's rules). */
function storedDocument(user: User) {
  return server.hs.store.accountData.get(user.user_id, "", "m.push_rules")?.content;
}

describe("GET /pushrules/", () => {
  test("the default ruleset, with the user's id and localpart filled in", async () => {
    const alice = await newUser();
    const body = await ok(alice, "GET", `${CLIENT}/pushrules/`);
    expect(Object.keys(body)).toEqual(["global"]);
    const global = body.global;
    expect(ids(global.override)[0]).toBe(".m.rule.master");
    expect(global.override).toHaveLength(12);
    expect(global.underride).toHaveLength(5);
    expect(global.room).toEqual([]);
    expect(global.sender).toEqual([]);
    const invite = global.override.find((rule: any) => rule.rule_id === ".m.rule.invite_for_me");
    expect(invite.conditions).toContainEqual({ kind: "event_match", key: "state_key", pattern: alice.user_id });
    expect(global.content[0]).toMatchObject({ rule_id: ".m.rule.contains_user_name", pattern: alice.user_id.slice(1, alice.user_id.indexOf(":")), default: true, enabled: true });
    expect(await ok(alice, "GET", `${CLIENT}/pushrules/global/`)).toEqual(global);
  });

  test("needs an access token", async () => {
    expectError(await server.request("GET", `${CLIENT}/pushrules/`), 401, "M_MISSING_TOKEN");
  });

  test("the initial sync carries m.push_rules before any change (Element reads it there)", async () => {
    const alice = await newUser();
    const rules = pushRulesOf(await sync(server, alice));
    expect(rules).toEqual(await ok(alice, "GET", `${CLIENT}/pushrules/`));
    // Not again in an incremental sync without a change.
    const token = (await sync(server, alice)).next_batch;
    expect(pushRulesOf(await sync(server, alice, { since: token }))).toBeUndefined();
  });
});

describe("PUT, GET and DELETE one rule", () => {
  test("a content rule: created enabled, read back, delivered in sync, deleted", async () => {
    const alice = await newUser();
    const token = (await sync(server, alice)).next_batch;
    expect(await ok(alice, "PUT", rulePath("content", "nocake"), { pattern: "cake*lie", actions: ["notify"] })).toEqual({});
    expect(await ok(alice, "GET", rulePath("content", "nocake"))).toEqual({ rule_id: "nocake", default: false, enabled: true, pattern: "cake*lie", actions: ["notify"] });
    const next = await sync(server, alice, { since: token });
    expect(ids(pushRulesOf(next).global.content)).toEqual(["nocake", ".m.rule.contains_user_name"]);
    // One copy: the account data document holds the rule.
    expect(JSON.parse(storedDocument(alice)!).global.content[0].rule_id).toBe("nocake");

    expect(await ok(alice, "DELETE", rulePath("content", "nocake"))).toEqual({});
    expectError(await request(alice, "GET", rulePath("content", "nocake")), 404, "M_NOT_FOUND");
    const after = await sync(server, alice, { since: next.next_batch });
    expect(ids(pushRulesOf(after).global.content)).toEqual([".m.rule.contains_user_name"]);
  });

  test("override and underride rules keep their conditions; room and sender rules are keyed by id", async () => {
    const alice = await newUser();
    const conditions = [{ kind: "event_match", key: "content.body", pattern: "beer" }, { kind: "room_member_count", is: "<=10" }];
    await ok(alice, "PUT", rulePath("override", "beer"), { conditions, actions: ["notify", { set_tweak: "sound", value: "beeroclock.wav" }] });
    expect((await ok(alice, "GET", rulePath("override", "beer"))).conditions).toEqual(conditions);
    const global = (await ok(alice, "GET", `${CLIENT}/pushrules/`)).global;
    // The master rule stays first; user overrides come before the other defaults.
    expect(ids(global.override).slice(0, 3)).toEqual([".m.rule.master", "beer", ".m.rule.suppress_notices"]);

    await ok(alice, "PUT", rulePath("underride", "late"), { conditions: [], actions: [] });
    expect(ids((await ok(alice, "GET", `${CLIENT}/pushrules/global/`)).underride)[0]).toBe("late");

    await ok(alice, "PUT", rulePath("room", "!dj234r78wl45Gh4D:matrix.org"), { actions: [] });
    await ok(alice, "PUT", rulePath("sender", "@spambot:matrix.org"), { actions: [] });
    const after = (await ok(alice, "GET", `${CLIENT}/pushrules/`)).global;
    expect(ids(after.room)).toEqual(["!dj234r78wl45Gh4D:matrix.org"]);
    expect(ids(after.sender)).toEqual(["@spambot:matrix.org"]);
  });

  test("before and after place a rule; without them a new rule comes first and an update keeps its place", async () => {
    const alice = await newUser();
    const put = (id: string, query = "") => ok(alice, "PUT", `${rulePath("content", id)}${query}`, { pattern: id, actions: ["notify"] });
    await put("a");
    await put("b"); // most important new rule: [b, a]
    await put("c", "?after=b"); // [b, c, a]
    await put("d", "?before=b"); // [d, b, c, a]
    const order = async () => ids((await ok(alice, "GET", `${CLIENT}/pushrules/`)).global.content).filter((id) => !id.startsWith("."));
    expect(await order()).toEqual(["d", "b", "c", "a"]);
    await put("c"); // update in place
    expect(await order()).toEqual(["d", "b", "c", "a"]);
    await put("a", "?before=d"); // move
    expect(await order()).toEqual(["a", "d", "b", "c"]);
    // before wins when both are given
    await put("e", "?before=b&after=c");
    expect(await order()).toEqual(["a", "d", "e", "b", "c"]);
  });

  test("updating a disabled rule keeps it disabled", async () => {
    const alice = await newUser();
    await ok(alice, "PUT", rulePath("sender", "@x:example.org"), { actions: [] });
    await ok(alice, "PUT", rulePath("sender", "@x:example.org", "/enabled"), { enabled: false });
    await ok(alice, "PUT", rulePath("sender", "@x:example.org"), { actions: ["notify"] });
    expect(await ok(alice, "GET", rulePath("sender", "@x:example.org"))).toMatchObject({ enabled: false, actions: ["notify"] });
  });
});

describe("enabled and actions", () => {
  test("a default rule can be disabled and its actions changed; the change survives and reaches sync", async () => {
    const alice = await newUser();
    expect(await ok(alice, "GET", rulePath("override", ".m.rule.master", "/enabled"))).toEqual({ enabled: false });
    const token = (await sync(server, alice)).next_batch;
    await ok(alice, "PUT", rulePath("override", ".m.rule.master", "/enabled"), { enabled: true });
    expect(await ok(alice, "GET", rulePath("override", ".m.rule.master", "/enabled"))).toEqual({ enabled: true });
    await ok(alice, "PUT", rulePath("underride", ".m.rule.message", "/actions"), { actions: ["notify", { set_tweak: "sound", value: "bing" }] });
    expect(await ok(alice, "GET", rulePath("underride", ".m.rule.message", "/actions"))).toEqual({ actions: ["notify", { set_tweak: "sound", value: "bing" }] });
    const global = pushRulesOf(await sync(server, alice, { since: token })).global;
    expect(global.override[0]).toMatchObject({ rule_id: ".m.rule.master", enabled: true, default: true });
    expect(global.underride.find((r: any) => r.rule_id === ".m.rule.message").actions).toEqual(["notify", { set_tweak: "sound", value: "bing" }]);
  });

  test("dont_notify and coalesce are stripped from stored actions", async () => {
    const alice = await newUser();
    await ok(alice, "PUT", rulePath("room", "!quiet:example.org"), { actions: ["dont_notify"] });
    expect(await ok(alice, "GET", rulePath("room", "!quiet:example.org", "/actions"))).toEqual({ actions: [] });
    await ok(alice, "PUT", rulePath("room", "!quiet:example.org", "/actions"), { actions: ["coalesce", "notify"] });
    expect(await ok(alice, "GET", rulePath("room", "!quiet:example.org", "/actions"))).toEqual({ actions: ["notify"] });
  });
});

describe("bad input: a clear error and nothing changed", () => {
  async function expectUnchanged(user: User, work: () => Promise<void>) {
    const before = storedDocument(user);
    const rules = await ok(user, "GET", `${CLIENT}/pushrules/`);
    await work();
    expect(storedDocument(user)).toBe(before);
    expect(await ok(user, "GET", `${CLIENT}/pushrules/`)).toEqual(rules);
  }

  test("rule ids: a leading dot, slashes and backslashes are refused", async () => {
    const alice = await newUser();
    await expectUnchanged(alice, async () => {
      for (const id of [".mine", "a/b", "a\\b"]) {
        expectError(await request(alice, "PUT", rulePath("override", id), { actions: ["notify"] }), 400, "M_INVALID_PARAM");
      }
      expectError(await request(alice, "PUT", rulePath("override", ".m.rule.master"), { actions: ["notify"] }), 400, "M_INVALID_PARAM");
    });
  });

  test("unknown kinds, missing or malformed actions, conditions and patterns", async () => {
    const alice = await newUser();
    await expectUnchanged(alice, async () => {
      expectError(await request(alice, "PUT", rulePath("bogus", "x"), { actions: [] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "GET", rulePath("bogus", "x")), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), {}), 400, "M_MISSING_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: "notify" }), 400, "M_BAD_JSON");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: ["explode"] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: [], conditions: {} }), 400, "M_BAD_JSON");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: [], conditions: [{ key: "type" }] }), 400, "M_BAD_JSON");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: [], conditions: [{ kind: "event_match", key: "type" }] }), 400, "M_MISSING_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: [], conditions: [{ kind: "room_member_count", is: "lots" }] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), { actions: [], conditions: [{ kind: "event_property_is", key: "a", value: { x: 1 } }] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("content", "x"), { actions: [] }), 400, "M_MISSING_PARAM");
      expectError(await request(alice, "PUT", rulePath("room", "not-a-room"), { actions: [] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("sender", "not-a-user"), { actions: [] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", "x"), "not json"), 400, "M_NOT_JSON");
    });
  });

  test("before/after: unknown rule, a server-default rule, the rule itself", async () => {
    const alice = await newUser();
    await ok(alice, "PUT", rulePath("content", "anchor"), { pattern: "x", actions: [] });
    await expectUnchanged(alice, async () => {
      expectError(await request(alice, "PUT", `${rulePath("content", "new")}?before=nothere`, { pattern: "y", actions: [] }), 400, "M_UNKNOWN");
      expectError(await request(alice, "PUT", `${rulePath("content", "new")}?after=.m.rule.contains_user_name`, { pattern: "y", actions: [] }), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", `${rulePath("content", "anchor")}?after=anchor`, { pattern: "y", actions: [] }), 400, "M_INVALID_PARAM");
    });
  });

  test("unknown rules are 404 M_NOT_FOUND; server-default rules cannot be deleted", async () => {
    const alice = await newUser();
    await expectUnchanged(alice, async () => {
      for (const [method, rest, body] of [["GET", "", undefined], ["DELETE", "", undefined], ["GET", "/enabled", undefined], ["PUT", "/enabled", { enabled: true }], ["GET", "/actions", undefined], ["PUT", "/actions", { actions: [] }]] as const) {
        expectError(await request(alice, method, rulePath("override", "missing", rest), body), 404, "M_NOT_FOUND");
      }
      expectError(await request(alice, "GET", rulePath("content", ".m.rule.master")), 404, "M_NOT_FOUND");
      expectError(await request(alice, "DELETE", rulePath("override", ".m.rule.master")), 400, "M_INVALID_PARAM");
      expectError(await request(alice, "PUT", rulePath("override", ".m.rule.master", "/enabled"), { enabled: "yes" }), 400, "M_BAD_JSON");
      expectError(await request(alice, "PUT", rulePath("override", ".m.rule.master", "/actions"), { actions: [7] }), 400, "M_INVALID_PARAM");
    });
  });

  test("m.push_rules cannot be written as plain account data", async () => {
    const alice = await newUser();
    await expectUnchanged(alice, async () => {
      const response = await request(alice, "PUT", `${CLIENT}/user/${enc(alice.user_id)}/account_data/m.push_rules`, { global: {} });
      expect(response.status).toBe(405);
    });
  });

  test("GET account_data/m.push_rules answers the current rules, defaults included, before and after a change", async () => {
    const alice = await newUser();
    const path = `${CLIENT}/user/${enc(alice.user_id)}/account_data/m.push_rules`;
    const before = await ok(alice, "GET", path);
    expect(before.global.override.map((rule: any) => rule.rule_id)).toContain(".m.rule.master");
    expect(before).toEqual(await ok(alice, "GET", `${CLIENT}/pushrules/`));
    await ok(alice, "PUT", rulePath("content", "cheese"), { pattern: "cheese", actions: ["notify"] });
    const after = await ok(alice, "GET", path);
    expect(after.global.content.map((rule: any) => rule.rule_id)).toContain("cheese");
  });

  test("one user's rules are not another's", async () => {
    const alice = await newUser();
    const bob = await newUser();
    await ok(alice, "PUT", rulePath("content", "mine"), { pattern: "x", actions: [] });
    expectError(await request(bob, "GET", rulePath("content", "mine")), 404, "M_NOT_FOUND");
  });
});
