// The redaction algorithms: room version 10 uses the v9 fragment
// (content/rooms/fragments/v9-redactions.md), version 11 its own (v11-redactions.md).
import { describe, expect, test } from "bun:test";
import { redactEvent } from "../../src/rooms/redaction";
import { ROOM_VERSIONS } from "../../src/rooms/room-versions";

const V10 = ROOM_VERSIONS["10"]!;
const V11 = ROOM_VERSIONS["11"]!;

/** An event carrying every top-level key either algorithm mentions, plus some neither keeps. */
function event(type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: "$ev",
    type,
    room_id: "!r:hs.test",
    sender: "@alice:hs.test",
    state_key: "",
    content,
    hashes: { sha256: "h" },
    signatures: { "hs.test": { "ed25519:1": "s" } },
    depth: 3,
    prev_events: ["$p"],
    prev_state: [],
    auth_events: ["$a"],
    origin: "hs.test",
    origin_server_ts: 1234,
    membership: "join",
    unsigned: { age: 1 },
    redacts: "$target",
    something_else: true,
    ...extra,
  };
}

const COMMON_TOP_LEVEL = [
  "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
  "depth", "prev_events", "auth_events", "origin_server_ts",
];

describe("top-level keys", () => {
  test("v10 keeps the v9 list, including origin, membership and prev_state", () => {
    const redacted = redactEvent(event("m.room.message", { body: "x" }), V10);
    expect(Object.keys(redacted).sort()).toEqual([...COMMON_TOP_LEVEL, "origin", "membership", "prev_state"].sort());
    expect(redacted).toMatchObject({ origin: "hs.test", membership: "join", prev_state: [] });
  });

  test("v11 drops origin, membership and prev_state", () => {
    const redacted = redactEvent(event("m.room.message", { body: "x" }), V11);
    expect(Object.keys(redacted).sort()).toEqual([...COMMON_TOP_LEVEL].sort());
  });

  for (const [name, rules] of [["10", V10], ["11", V11]] as const) {
    test(`v${name} drops unsigned, unknown keys and the top-level redacts`, () => {
      const redacted = redactEvent(event("m.room.redaction", { reason: "spam" }), rules);
      expect(redacted).not.toHaveProperty("unsigned");
      expect(redacted).not.toHaveProperty("something_else");
      expect(redacted).not.toHaveProperty("redacts");
    });

    test(`v${name} keeps the kept keys' values unchanged and does not add absent ones`, () => {
      const input = event("m.room.message", { body: "x" });
      const redacted = redactEvent(input, rules);
      for (const key of COMMON_TOP_LEVEL.filter((k) => k !== "content")) expect(redacted[key]).toEqual(input[key]);
      const { state_key: _s, ...noStateKey } = input;
      expect(redactEvent(noStateKey, rules)).not.toHaveProperty("state_key");
    });

    test(`v${name} does not modify its input`, () => {
      const input = event("m.room.member", { membership: "join", displayname: "A" });
      const copy = structuredClone(input);
      redactEvent(input, rules);
      expect(input).toEqual(copy);
    });

    test(`v${name} strips all content of other event types`, () => {
      expect(redactEvent(event("m.room.message", { body: "x", msgtype: "m.text" }), rules).content).toEqual({});
      expect(redactEvent(event("m.room.name", { name: "n" }), rules).content).toEqual({});
      expect(redactEvent(event("m.room.topic", { topic: "t" }), rules).content).toEqual({});
      expect(redactEvent(event("m.room.aliases", { aliases: ["#a:hs.test"] }), rules).content).toEqual({});
      expect(redactEvent(event("m.room.message", {}), rules).content).toEqual({});
    });
  }
});

describe("content keys kept, room version 10 (v9 algorithm)", () => {
  const content = (type: string, c: Record<string, unknown>) => redactEvent(event(type, c), V10).content;

  test("m.room.member keeps membership and join_authorised_via_users_server", () => {
    expect(
      content("m.room.member", {
        membership: "join",
        join_authorised_via_users_server: "@bob:hs.test",
        displayname: "Alice",
        avatar_url: "mxc://x/y",
        third_party_invite: { display_name: "a", signed: { mxid: "@alice:hs.test", token: "t", signatures: {} } },
      }),
    ).toEqual({ membership: "join", join_authorised_via_users_server: "@bob:hs.test" });
  });

  test("m.room.create keeps only creator", () => {
    expect(content("m.room.create", { creator: "@alice:hs.test", room_version: "10", "m.federate": false, predecessor: {} })).toEqual({
      creator: "@alice:hs.test",
    });
  });

  test("m.room.join_rules keeps join_rule and allow", () => {
    const allow = [{ type: "m.room_membership", room_id: "!space:hs.test" }];
    expect(content("m.room.join_rules", { join_rule: "restricted", allow, other: 1 })).toEqual({ join_rule: "restricted", allow });
  });

  test("m.room.power_levels keeps ban, events, events_default, kick, redact, state_default, users, users_default, not invite", () => {
    const full = {
      ban: 50, events: { "m.room.name": 50 }, events_default: 0, invite: 0, kick: 50, redact: 50,
      state_default: 50, users: { "@alice:hs.test": 100 }, users_default: 0, notifications: { room: 50 }, historical: 100,
    };
    const { invite: _i, notifications: _n, historical: _h, ...kept } = full;
    expect(content("m.room.power_levels", full)).toEqual(kept);
  });

  test("m.room.history_visibility keeps history_visibility", () => {
    expect(content("m.room.history_visibility", { history_visibility: "shared", x: 1 })).toEqual({ history_visibility: "shared" });
  });

  test("m.room.redaction keeps no content", () => {
    expect(content("m.room.redaction", { redacts: "$target", reason: "spam" })).toEqual({});
  });
});

describe("content keys kept, room version 11", () => {
  const content = (type: string, c: Record<string, unknown>) => redactEvent(event(type, c), V11).content;

  test("m.room.create keeps all of its content", () => {
    const full = { room_version: "11", "m.federate": false, predecessor: { room_id: "!old:hs.test" }, type: "m.space", creator: "@x:hs.test" };
    expect(content("m.room.create", full)).toEqual(full);
  });

  test("m.room.power_levels also keeps invite", () => {
    const full = {
      ban: 50, events: { "m.room.name": 50 }, events_default: 0, invite: 25, kick: 50, redact: 50,
      state_default: 50, users: { "@alice:hs.test": 100 }, users_default: 0, notifications: { room: 50 },
    };
    const { notifications: _n, ...kept } = full;
    expect(content("m.room.power_levels", full)).toEqual(kept);
  });

  test("m.room.redaction keeps redacts", () => {
    expect(content("m.room.redaction", { redacts: "$target", reason: "spam" })).toEqual({ redacts: "$target" });
  });

  test("m.room.member keeps third_party_invite.signed only", () => {
    const signed = { mxid: "@alice:hs.test", token: "tok", signatures: { "id.test": { "ed25519:0": "sig" } } };
    expect(
      content("m.room.member", {
        membership: "invite",
        displayname: "Alice",
        third_party_invite: { display_name: "alice@example.org", signed },
      }),
    ).toEqual({ membership: "invite", third_party_invite: { signed } });
  });

  test("m.room.member keeps membership and join_authorised_via_users_server, and no third_party_invite without signed", () => {
    expect(
      content("m.room.member", {
        membership: "join",
        join_authorised_via_users_server: "@bob:hs.test",
        reason: "hi",
        third_party_invite: { display_name: "x" },
      }),
    ).toEqual({ membership: "join", join_authorised_via_users_server: "@bob:hs.test" });
  });

  test("m.room.join_rules and m.room.history_visibility are as in v10", () => {
    const allow = [{ type: "m.room_membership", room_id: "!space:hs.test" }];
    expect(content("m.room.join_rules", { join_rule: "knock_restricted", allow, other: 1 })).toEqual({ join_rule: "knock_restricted", allow });
    expect(content("m.room.history_visibility", { history_visibility: "joined", x: 1 })).toEqual({ history_visibility: "joined" });
  });
});

describe("redacting twice changes nothing more", () => {
  for (const [name, rules] of [["10", V10], ["11", V11]] as const) {
    test(`v${name}`, () => {
      for (const type of ["m.room.member", "m.room.create", "m.room.power_levels", "m.room.redaction", "m.room.message"]) {
        const once = redactEvent(event(type, { membership: "join", creator: "@a:hs.test", invite: 0, redacts: "$x", body: "b" }), rules);
        expect(redactEvent(once, rules)).toEqual(once);
      }
    });
  }
});
