// Push rule evaluation without a server (spec: Client-Server API, "Push Rules",
// "Conditions", "Predefined Rules").
import { describe, expect, test } from "bun:test";
import { EventView, compileRuleset, evaluate, evaluateDefault, globRegex, outcomeOf, propertyPath, type RoomFacts } from "../../src/push/evaluate";
import { RULE_KINDS, defaultRules, validateActions, type Ruleset } from "../../src/push/rules";

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const ROOM = "!room:example.org";

interface Facts {
  members?: number;
  senderLevel?: number;
  roomLevel?: number;
  names?: Record<string, string>;
}

function room(facts: Facts = {}): RoomFacts {
  return {
    memberCount: facts.members ?? 5,
    senderMayNotify: (key) => key === "room" && (facts.senderLevel ?? 0) >= (facts.roomLevel ?? 50),
    displayName: (userId) => facts.names?.[userId],
  };
}

function event(type: string, content: Record<string, unknown>, extra: { state_key?: string; sender?: string } = {}) {
  return { type, content, sender: extra.sender ?? BOB, room_id: ROOM, ...(extra.state_key !== undefined ? { state_key: extra.state_key } : {}) };
}

/** The rule that decides for Alice, with her default rules (or `ruleset`). */
function decide(ev: ReturnType<typeof event>, facts: Facts = {}, ruleset: Ruleset = defaultRules(ALICE)) {
  return evaluate(compileRuleset(ALICE, ruleset), new EventView(ev, room(facts)));
}

const text = (body: string, extra: Record<string, unknown> = {}) => event("m.room.message", { msgtype: "m.text", body, ...extra });

describe("default rules, in the spec's order", () => {
  test("the ruleset lists every predefined rule of the spec", () => {
    const rules = defaultRules(ALICE);
    expect(rules.override.map((r) => r.rule_id)).toEqual([
      ".m.rule.master",
      ".m.rule.suppress_notices",
      ".m.rule.invite_for_me",
      ".m.rule.member_event",
      ".m.rule.is_user_mention",
      ".m.rule.contains_display_name",
      ".m.rule.is_room_mention",
      ".m.rule.roomnotif",
      ".m.rule.tombstone",
      ".m.rule.reaction",
      ".m.rule.room.server_acl",
      ".m.rule.suppress_edits",
    ]);
    expect(rules.content.map((r) => r.rule_id)).toEqual([".m.rule.contains_user_name"]);
    expect(rules.content[0]!.pattern).toBe("alice");
    expect(rules.underride.map((r) => r.rule_id)).toEqual([
      ".m.rule.call",
      ".m.rule.encrypted_room_one_to_one",
      ".m.rule.room_one_to_one",
      ".m.rule.message",
      ".m.rule.encrypted",
    ]);
    expect(rules.room).toEqual([]);
    expect(rules.sender).toEqual([]);
    for (const kind of RULE_KINDS) for (const rule of rules[kind]) expect(rule.default).toBe(true);
    expect(rules.override[0]!.enabled).toBe(false);
  });

  test(".m.rule.message: a plain message in a group notifies without highlight", () => {
    expect(decide(text("hello"))).toMatchObject({ ruleId: ".m.rule.message", notify: true, highlight: false });
  });

  test(".m.rule.room_one_to_one: two members, with the default sound", () => {
    expect(decide(text("hello"), { members: 2 })).toMatchObject({ ruleId: ".m.rule.room_one_to_one", notify: true, actions: ["notify", { set_tweak: "sound", value: "default" }] });
  });

  test(".m.rule.encrypted and .m.rule.encrypted_room_one_to_one", () => {
    const encrypted = event("m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "alice" });
    expect(decide(encrypted)).toMatchObject({ ruleId: ".m.rule.encrypted", notify: true, highlight: false });
    expect(decide(encrypted, { members: 2 })).toMatchObject({ ruleId: ".m.rule.encrypted_room_one_to_one" });
  });

  test("encrypted events never match content rules or the display name", () => {
    const encrypted = event("m.room.encrypted", { body: "alice Alice", algorithm: "x" });
    expect(decide(encrypted, { names: { [ALICE]: "Alice" } })).toMatchObject({ ruleId: ".m.rule.encrypted", highlight: false });
  });

  test(".m.rule.call rings", () => {
    expect(decide(event("m.call.invite", { call_id: "1" }))).toMatchObject({ ruleId: ".m.rule.call", actions: ["notify", { set_tweak: "sound", value: "ring" }] });
  });

  test(".m.rule.suppress_notices: m.notice does not notify", () => {
    expect(decide(event("m.room.message", { msgtype: "m.notice", body: "alice" }))).toMatchObject({ ruleId: ".m.rule.suppress_notices", notify: false });
  });

  test(".m.rule.invite_for_me notifies the invitee only; .m.rule.member_event silences the rest", () => {
    expect(decide(event("m.room.member", { membership: "invite" }, { state_key: ALICE }))).toMatchObject({ ruleId: ".m.rule.invite_for_me", notify: true });
    expect(decide(event("m.room.member", { membership: "invite" }, { state_key: "@carol:example.org" }))).toMatchObject({ ruleId: ".m.rule.member_event", notify: false });
    expect(decide(event("m.room.member", { membership: "join" }, { state_key: BOB }))).toMatchObject({ ruleId: ".m.rule.member_event", notify: false });
  });

  test(".m.rule.is_user_mention highlights", () => {
    const outcome = decide(text("hi", { "m.mentions": { user_ids: [ALICE] } }));
    expect(outcome).toMatchObject({ ruleId: ".m.rule.is_user_mention", notify: true, highlight: true });
    // Someone else's mention is a plain message.
    expect(decide(text("hi", { "m.mentions": { user_ids: [BOB] } }))).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test(".m.rule.contains_display_name: the display name at word boundaries, any case", () => {
    const names = { [ALICE]: "Wonder Land" };
    expect(decide(text("hey wonder land, look"), { names })).toMatchObject({ ruleId: ".m.rule.contains_display_name", highlight: true });
    expect(decide(text("wonderland"), { names })).toMatchObject({ ruleId: ".m.rule.message" });
    // Characters a regex would treat specially are literal in a display name.
    expect(decide(text("ping a.*b"), { names: { [ALICE]: "a.*b" } })).toMatchObject({ ruleId: ".m.rule.contains_display_name" });
    expect(decide(text("ping aXXb"), { names: { [ALICE]: "a.*b" } })).toMatchObject({ ruleId: ".m.rule.message" });
    // No display name: the rule does not match.
    expect(decide(text("hello"), {})).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test(".m.rule.is_room_mention and .m.rule.roomnotif need the sender's notifications.room level", () => {
    const mention = text("hi all", { "m.mentions": { room: true } });
    expect(decide(mention, { senderLevel: 50 })).toMatchObject({ ruleId: ".m.rule.is_room_mention", highlight: true });
    expect(decide(mention, { senderLevel: 0 })).toMatchObject({ ruleId: ".m.rule.message", highlight: false });
    expect(decide(text("hey @room"), { senderLevel: 100 })).toMatchObject({ ruleId: ".m.rule.roomnotif", highlight: true });
    expect(decide(text("hey @room"), { senderLevel: 10 })).toMatchObject({ ruleId: ".m.rule.message" });
    expect(decide(text("hey @roomy"), { senderLevel: 100 })).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test(".m.rule.tombstone highlights the state event only", () => {
    expect(decide(event("m.room.tombstone", { body: "gone" }, { state_key: "" }))).toMatchObject({ ruleId: ".m.rule.tombstone", highlight: true });
    expect(decide(event("m.room.tombstone", { body: "gone" }))).toBeNull();
  });

  test(".m.rule.reaction, .m.rule.room.server_acl and .m.rule.suppress_edits do not notify", () => {
    expect(decide(event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: "$x", key: "👍" } }))).toMatchObject({ ruleId: ".m.rule.reaction", notify: false });
    expect(decide(event("m.room.server_acl", { allow: ["*"] }, { state_key: "" }))).toMatchObject({ ruleId: ".m.rule.room.server_acl", notify: false });
    const edit = text("* alice", { "m.relates_to": { rel_type: "m.replace", event_id: "$x" }, "m.new_content": { body: "alice" } });
    expect(decide(edit)).toMatchObject({ ruleId: ".m.rule.suppress_edits", notify: false });
  });

  test(".m.rule.contains_user_name: the localpart as a word", () => {
    expect(decide(text("Alice: lunch?"))).toMatchObject({ ruleId: ".m.rule.contains_user_name", highlight: true });
    expect(decide(text("malice aforethought"))).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test("with m.mentions, the body is not searched for names, the localpart or @room (spec v1.7)", () => {
    const names = { [ALICE]: "Queen" };
    expect(decide(text("hey queen alice @room", { "m.mentions": {} }), { names, senderLevel: 100 })).toMatchObject({ ruleId: ".m.rule.message", highlight: false });
    expect(decide(text("hey queen", { "m.mentions": { user_ids: [BOB] } }), { names })).toMatchObject({ ruleId: ".m.rule.message" });
    // Without m.mentions the old rules still apply.
    expect(decide(text("hey queen"), { names })).toMatchObject({ ruleId: ".m.rule.contains_display_name", highlight: true });
  });

  test(".m.rule.master, once enabled, silences everything", () => {
    const rules = defaultRules(ALICE);
    rules.override[0]!.enabled = true;
    expect(decide(text("alice", { "m.mentions": { user_ids: [ALICE] } }), {}, rules)).toMatchObject({ ruleId: ".m.rule.master", notify: false });
  });

  test("events no rule matches (custom types) do not notify", () => {
    expect(decide(event("org.example.custom", { body: "x" }))).toBeNull();
  });
});

describe("user rules", () => {
  test("room, sender and content rules sit between override and underride", () => {
    const rules = defaultRules(ALICE);
    rules.room.push({ rule_id: ROOM, default: false, enabled: true, actions: [] });
    expect(decide(text("hi"), {}, rules)).toMatchObject({ ruleId: ROOM, notify: false });
    // A mention (override) still wins over the muted room.
    expect(decide(text("hi", { "m.mentions": { user_ids: [ALICE] } }), {}, rules)).toMatchObject({ ruleId: ".m.rule.is_user_mention" });

    const bySender = defaultRules(ALICE);
    bySender.sender.push({ rule_id: BOB, default: false, enabled: true, actions: ["notify", { set_tweak: "highlight" }] });
    expect(decide(text("hi"), {}, bySender)).toMatchObject({ ruleId: BOB, highlight: true });

    const byContent = defaultRules(ALICE);
    byContent.content.unshift({ rule_id: "cake", default: false, enabled: true, pattern: "cake*lie", actions: ["notify", { set_tweak: "sound", value: "cake" }] });
    expect(decide(text("the cake is a lie!"), {}, byContent)).toMatchObject({ ruleId: "cake" });
    expect(decide(text("cakes are lies"), {}, byContent)).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test("disabled rules never match", () => {
    const rules = defaultRules(ALICE);
    rules.underride.find((r) => r.rule_id === ".m.rule.message")!.enabled = false;
    expect(decide(text("hello"), {}, rules)).toBeNull();
  });

  test("unknown condition kinds make a rule match nothing", () => {
    const rules = defaultRules(ALICE);
    rules.override.splice(1, 0, { rule_id: "odd", default: false, enabled: true, conditions: [{ kind: "org.example.future" }], actions: ["notify"] });
    expect(decide(text("hello"), {}, rules)).toMatchObject({ ruleId: ".m.rule.message" });
  });

  test("a rule without conditions matches every event", () => {
    const rules = defaultRules(ALICE);
    rules.override.splice(1, 0, { rule_id: "all", default: false, enabled: true, conditions: [], actions: ["notify", { set_tweak: "highlight", value: false }] });
    expect(decide(event("org.example.custom", {}), {}, rules)).toMatchObject({ ruleId: "all", notify: true, highlight: false });
  });
});

describe("conditions", () => {
  const withCondition = (condition: Record<string, unknown>) => {
    const rules: Ruleset = { override: [{ rule_id: "c", default: false, enabled: true, conditions: [condition as never], actions: ["notify"] }], content: [], room: [], sender: [], underride: [] };
    return (ev: ReturnType<typeof event>, facts: Facts = {}) => decide(ev, facts, rules) !== null;
  };

  test("event_match: the whole value, case-insensitively, strings only (spec example lunc?*)", () => {
    const matches = withCondition({ kind: "event_match", key: "content.topic", pattern: "lunc?*" });
    const topic = (value: unknown) => event("m.room.topic", { topic: value }, { state_key: "" });
    expect(matches(topic("Lunch plans"))).toBe(true);
    expect(matches(topic("LUNCH"))).toBe(true);
    expect(matches(topic(" lunch"))).toBe(false);
    expect(matches(topic("lunc"))).toBe(false);
    expect(matches(topic(null))).toBe(false);
    expect(withCondition({ kind: "event_match", key: "content.topic", pattern: "*" })(event("m.room.topic", {}))).toBe(false);
  });

  test("event_match on content.body: any word-bounded substring (spec example ex*ple)", () => {
    const matches = withCondition({ kind: "event_match", key: "content.body", pattern: "ex*ple" });
    expect(matches(text("An example event."))).toBe(true);
    expect(matches(text("exple"))).toBe(true);
    expect(matches(text("An exciting triple-whammy"))).toBe(true);
    expect(matches(text("examples"))).toBe(false);
  });

  test("event_property_is: exact values, no casting (spec example m.federate)", () => {
    const matches = withCondition({ kind: "event_property_is", key: "content.m\\.federate", value: true });
    expect(matches(event("m.room.create", { "m.federate": true }))).toBe(true);
    expect(matches(event("m.room.create", { "m.federate": "true" }))).toBe(false);
    expect(matches(event("m.room.create", { "m.federate": 1 }))).toBe(false);
    expect(matches(event("m.room.create", {}))).toBe(false);
    expect(withCondition({ kind: "event_property_is", key: "content.x", value: null })(event("t", { x: null }))).toBe(true);
  });

  test("event_property_contains: an array holding the exact value", () => {
    const matches = withCondition({ kind: "event_property_contains", key: "content.alt_aliases", value: "#myroom:example.com" });
    expect(matches(event("m.room.canonical_alias", { alt_aliases: ["#somewhere:example.org", "#myroom:example.com"] }))).toBe(true);
    expect(matches(event("m.room.canonical_alias", { alt_aliases: [":example.com"] }))).toBe(false);
    expect(matches(event("m.room.canonical_alias", { alt_aliases: "#myroom:example.com" }))).toBe(false);
  });

  test("room_member_count with each prefix", () => {
    const cases: [string, number, boolean][] = [
      ["2", 2, true], ["2", 3, false], ["==3", 3, true], ["<3", 2, true], ["<3", 3, false],
      [">3", 4, true], [">3", 3, false], [">=3", 3, true], ["<=3", 4, false], ["<=3", 3, true], ["x3", 3, false],
    ];
    for (const [is, members, expected] of cases) expect([is, members, withCondition({ kind: "room_member_count", is })(text("hi"), { members })]).toEqual([is, members, expected]);
  });

  test("sender_notification_permission compares the sender's level with notifications[key]", () => {
    const matches = withCondition({ kind: "sender_notification_permission", key: "room" });
    expect(matches(text("x"), { senderLevel: 50 })).toBe(true);
    expect(matches(text("x"), { senderLevel: 49 })).toBe(false);
    expect(matches(text("x"), { senderLevel: 10, roomLevel: 0 })).toBe(true);
  });
});

describe("helpers", () => {
  test("dot-separated property paths with escapes", () => {
    expect(propertyPath("content.m\\.mentions.user_ids")).toEqual(["content", "m.mentions", "user_ids"]);
    expect(propertyPath("content.a\\\\b")).toEqual(["content", "a\\b"]);
    expect(propertyPath("type")).toEqual(["type"]);
  });

  test("globs: * and ?, regex characters literal", () => {
    expect(globRegex("a.b", false).test("a.b")).toBe(true);
    expect(globRegex("a.b", false).test("axb")).toBe(false);
    expect(globRegex("a?c", false).test("abc")).toBe(true);
    expect(globRegex("(x)*", false).test("(x)yz")).toBe(true);
  });

  test("actions: highlight without value is true; dont_notify and coalesce are dropped", () => {
    expect(outcomeOf(["notify", { set_tweak: "highlight" }])).toMatchObject({ notify: true, highlight: true });
    expect(outcomeOf(["notify", { set_tweak: "highlight", value: false }])).toMatchObject({ highlight: false });
    expect(validateActions(["dont_notify"])).toEqual([]);
    expect(validateActions(["coalesce", "notify"])).toEqual(["notify"]);
    expect(() => validateActions(["explode"])).toThrow();
    expect(() => validateActions([42])).toThrow();
    expect(() => validateActions("notify")).toThrow();
  });
});

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

describe("the display name and localpart tests without a regex", () => {
  // Characters that could trip a shortcut: case pairs, word and non-word ASCII,
  // non-ASCII letters that case-map to ASCII ones (Kelvin sign, dotless i, long s,
  // dotted I), sharp s, an accent and an emoji (a surrogate pair).
  const alphabet = ["a", "A", "b", "B", "k", "K", "s", "S", "i", "I", "1", "_", " ", ".", "-", "(", "\u212A", "\u0131", "\u017F", "\u0130", "ß", "é", "É", "😀"];
  const regexFor = (name: string) => new RegExp(`(?:^|[^A-Za-z0-9_])${name.replace(/[.+^${}()|[\]\\*?]/g, "\\$&")}(?:[^A-Za-z0-9_]|$)`, "is");

  test("contains_display_name gives what the spec's regex gives, for random names and bodies", () => {
    const next = random(42);
    const pick = () => alphabet[Math.floor(next() * alphabet.length)]!;
    const flip = (text: string) => [...text].map((c) => (next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join("");
    let matched = 0;
    for (let round = 0; round < 3000; round++) {
      const name = Array.from({ length: 1 + Math.floor(next() * 4) }, pick).join("");
      if (name.trim() === "") continue;
      const noise = () => Array.from({ length: Math.floor(next() * 4) }, pick).join("");
      const body = next() < 0.7 ? `${noise()}${next() < 0.5 ? flip(name) : name}${noise()}` : noise() + noise();
      const got = decide(text(body), { names: { [ALICE]: name } })?.ruleId === ".m.rule.contains_display_name";
      expect({ name, body, got }).toEqual({ name, body, got: regexFor(name).test(body) });
      if (got) matched++;
    }
    // Both answers occurred often enough to mean something.
    expect(matched).toBeGreaterThan(300);
  });
});

describe("the default rules evaluated once for everyone", () => {
  const users = ["@alice:example.org", "@Alice:example.org", "@ann.lee:example.org", "@k9:example.org", "@bob:example.org"];
  const names: Record<string, string> = { "@alice:example.org": "Alice", "@Alice:example.org": "ALICE", "@ann.lee:example.org": "Ann Lee", "@k9:example.org": "(K-9)" };
  const events = [
    text("hello"),
    text("hi alice and ann lee"),
    text("ping k9, K-9 and ann.lee"),
    text("(k-9) says hi"),
    text("Alice", { "m.mentions": {} }),
    text("hey", { "m.mentions": { user_ids: ["@alice:example.org", 7] } }),
    text("@room", { "m.mentions": { room: true } }),
    text("old @room"),
    event("m.room.message", { msgtype: "m.notice", body: "alice" }),
    event("m.room.encrypted", { ciphertext: "alice" }),
    event("m.room.member", { membership: "invite" }, { state_key: "@alice:example.org" }),
    event("m.room.member", { membership: "invite" }, { state_key: "@ALICE:example.org" }),
    event("m.room.member", { membership: "join", displayname: "alice" }, { state_key: "@bob:example.org" }),
    event("m.room.tombstone", { body: "alice" }, { state_key: "" }),
    event("m.reaction", { body: "alice" }),
    event("m.call.invite", {}),
    event("org.example.custom", { body: "Ann Lee" }),
    text("alice", { "m.relates_to": { rel_type: "m.replace", event_id: "$x" } }),
  ];
  for (const members of [2, 5]) {
    for (const senderLevel of [0, 100]) {
      test(`the same outcome as each user's own compiled rules (${members} members, sender level ${senderLevel})`, () => {
        for (const ev of events) {
          const view = new EventView(ev, room({ members, senderLevel, names }));
          for (const userId of users) {
            const own = evaluate(compileRuleset(userId, defaultRules(userId)), new EventView(ev, room({ members, senderLevel, names })));
            expect({ ev, userId, rule: evaluateDefault(view, userId)?.ruleId }).toEqual({ ev, userId, rule: own?.ruleId });
          }
        }
      });
    }
  }

  test("with candidates given, only they are tested; everyone else gets the shared outcome", () => {
    const facts = { ...room({ names }), namedIn: (words: Set<string>) => (words.has("alice") ? ["@alice:example.org"] : []) };
    const view = new EventView(text("hi alice"), facts);
    expect(evaluateDefault(view, "@alice:example.org")?.ruleId).toBe(".m.rule.contains_display_name");
    expect(evaluateDefault(view, "@bob:example.org")?.ruleId).toBe(".m.rule.message");
  });
});
