// The authorization rules of room versions 10 and 11 (content/rooms/v10.md and
// v11.md, "Authorization rules"): one test per rule, each with an allowed case and
// the denied case naming the rule, so that skipping the rule fails its test.
// Events are built directly; hashes and signatures are dummies except for rule 4.2.
import { describe, expect, test } from "bun:test";
import { AuthRuleError, authEventKeys, checkAuthRules, type StateLookup } from "../../src/rooms/auth-rules";
import type { Pdu } from "../../src/rooms/event-format";
import { ROOM_VERSIONS, type RoomVersionRules } from "../../src/rooms/room-versions";

const V10 = ROOM_VERSIONS["10"]!;
const V11 = ROOM_VERSIONS["11"]!;

const ROOM = "!room:hs.test";
const ALICE = "@alice:hs.test"; // creator, level 100
const BOB = "@bob:hs.test"; // moderator, level 50
const CAROL = "@carol:hs.test"; // no entry in users: level 0, not in the room by default
const DAVE = "@dave:hs.test"; // level 10
const FRANK = "@frank:hs.test"; // level 50, not in the room by default
const EVE = "@eve:other.test"; // on another server

type Content = Record<string, unknown>;

const serverOf = (id: string) => id.slice(id.indexOf(":") + 1);

function pdu(fields: {
  type: string;
  sender: string;
  state_key?: string;
  content?: Content;
  prev_events?: string[];
  room_id?: string;
  signatures?: Pdu["signatures"];
}): Pdu {
  const event: Pdu = {
    room_id: fields.room_id ?? ROOM,
    sender: fields.sender,
    type: fields.type,
    content: fields.content ?? {},
    origin_server_ts: 1700000000000,
    prev_events: fields.prev_events ?? ["$previous"],
    auth_events: [],
    depth: 5,
    hashes: { sha256: "dummy" },
    signatures: fields.signatures ?? { [serverOf(fields.sender)]: { "ed25519:1": "dummy" } },
  };
  if (fields.state_key !== undefined) event.state_key = fields.state_key;
  return event;
}

const member = (sender: string, target: string, membership: string, extra: Content = {}) =>
  pdu({ type: "m.room.member", sender, state_key: target, content: { membership, ...extra } });
const stateEvent = (sender: string, type: string, stateKey: string, content: Content) => pdu({ type, sender, state_key: stateKey, content });
const message = (sender: string) => pdu({ type: "m.room.message", sender, content: { msgtype: "m.text", body: "hi" } });
const powerLevelsEvent = (sender: string, content: Content) => stateEvent(sender, "m.room.power_levels", "", content);

function createContent(rules: RoomVersionRules, extra: Content = {}): Content {
  return rules.createHasCreator ? { creator: ALICE, room_version: rules.id, ...extra } : { room_version: rules.id, ...extra };
}

const createEvent = (rules: RoomVersionRules, extra: Content = {}, sender = ALICE) =>
  pdu({ type: "m.room.create", sender, state_key: "", content: createContent(rules, extra), prev_events: [] });

/** An in-memory room state keyed by type and state_key. */
class RoomState {
  private readonly events = new Map<string, Pdu>();
  put(...events: Pdu[]): this {
    for (const event of events) this.events.set(`${event.type}\u0000${event.state_key}`, event);
    return this;
  }
  readonly lookup: StateLookup = (type, stateKey) => this.events.get(`${type}\u0000${stateKey}`);
}

const DEFAULT_POWER_LEVELS: Content = {
  users: { [ALICE]: 100, [BOB]: 50, [DAVE]: 10, [FRANK]: 50 },
  users_default: 0,
  events: { "m.room.name": 50, "m.room.tombstone": 100 },
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
  notifications: { room: 50 },
};

interface RoomOptions {
  /** m.room.join_rules content.join_rule; no join-rules event when undefined. */
  joinRule?: string;
  /** Merged over DEFAULT_POWER_LEVELS; `null` means no power-levels event at all. */
  powerLevels?: Content | null;
  /** Memberships merged over the default: Alice, Bob and Dave joined. */
  members?: Record<string, string>;
  createExtra?: Content;
}

function room(rules: RoomVersionRules, options: RoomOptions = {}): RoomState {
  const state = new RoomState().put(createEvent(rules, options.createExtra));
  if (options.powerLevels !== null) state.put(powerLevelsEvent(ALICE, { ...DEFAULT_POWER_LEVELS, ...options.powerLevels }));
  if (options.joinRule !== undefined) state.put(stateEvent(ALICE, "m.room.join_rules", "", { join_rule: options.joinRule }));
  const members: Record<string, string> = { [ALICE]: "join", [BOB]: "join", [DAVE]: "join", ...options.members };
  for (const [userId, membership] of Object.entries(members)) state.put(member(userId, userId, membership));
  return state;
}

/** "allow", or the rule an AuthRuleError names. */
function outcome(rules: RoomVersionRules, state: RoomState, event: Pdu, isFirstAfterCreate = false): string {
  try {
    checkAuthRules(event, state.lookup, rules, isFirstAfterCreate);
    return "allow";
  } catch (error) {
    if (error instanceof AuthRuleError) return error.rule;
    throw error;
  }
}

describe.each([
  ["10", V10],
  ["11", V11],
])("room version %s", (_name, rules) => {
  const check = (state: RoomState, event: Pdu, isFirstAfterCreate = false) => outcome(rules, state, event, isFirstAfterCreate);
  const empty = () => new RoomState();

  describe("1. m.room.create", () => {
    test("1.1 no prev_events", () => {
      expect(check(empty(), createEvent(rules))).toBe("allow");
      expect(check(empty(), { ...createEvent(rules), prev_events: ["$x"] })).toBe("1.1");
    });

    test("1.2 room_id and sender on the same server", () => {
      expect(check(empty(), { ...createEvent(rules), sender: "@alice:other.test" })).toBe("1.2");
      expect(check(empty(), { ...createEvent(rules), room_id: "!room:other.test" })).toBe("1.2");
      expect(check(empty(), { ...createEvent(rules), room_id: "!room:other.test", sender: "@alice:other.test" })).toBe("allow");
    });

    test("1.3 room_version, when present, is recognised", () => {
      for (const version of ["10", "11"]) expect(check(empty(), createEvent(rules, { room_version: version }))).toBe("allow");
      expect(check(empty(), createEvent(rules, { room_version: "999" }))).toBe("1.3");
      expect(check(empty(), createEvent(rules, { room_version: 11 }))).toBe("1.3");
      const { room_version: _v, ...withoutVersion } = createContent(rules);
      expect(check(empty(), { ...createEvent(rules), content: withoutVersion })).toBe("allow");
    });

    test("1.4/1.5 otherwise allow, even with other state present", () => {
      expect(check(room(rules), createEvent(rules, { "m.federate": false }))).toBe("allow");
    });
  });

  test("2.4 there must be an m.room.create event", () => {
    const state = new RoomState().put(member(ALICE, ALICE, "join"));
    expect(check(state, message(ALICE))).toBe("2.4");
    expect(check(state.put(createEvent(rules)), message(ALICE))).toBe("allow");
  });

  test("3 m.federate false refuses senders from other servers", () => {
    const closed = room(rules, { createExtra: { "m.federate": false }, joinRule: "public", members: { [EVE]: "join" } });
    expect(check(closed, message(EVE))).toBe("3");
    expect(check(closed, member(EVE, EVE, "leave"))).toBe("3"); // before the membership rules
    expect(check(closed, message(ALICE))).toBe("allow");
    const open = room(rules, { createExtra: { "m.federate": true }, joinRule: "public", members: { [EVE]: "join" } });
    expect(check(open, message(EVE))).toBe("allow");
    expect(check(room(rules, { members: { [EVE]: "join" } }), message(EVE))).toBe("allow");
  });

  describe("4. m.room.member", () => {
    test("4.1 needs a state_key and content.membership", () => {
      const state = room(rules, { joinRule: "public" });
      expect(check(state, pdu({ type: "m.room.member", sender: CAROL, content: { membership: "join" } }))).toBe("4.1");
      expect(check(state, pdu({ type: "m.room.member", sender: CAROL, state_key: CAROL, content: { displayname: "C" } }))).toBe("4.1");
      expect(check(state, member(CAROL, CAROL, "join"))).toBe("allow");
    });

    test("4.2 join_authorised_via_users_server must be signed by that user's server", () => {
      const state = room(rules, { joinRule: "restricted", powerLevels: { users: { ...DEFAULT_POWER_LEVELS.users as Content, [EVE]: 50 } }, members: { [EVE]: "join" } });
      const viaEve = member(CAROL, CAROL, "join", { join_authorised_via_users_server: EVE });
      expect(check(state, viaEve)).toBe("4.2"); // signed by hs.test only
      const signedByBoth = { ...viaEve, signatures: { "hs.test": { "ed25519:1": "x" }, "other.test": { "ed25519:1": "y" } } };
      expect(check(state, signedByBoth)).toBe("allow");
      expect(check(state, member(CAROL, CAROL, "join", { join_authorised_via_users_server: ALICE }))).toBe("allow");
      expect(check(state, member(CAROL, CAROL, "join", { join_authorised_via_users_server: 5 }))).toBe("4.2");
      // A draft not signed yet counts as signed by its sender's server, which signs it next.
      const unsigned = (extra: Content) => {
        const { signatures: _, ...draft } = member(CAROL, CAROL, "join", extra);
        return draft as Pdu;
      };
      expect(check(state, unsigned({ join_authorised_via_users_server: ALICE }))).toBe("allow");
      expect(check(state, unsigned({ join_authorised_via_users_server: EVE }))).toBe("4.2");
    });

    describe("4.3 join", () => {
      test("4.3.1 the creator's first join after the create event", () => {
        const justCreated = new RoomState().put(createEvent(rules));
        expect(check(justCreated, member(ALICE, ALICE, "join"), true)).toBe("allow");
        // Not the first event after create: the (absent) join rule is invite.
        expect(check(justCreated, member(ALICE, ALICE, "join"), false)).toBe("4.3.4");
        // Only the creator.
        expect(check(justCreated, member(BOB, BOB, "join"), true)).toBe("4.3.4");
      });

      test("4.3.2 only the user themselves can join", () => {
        const state = room(rules, { joinRule: "public" });
        expect(check(state, member(ALICE, CAROL, "join"))).toBe("4.3.2");
        expect(check(state, member(CAROL, CAROL, "join"))).toBe("allow");
      });

      test("4.3.3 a banned user cannot join", () => {
        expect(check(room(rules, { joinRule: "public", members: { [CAROL]: "ban" } }), member(CAROL, CAROL, "join"))).toBe("4.3.3");
        expect(check(room(rules, { joinRule: "public", members: { [CAROL]: "leave" } }), member(CAROL, CAROL, "join"))).toBe("allow");
        // Even an invited join needs the ban lifted (the ban replaces the invite in state, so check a banned user in an invite room).
        expect(check(room(rules, { joinRule: "invite", members: { [CAROL]: "ban" } }), member(CAROL, CAROL, "join"))).toBe("4.3.3");
      });

      for (const joinRule of ["invite", "knock"]) {
        test(`4.3.4 join rule ${joinRule}: only invited or joined users`, () => {
          const join = member(CAROL, CAROL, "join");
          expect(check(room(rules, { joinRule, members: { [CAROL]: "invite" } }), join)).toBe("allow");
          expect(check(room(rules, { joinRule, members: { [CAROL]: "join" } }), join)).toBe("allow");
          expect(check(room(rules, { joinRule }), join)).toBe("4.3.4");
          expect(check(room(rules, { joinRule, members: { [CAROL]: "leave" } }), join)).toBe("4.3.4");
          expect(check(room(rules, { joinRule, members: { [CAROL]: "knock" } }), join)).toBe("4.3.4");
        });
      }

      test("4.3.4 no join-rules event counts as invite", () => {
        expect(check(room(rules), member(CAROL, CAROL, "join"))).toBe("4.3.4");
        expect(check(room(rules, { members: { [CAROL]: "invite" } }), member(CAROL, CAROL, "join"))).toBe("allow");
      });

      for (const joinRule of ["restricted", "knock_restricted"]) {
        test(`4.3.5 join rule ${joinRule}: invited, joined, or authorised by a joined user with invite power`, () => {
          const levels = { invite: 50 };
          const via = (userId: string) => member(CAROL, CAROL, "join", { join_authorised_via_users_server: userId });
          // 4.3.5.1
          expect(check(room(rules, { joinRule, powerLevels: levels, members: { [CAROL]: "invite" } }), member(CAROL, CAROL, "join"))).toBe("allow");
          expect(check(room(rules, { joinRule, powerLevels: levels, members: { [CAROL]: "join" } }), member(CAROL, CAROL, "join"))).toBe("allow");
          // 4.3.5.3: Bob (50) may invite.
          expect(check(room(rules, { joinRule, powerLevels: levels }), via(BOB))).toBe("allow");
          // 4.3.5.2: no authoriser, one below the invite level, one not in the room.
          expect(check(room(rules, { joinRule, powerLevels: levels }), member(CAROL, CAROL, "join"))).toBe("4.3.5.2");
          expect(check(room(rules, { joinRule, powerLevels: levels, members: { [CAROL]: "knock" } }), member(CAROL, CAROL, "join"))).toBe("4.3.5.2");
          expect(check(room(rules, { joinRule, powerLevels: levels }), via(DAVE))).toBe("4.3.5.2");
          expect(check(room(rules, { joinRule, powerLevels: levels }), via(FRANK))).toBe("4.3.5.2");
        });
      }

      test("4.3.6 join rule public: anyone not banned", () => {
        expect(check(room(rules, { joinRule: "public" }), member(CAROL, CAROL, "join"))).toBe("allow");
        expect(check(room(rules, { joinRule: "public", members: { [CAROL]: "leave" } }), member(CAROL, CAROL, "join"))).toBe("allow");
        expect(check(room(rules, { joinRule: "public", members: { [CAROL]: "knock" } }), member(CAROL, CAROL, "join"))).toBe("allow");
      });

      test("4.3.7 any other join rule is refused, even for invited users", () => {
        expect(check(room(rules, { joinRule: "private" }), member(CAROL, CAROL, "join"))).toBe("4.3.7");
        expect(check(room(rules, { joinRule: "private", members: { [CAROL]: "invite" } }), member(CAROL, CAROL, "join"))).toBe("4.3.7");
        expect(check(room(rules, { joinRule: "something_new" }), member(CAROL, CAROL, "join"))).toBe("4.3.7");
      });
    });

    describe("4.4 invite", () => {
      test("4.4.1 third-party invites are refused (their signatures cannot be checked here)", () => {
        const thirdParty = {
          third_party_invite: { display_name: "carol@example.org", signed: { mxid: CAROL, token: "tok", signatures: { "id.test": { "ed25519:0": "sig" } } } },
        };
        const state = room(rules).put(stateEvent(ALICE, "m.room.third_party_invite", "tok", { display_name: "c", public_key: "AAAA" }));
        expect(check(state, member(ALICE, CAROL, "invite", thirdParty))).toBe("4.4.1.8");
        // 4.4.1.1 comes first: the target is banned.
        const banned = room(rules, { members: { [CAROL]: "ban" } });
        expect(check(banned, member(ALICE, CAROL, "invite", thirdParty))).toBe("4.4.1.1");
        // The same invite without third_party_invite is fine.
        expect(check(state, member(ALICE, CAROL, "invite"))).toBe("allow");
      });

      test("4.4.2 the inviter must be joined", () => {
        expect(check(room(rules), member(ALICE, CAROL, "invite"))).toBe("allow");
        expect(check(room(rules, { members: { [BOB]: "invite" } }), member(BOB, CAROL, "invite"))).toBe("4.4.2");
        expect(check(room(rules, { members: { [BOB]: "leave" } }), member(BOB, CAROL, "invite"))).toBe("4.4.2");
      });

      test("4.4.3 the invitee must not be joined or banned", () => {
        expect(check(room(rules, { members: { [CAROL]: "join" } }), member(ALICE, CAROL, "invite"))).toBe("4.4.3");
        expect(check(room(rules, { members: { [CAROL]: "ban" } }), member(ALICE, CAROL, "invite"))).toBe("4.4.3");
        expect(check(room(rules, { members: { [CAROL]: "leave" } }), member(ALICE, CAROL, "invite"))).toBe("allow");
        expect(check(room(rules, { members: { [CAROL]: "knock" } }), member(ALICE, CAROL, "invite"))).toBe("allow");
        expect(check(room(rules, { members: { [CAROL]: "invite" } }), member(ALICE, CAROL, "invite"))).toBe("allow");
      });

      test("4.4.4/4.4.5 the inviter needs the invite level", () => {
        const state = room(rules, { powerLevels: { invite: 50 } });
        expect(check(state, member(BOB, CAROL, "invite"))).toBe("allow"); // 50 >= 50
        expect(check(state, member(DAVE, CAROL, "invite"))).toBe("4.4.5"); // 10 < 50
        // Default invite level 0: anyone joined.
        const { invite: _i, ...withoutInvite } = DEFAULT_POWER_LEVELS;
        const defaults = new RoomState().put(createEvent(rules), powerLevelsEvent(ALICE, withoutInvite), member(DAVE, DAVE, "join"));
        expect(check(defaults, member(DAVE, CAROL, "invite"))).toBe("allow");
      });
    });

    describe("4.5 leave", () => {
      test("4.5.1 leaving oneself: only from invite, join or knock", () => {
        for (const membership of ["invite", "join", "knock"]) {
          expect(check(room(rules, { members: { [CAROL]: membership } }), member(CAROL, CAROL, "leave"))).toBe("allow");
        }
        expect(check(room(rules), member(CAROL, CAROL, "leave"))).toBe("4.5.1");
        expect(check(room(rules, { members: { [CAROL]: "leave" } }), member(CAROL, CAROL, "leave"))).toBe("4.5.1");
        expect(check(room(rules, { members: { [CAROL]: "ban" } }), member(CAROL, CAROL, "leave"))).toBe("4.5.1");
      });

      test("4.5.2 kicking needs the sender joined", () => {
        expect(check(room(rules, { members: { [CAROL]: "join" } }), member(ALICE, CAROL, "leave"))).toBe("allow");
        expect(check(room(rules, { members: { [ALICE]: "leave", [CAROL]: "join" } }), member(ALICE, CAROL, "leave"))).toBe("4.5.2");
      });

      test("4.5.3 unbanning needs the ban level", () => {
        const state = room(rules, { powerLevels: { ban: 75 }, members: { [CAROL]: "ban" } });
        expect(check(state, member(BOB, CAROL, "leave"))).toBe("4.5.3"); // Bob 50 >= kick 50 but < ban 75
        expect(check(state, member(ALICE, CAROL, "leave"))).toBe("allow");
      });

      test("4.5.4/4.5.5 kicking needs the kick level and a higher level than the target", () => {
        const state = room(rules, { members: { [CAROL]: "join", [FRANK]: "join" } });
        expect(check(state, member(BOB, CAROL, "leave"))).toBe("allow"); // 50 vs 0
        expect(check(state, member(BOB, DAVE, "leave"))).toBe("allow"); // 50 vs 10
        expect(check(state, member(BOB, ALICE, "leave"))).toBe("4.5.5"); // 50 vs 100
        expect(check(state, member(BOB, FRANK, "leave"))).toBe("4.5.5"); // equal levels
        expect(check(state, member(DAVE, CAROL, "leave"))).toBe("4.5.5"); // 10 < kick 50
        // Kicking an invited user (revoking an invite) follows the same rule.
        expect(check(room(rules, { members: { [CAROL]: "invite" } }), member(BOB, CAROL, "leave"))).toBe("allow");
      });
    });

    test("4.6 ban: the sender joined, with the ban level and above the target", () => {
      const state = room(rules, { members: { [CAROL]: "join", [FRANK]: "join" } });
      expect(check(state, member(ALICE, CAROL, "ban"))).toBe("allow");
      expect(check(room(rules), member(ALICE, CAROL, "ban"))).toBe("allow"); // not in the room yet
      expect(check(room(rules, { members: { [ALICE]: "leave" } }), member(ALICE, CAROL, "ban"))).toBe("4.6.1");
      expect(check(state, member(BOB, ALICE, "ban"))).toBe("4.6.3");
      expect(check(state, member(BOB, FRANK, "ban"))).toBe("4.6.3");
      expect(check(state, member(DAVE, CAROL, "ban"))).toBe("4.6.3");
      expect(check(state, member(BOB, CAROL, "ban"))).toBe("allow");
    });

    describe("4.7 knock", () => {
      test("4.7.1 only with join rule knock or knock_restricted", () => {
        for (const joinRule of ["knock", "knock_restricted"]) {
          expect(check(room(rules, { joinRule }), member(CAROL, CAROL, "knock"))).toBe("allow");
        }
        for (const joinRule of ["invite", "public", "restricted", "private"]) {
          expect(check(room(rules, { joinRule }), member(CAROL, CAROL, "knock"))).toBe("4.7.1");
        }
        expect(check(room(rules), member(CAROL, CAROL, "knock"))).toBe("4.7.1");
      });

      test("4.7.2 only for oneself", () => {
        expect(check(room(rules, { joinRule: "knock" }), member(ALICE, CAROL, "knock"))).toBe("4.7.2");
      });

      test("4.7.3/4.7.4 not when banned, invited or joined", () => {
        expect(check(room(rules, { joinRule: "knock", members: { [CAROL]: "leave" } }), member(CAROL, CAROL, "knock"))).toBe("allow");
        expect(check(room(rules, { joinRule: "knock", members: { [CAROL]: "knock" } }), member(CAROL, CAROL, "knock"))).toBe("allow");
        for (const membership of ["ban", "invite", "join"]) {
          expect(check(room(rules, { joinRule: "knock", members: { [CAROL]: membership } }), member(CAROL, CAROL, "knock"))).toBe("4.7.4");
        }
      });
    });

    test("4.8 unknown membership", () => {
      expect(check(room(rules, { joinRule: "public" }), member(ALICE, ALICE, "sleep"))).toBe("4.8");
      expect(check(room(rules, { joinRule: "public" }), member(ALICE, ALICE, "join"))).toBe("allow");
    });
  });

  test("5 the sender must be joined for non-member events", () => {
    for (const membership of ["invite", "leave", "knock", "ban"]) {
      expect(check(room(rules, { members: { [CAROL]: membership } }), message(CAROL))).toBe("5");
    }
    expect(check(room(rules), message(CAROL))).toBe("5");
    expect(check(room(rules, { members: { [CAROL]: "join" } }), message(CAROL))).toBe("allow");
  });

  test("6 m.room.third_party_invite needs the invite level (not the state level)", () => {
    const state = room(rules, { powerLevels: { invite: 50, state_default: 100 } });
    const invite = (sender: string) => stateEvent(sender, "m.room.third_party_invite", "tok", { display_name: "c", public_key: "AAAA" });
    expect(check(state, invite(BOB))).toBe("allow"); // 50 >= invite 50, although state_default is 100
    expect(check(state, invite(DAVE))).toBe("6.1");
  });

  describe("7 required power level", () => {
    test("events and state levels from the power-levels event", () => {
      const state = room(rules, { members: { [CAROL]: "join" } });
      expect(check(state, message(CAROL))).toBe("allow"); // events_default 0
      expect(check(state, stateEvent(CAROL, "m.room.name", "", { name: "n" }))).toBe("7"); // events entry 50
      expect(check(state, stateEvent(CAROL, "m.room.topic", "", { topic: "t" }))).toBe("7"); // state_default 50
      expect(check(state, stateEvent(BOB, "m.room.topic", "", { topic: "t" }))).toBe("allow");
      expect(check(state, stateEvent(BOB, "m.room.tombstone", "", {}))).toBe("7"); // events entry 100
      const strict = room(rules, { powerLevels: { events_default: 20, events: { "m.reaction": 0, "m.room.topic": 0 } }, members: { [CAROL]: "join" } });
      expect(check(strict, message(DAVE))).toBe("7"); // 10 < events_default 20
      expect(check(strict, pdu({ type: "m.reaction", sender: CAROL }))).toBe("allow"); // events entry below the default
      expect(check(strict, stateEvent(CAROL, "m.room.topic", "", { topic: "t" }))).toBe("allow");
      const usersDefault = room(rules, { powerLevels: { users_default: 20, events_default: 20 }, members: { [CAROL]: "join" } });
      expect(check(usersDefault, message(CAROL))).toBe("allow"); // users_default 20
    });

    test("defaults without a power-levels event: creator 100, others 0, state_default 0", () => {
      const state = room(rules, { powerLevels: null, members: { [CAROL]: "join" } });
      expect(check(state, stateEvent(CAROL, "m.room.topic", "", { topic: "t" }))).toBe("allow"); // state_default 0
      expect(check(state, stateEvent(CAROL, "m.room.name", "", { name: "n" }))).toBe("allow");
      expect(check(state, message(CAROL))).toBe("allow");
      // The creator (100) can kick and ban (default 50), others (0) cannot.
      expect(check(state, member(ALICE, CAROL, "leave"))).toBe("allow");
      expect(check(state, member(ALICE, CAROL, "ban"))).toBe("allow");
      expect(check(state, member(CAROL, ALICE, "leave"))).toBe("4.5.5");
      expect(check(state, member(BOB, CAROL, "ban"))).toBe("4.6.3"); // Bob's 50 only exists in a power-levels event
    });
  });

  test("8 state keys starting with @ belong to the user they name", () => {
    const state = room(rules, { powerLevels: { events: { "m.custom": 0 } }, members: { [CAROL]: "join" } });
    expect(check(state, stateEvent(CAROL, "m.custom", CAROL, {}))).toBe("allow");
    expect(check(state, stateEvent(CAROL, "m.custom", "carol", {}))).toBe("allow");
    expect(check(state, stateEvent(CAROL, "m.custom", "", {}))).toBe("allow");
    expect(check(state, stateEvent(CAROL, "m.custom", ALICE, {}))).toBe("8");
    expect(check(state, stateEvent(ALICE, "m.custom", CAROL, {}))).toBe("8"); // no exception for admins
  });

  describe("9 m.room.power_levels", () => {
    // Bob (50) edits the default levels; state_default 50 lets him send them (rule 7).
    const edited = (change: Content) => powerLevelsEvent(BOB, { ...DEFAULT_POWER_LEVELS, ...change });
    const without = (key: string) => {
      const { [key]: _drop, ...rest } = DEFAULT_POWER_LEVELS;
      return rest;
    };
    const state = () => room(rules);

    test("9.1 the integer properties must be integers", () => {
      expect(check(state(), edited({}))).toBe("allow");
      expect(check(state(), edited({ ban: "50" }))).toBe("9.1");
      expect(check(state(), edited({ kick: 1.5 }))).toBe("9.1");
      expect(check(state(), edited({ users_default: null }))).toBe("9.1");
      expect(check(state(), powerLevelsEvent(ALICE, { ...DEFAULT_POWER_LEVELS, invite: "0" }))).toBe("9.1");
    });

    test("9.2 events and notifications must map to integers", () => {
      expect(check(state(), edited({ events: { "m.room.name": 50, "m.room.tombstone": 100 }, notifications: { room: 50 } }))).toBe("allow");
      expect(check(state(), edited({ events: { "m.room.name": "50", "m.room.tombstone": 100 } }))).toBe("9.2");
      expect(check(state(), edited({ notifications: { room: 1.5 } }))).toBe("9.2");
      expect(check(state(), edited({ events: [50] }))).toBe("9.2");
      expect(check(state(), edited({ notifications: 50 }))).toBe("9.2");
    });

    test("9.3 users must map user ids to integers", () => {
      const users = DEFAULT_POWER_LEVELS.users as Content;
      expect(check(state(), edited({ users: { ...users, [CAROL]: 0 } }))).toBe("allow");
      expect(check(state(), edited({ users: { ...users, carol: 0 } }))).toBe("9.3");
      expect(check(state(), edited({ users: { ...users, [CAROL]: "0" } }))).toBe("9.3");
      expect(check(state(), edited({ users: [ALICE] }))).toBe("9.3");
    });

    test("9.4 without a previous power-levels event anything goes", () => {
      const fresh = room(rules, { powerLevels: null, members: { [CAROL]: "join" } });
      // Carol (0) may send the first one (state_default 0) and give herself 100.
      const first = powerLevelsEvent(CAROL, { users: { [CAROL]: 100, [ALICE]: 0 }, ban: 100 });
      expect(check(fresh, first)).toBe("allow");
      // With a previous one she may not.
      expect(check(room(rules, { members: { [CAROL]: "join" } }), first)).toBe("7");
    });

    test("9.5.1 the integer properties: not from above the sender's level", () => {
      const high = room(rules, { powerLevels: { ban: 75 } });
      const base = { ...DEFAULT_POWER_LEVELS, ban: 75 };
      expect(check(high, powerLevelsEvent(BOB, { ...base, ban: 50 }))).toBe("9.5.1");
      const { ban: _b, ...banRemoved } = base;
      expect(check(high, powerLevelsEvent(BOB, banRemoved))).toBe("9.5.1");
      expect(check(high, powerLevelsEvent(BOB, { ...base, kick: 40 }))).toBe("allow");
      expect(check(state(), powerLevelsEvent(BOB, without("redact")))).toBe("allow"); // removed, was 50
      expect(check(high, powerLevelsEvent(ALICE, { ...base, ban: 50 }))).toBe("allow");
    });

    test("9.5.2 the integer properties: not to above the sender's level", () => {
      expect(check(state(), edited({ kick: 60 }))).toBe("9.5.2");
      const noInvite = room(rules, { powerLevels: { invite: undefined } });
      expect(check(noInvite, powerLevelsEvent(BOB, { ...without("invite"), invite: 60 }))).toBe("9.5.2"); // added
      expect(check(state(), edited({ events_default: 50 }))).toBe("allow"); // up to his own level
      expect(check(state(), edited({ state_default: 50, kick: 50 }))).toBe("allow"); // unchanged
    });

    test("9.6.1 events and notifications: no change or removal of entries above the sender's level", () => {
      const events = DEFAULT_POWER_LEVELS.events as Content;
      expect(check(state(), edited({ events: { ...events, "m.room.tombstone": 50 } }))).toBe("9.6.1");
      expect(check(state(), edited({ events: { "m.room.name": 50 } }))).toBe("9.6.1"); // tombstone removed
      const loud = room(rules, { powerLevels: { notifications: { room: 100 } } });
      expect(check(loud, powerLevelsEvent(BOB, { ...DEFAULT_POWER_LEVELS, notifications: { room: 50 } }))).toBe("9.6.1");
      expect(check(state(), edited({ events: { ...events, "m.room.name": 0 } }))).toBe("allow");
      expect(check(state(), edited({ events: { "m.room.tombstone": 100 } }))).toBe("allow"); // name (50) removed
    });

    test("9.7.1 events and notifications: no entries added or changed to above the sender's level", () => {
      const events = DEFAULT_POWER_LEVELS.events as Content;
      expect(check(state(), edited({ events: { ...events, "m.custom": 60 } }))).toBe("9.7.1");
      expect(check(state(), edited({ events: { ...events, "m.room.name": 51 } }))).toBe("9.7.1");
      expect(check(state(), edited({ notifications: { room: 60 } }))).toBe("9.7.1");
      expect(check(state(), edited({ events: { ...events, "m.custom": 50 } }))).toBe("allow");
      expect(check(state(), edited({ notifications: { room: 50, other: 10 } }))).toBe("allow");
    });

    test("9.8.1 users: no change or removal of others at or above the sender's level; the sender's own entry may be lowered", () => {
      const users = DEFAULT_POWER_LEVELS.users as Record<string, number>;
      expect(check(state(), edited({ users: { ...users, [FRANK]: 10 } }))).toBe("9.8.1"); // equal level
      const { [ALICE]: _a, ...aliceRemoved } = users;
      expect(check(state(), edited({ users: aliceRemoved }))).toBe("9.8.1");
      expect(check(state(), edited({ users: { ...users, [BOB]: 0 } }))).toBe("allow"); // own entry lowered
      const { [BOB]: _b, ...bobRemoved } = users;
      expect(check(state(), edited({ users: bobRemoved }))).toBe("allow"); // own entry removed
      expect(check(state(), edited({ users: { ...users, [DAVE]: 0 } }))).toBe("allow"); // below him
    });

    test("9.9.1 users: no entry added or changed to above the sender's level", () => {
      const users = DEFAULT_POWER_LEVELS.users as Record<string, number>;
      expect(check(state(), edited({ users: { ...users, [DAVE]: 60 } }))).toBe("9.9.1");
      expect(check(state(), edited({ users: { ...users, [CAROL]: 51 } }))).toBe("9.9.1");
      expect(check(state(), edited({ users: { ...users, [BOB]: 60 } }))).toBe("9.9.1"); // not even himself
      expect(check(state(), edited({ users: { ...users, [CAROL]: 50, [DAVE]: 50 } }))).toBe("allow"); // up to his own level
    });

    test("9.10 the room's admin may change everything below 100", () => {
      const everything = powerLevelsEvent(ALICE, {
        users: { [ALICE]: 100, [BOB]: 0, [CAROL]: 99 },
        events: { "m.room.name": 100 },
        events_default: 5,
        state_default: 100,
        ban: 100,
        kick: 0,
        redact: 0,
        invite: 1,
        notifications: { room: 0 },
      });
      expect(check(state(), everything)).toBe("allow");
    });
  });

  test("10 other events are allowed once the rules above pass (e.g. redactions)", () => {
    const redaction = pdu({ type: "m.room.redaction", sender: CAROL, content: { redacts: "$x" } });
    expect(check(room(rules, { members: { [CAROL]: "join" } }), redaction)).toBe("allow");
  });
});

describe("what differs between room versions 10 and 11", () => {
  test("1.4 (v10 only) m.room.create needs content.creator", () => {
    const noCreator = pdu({ type: "m.room.create", sender: ALICE, state_key: "", content: { room_version: "10" }, prev_events: [] });
    expect(outcome(V10, new RoomState(), noCreator)).toBe("1.4");
    expect(outcome(V11, new RoomState(), { ...noCreator, content: { room_version: "11" } })).toBe("allow");
    expect(outcome(V10, new RoomState(), { ...noCreator, content: { room_version: "10", creator: ALICE } })).toBe("allow");
  });

  // A create event sent by Alice whose content names Bob as creator: v10 believes
  // content.creator, v11 only the sender.
  const oddCreate = (rules: RoomVersionRules) =>
    pdu({ type: "m.room.create", sender: ALICE, state_key: "", content: { creator: BOB, room_version: rules.id }, prev_events: [] });

  test("4.3.1 the creator is content.creator in v10 and the create event's sender in v11", () => {
    const v10 = new RoomState().put(oddCreate(V10));
    expect(outcome(V10, v10, member(BOB, BOB, "join"), true)).toBe("allow");
    expect(outcome(V10, v10, member(ALICE, ALICE, "join"), true)).toBe("4.3.4");
    const v11 = new RoomState().put(oddCreate(V11));
    expect(outcome(V11, v11, member(ALICE, ALICE, "join"), true)).toBe("allow");
    expect(outcome(V11, v11, member(BOB, BOB, "join"), true)).toBe("4.3.4");
  });

  test("7 without a power-levels event, the creator with 100 is the same creator as in 4.3.1", () => {
    const joined = (rules: RoomVersionRules) =>
      new RoomState().put(oddCreate(rules), member(ALICE, ALICE, "join"), member(BOB, BOB, "join"));
    expect(outcome(V10, joined(V10), member(BOB, ALICE, "leave"))).toBe("allow");
    expect(outcome(V10, joined(V10), member(ALICE, BOB, "leave"))).toBe("4.5.5");
    expect(outcome(V11, joined(V11), member(ALICE, BOB, "leave"))).toBe("allow");
    expect(outcome(V11, joined(V11), member(BOB, ALICE, "leave"))).toBe("4.5.5");
  });
});

describe("authEventKeys (Server-Server API, auth events selection)", () => {
  const keys = (event: Pdu) => authEventKeys(event).map(([type, stateKey]) => `${type}|${stateKey}`).sort();
  const base = ["m.room.create|", "m.room.power_levels|"];

  test("m.room.create has none", () => {
    expect(authEventKeys(createEvent(V11))).toEqual([]);
  });

  test("non-member events: create, power levels, the sender's member event", () => {
    expect(keys(message(BOB))).toEqual([...base, `m.room.member|${BOB}`].sort());
    expect(keys(stateEvent(BOB, "m.room.topic", "", { topic: "t" }))).toEqual([...base, `m.room.member|${BOB}`].sort());
    // join_authorised_via_users_server means nothing outside member events.
    expect(keys(pdu({ type: "m.custom", sender: BOB, content: { join_authorised_via_users_server: ALICE } }))).toEqual(
      [...base, `m.room.member|${BOB}`].sort(),
    );
  });

  test("join: the sender's member event once, and the join rules", () => {
    expect(keys(member(CAROL, CAROL, "join"))).toEqual([...base, `m.room.member|${CAROL}`, "m.room.join_rules|"].sort());
  });

  test("invite: the sender's and the target's member events, and the join rules", () => {
    expect(keys(member(ALICE, CAROL, "invite"))).toEqual([...base, `m.room.member|${ALICE}`, `m.room.member|${CAROL}`, "m.room.join_rules|"].sort());
  });

  test("knock: the join rules too (rule 4.7.1 reads them)", () => {
    expect(keys(member(CAROL, CAROL, "knock"))).toEqual([...base, `m.room.member|${CAROL}`, "m.room.join_rules|"].sort());
  });

  test("leave and ban: no join rules", () => {
    expect(keys(member(ALICE, CAROL, "leave"))).toEqual([...base, `m.room.member|${ALICE}`, `m.room.member|${CAROL}`].sort());
    expect(keys(member(ALICE, CAROL, "ban"))).toEqual([...base, `m.room.member|${ALICE}`, `m.room.member|${CAROL}`].sort());
    expect(keys(member(CAROL, CAROL, "leave"))).toEqual([...base, `m.room.member|${CAROL}`].sort());
  });

  test("restricted join: the authorising user's member event", () => {
    const join = member(CAROL, CAROL, "join", { join_authorised_via_users_server: BOB });
    expect(keys(join)).toEqual([...base, `m.room.member|${CAROL}`, "m.room.join_rules|", `m.room.member|${BOB}`].sort());
    // Only for joins.
    const leave = member(CAROL, CAROL, "leave", { join_authorised_via_users_server: BOB });
    expect(keys(leave)).toEqual([...base, `m.room.member|${CAROL}`].sort());
  });

  test("third-party invite: the m.room.third_party_invite event of the token", () => {
    const invite = member(ALICE, CAROL, "invite", { third_party_invite: { display_name: "c", signed: { mxid: CAROL, token: "tok", signatures: {} } } });
    expect(keys(invite)).toEqual(
      [...base, `m.room.member|${ALICE}`, `m.room.member|${CAROL}`, "m.room.join_rules|", "m.room.third_party_invite|tok"].sort(),
    );
  });

  test("no duplicates", () => {
    const selected = authEventKeys(member(CAROL, CAROL, "join", { join_authorised_via_users_server: CAROL }));
    expect(new Set(selected.map((k) => k.join("|"))).size).toBe(selected.length);
  });
});
