// POST /createRoom (spec: Client-Server API, "Creation"; create_room.yaml): presets,
// the order of the initial events, overrides, room versions, refusals that store
// nothing, and that every event created is a valid PDU of its room version.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { contentHash, eventIdOf } from "../../src/rooms/event-format";
import { redactEvent } from "../../src/rooms/redaction";
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS, roomVersionRules } from "../../src/rooms/room-versions";
import { verifyJsonSignature } from "../../src/util/signing";
import { expectError } from "../helpers/assert";
import {
  CLIENT,
  createRoom,
  expectNothingStored,
  getRoom,
  sendMessage,
  storedPdu,
  storedRoomEvents,
  timeline,
  type User,
} from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("create-alice");
  bob = await server.register("create-bob");
  carol = await server.register("create-carol");
});
afterAll(() => server.stop());

function create(user: User, body: unknown) {
  return server.request("POST", `${CLIENT}/createRoom`, { token: user.access_token, body });
}

async function stateContent(user: User, roomId: string, type: string, stateKey = "") {
  const response = await getRoom(server, user, roomId, `state/${type}/${stateKey}`);
  expect(response.status).toBe(200);
  return response.body;
}

async function fullState(user: User, roomId: string): Promise<any[]> {
  const response = await getRoom(server, user, roomId, "state");
  expect(response.status).toBe(200);
  return response.body;
}

describe("presets", () => {
  // The spec's preset table: join_rules, history_visibility, guest_access.
  const table = {
    private_chat: ["invite", "shared", "can_join"],
    trusted_private_chat: ["invite", "shared", "can_join"],
    public_chat: ["public", "shared", "forbidden"],
  } as const;

  for (const [preset, [joinRule, historyVisibility, guestAccess]] of Object.entries(table)) {
    test(`${preset} sets join_rules ${joinRule}, history_visibility ${historyVisibility}, guest_access ${guestAccess}`, async () => {
      const roomId = await createRoom(server, alice, { preset });
      expect(await stateContent(alice, roomId, "m.room.join_rules")).toEqual({ join_rule: joinRule });
      expect(await stateContent(alice, roomId, "m.room.history_visibility")).toEqual({ history_visibility: historyVisibility });
      expect(await stateContent(alice, roomId, "m.room.guest_access")).toEqual({ guest_access: guestAccess });
    });
  }

  test("trusted_private_chat gives invitees the creator's power level (100)", async () => {
    const roomId = await createRoom(server, alice, { preset: "trusted_private_chat", invite: [bob.user_id, carol.user_id] });
    const levels = await stateContent(alice, roomId, "m.room.power_levels");
    expect(levels.users).toEqual({ [alice.user_id]: 100, [bob.user_id]: 100, [carol.user_id]: 100 });
  });

  test("private_chat does not raise invitees", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat", invite: [bob.user_id] });
    const levels = await stateContent(alice, roomId, "m.room.power_levels");
    expect(levels.users).toEqual({ [alice.user_id]: 100 });
  });

  test("without preset or visibility the room is a private chat", async () => {
    const roomId = await createRoom(server, alice, {});
    expect(await stateContent(alice, roomId, "m.room.join_rules")).toEqual({ join_rule: "invite" });
    expect(await stateContent(alice, roomId, "m.room.guest_access")).toEqual({ guest_access: "can_join" });
  });

  test("an unknown preset is refused", async () => {
    const response = await expectNothingStored(server, () => create(alice, { preset: "party_chat" }));
    expect(response.status).toBe(400);
    expect(response.body.errcode).toBeOneOf(["M_BAD_JSON", "M_INVALID_PARAM"]);
  });
});

describe("visibility", () => {
  test("public publishes the room in the directory and defaults to the public_chat preset", async () => {
    const roomId = await createRoom(server, alice, { visibility: "public", name: "Published" });
    const listed = await server.request("GET", `${CLIENT}/directory/list/room/${encodeURIComponent(roomId)}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ visibility: "public" });
    expect(await stateContent(alice, roomId, "m.room.join_rules")).toEqual({ join_rule: "public" });
    expect(await stateContent(alice, roomId, "m.room.guest_access")).toEqual({ guest_access: "forbidden" });
    const directory = await server.request("GET", `${CLIENT}/publicRooms`);
    expect(directory.body.chunk.map((chunk: any) => chunk.room_id)).toContain(roomId);
  });

  test("an explicit preset wins over the one visibility implies", async () => {
    const roomId = await createRoom(server, alice, { visibility: "public", preset: "private_chat" });
    expect(await stateContent(alice, roomId, "m.room.join_rules")).toEqual({ join_rule: "invite" });
    const listed = await server.request("GET", `${CLIENT}/directory/list/room/${encodeURIComponent(roomId)}`);
    expect(listed.body).toEqual({ visibility: "public" });
  });

  test("private (the default) is not published", async () => {
    for (const body of [{}, { visibility: "private", preset: "public_chat" }]) {
      const roomId = await createRoom(server, alice, body);
      const listed = await server.request("GET", `${CLIENT}/directory/list/room/${encodeURIComponent(roomId)}`);
      expect(listed.body).toEqual({ visibility: "private" });
      const directory = await server.request("GET", `${CLIENT}/publicRooms`);
      expect(directory.body.chunk.map((chunk: any) => chunk.room_id)).not.toContain(roomId);
    }
  });
});

describe("the initial events", () => {
  test("come in the spec's order: create, join, power levels, alias, preset, initial_state, name, topic, invites", async () => {
    const response = await create(alice, {
      preset: "private_chat",
      room_alias_name: "order-test",
      name: "Order",
      topic: "In order",
      invite: [bob.user_id, carol.user_id],
      initial_state: [
        { type: "org.example.first", state_key: "", content: { n: 1 } },
        { type: "org.example.second", state_key: "k", content: { n: 2 } },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.room_id).toStartWith("!");
    const roomId = response.body.room_id;
    const events = await timeline(server, alice, roomId);
    expect(events.map((e) => [e.type, e.state_key, e.sender])).toEqual([
      ["m.room.create", "", alice.user_id],
      ["m.room.member", alice.user_id, alice.user_id],
      ["m.room.power_levels", "", alice.user_id],
      ["m.room.canonical_alias", "", alice.user_id],
      ["m.room.join_rules", "", alice.user_id],
      ["m.room.history_visibility", "", alice.user_id],
      ["m.room.guest_access", "", alice.user_id],
      ["org.example.first", "", alice.user_id],
      ["org.example.second", "k", alice.user_id],
      ["m.room.name", "", alice.user_id],
      ["m.room.topic", "", alice.user_id],
      ["m.room.member", bob.user_id, alice.user_id],
      ["m.room.member", carol.user_id, alice.user_id],
    ]);
    expect(events[1].content.membership).toBe("join");
    expect(events[3].content).toEqual({ alias: `#order-test:${server.hs.config.server_name}` });
    expect(events[9].content).toEqual({ name: "Order" });
    expect(events[10].content.topic).toBe("In order");
    expect(events[10].content["m.topic"]).toEqual([{ mimetype: "text/plain", body: "In order" }]);
    expect(events.slice(11).map((e) => e.content.membership)).toEqual(["invite", "invite"]);
    // The events are stored in that order too, and nothing else was stored for the room.
    expect(storedRoomEvents(server, roomId).map((row) => row.eventId)).toEqual(events.map((e) => e.event_id));
  });

  test("the alias resolves to the room", async () => {
    const roomId = await createRoom(server, alice, { room_alias_name: "resolves-here" });
    const alias = `#resolves-here:${server.hs.config.server_name}`;
    const resolved = await server.request("GET", `${CLIENT}/directory/room/${encodeURIComponent(alias)}`);
    expect(resolved.status).toBe(200);
    expect(resolved.body.room_id).toBe(roomId);
  });

  test("initial_state takes the place of the preset's event of the same type", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "private_chat",
      initial_state: [
        { type: "m.room.join_rules", content: { join_rule: "public" } },
        { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
        // Overridden by `name`, which comes later.
        { type: "m.room.name", content: { name: "from initial_state" } },
      ],
      name: "from name",
    });
    const events = await timeline(server, alice, roomId);
    const types = events.map((e) => e.type);
    // One join_rules and one history_visibility event only: the preset's were not sent.
    expect(types.filter((type) => type === "m.room.join_rules")).toHaveLength(1);
    expect(types.filter((type) => type === "m.room.history_visibility")).toHaveLength(1);
    expect(types).toEqual([
      "m.room.create",
      "m.room.member",
      "m.room.power_levels",
      "m.room.guest_access",
      "m.room.join_rules",
      "m.room.history_visibility",
      "m.room.name",
      "m.room.name",
    ]);
    expect(await stateContent(alice, roomId, "m.room.join_rules")).toEqual({ join_rule: "public" });
    expect(await stateContent(alice, roomId, "m.room.history_visibility")).toEqual({ history_visibility: "world_readable" });
    expect(await stateContent(alice, roomId, "m.room.guest_access")).toEqual({ guest_access: "can_join" });
    expect(await stateContent(alice, roomId, "m.room.name")).toEqual({ name: "from name" });
  });

  test("power_level_content_override is applied over the defaults", async () => {
    const roomId = await createRoom(server, alice, {
      power_level_content_override: {
        users: { [alice.user_id]: 100, [bob.user_id]: 75 },
        events_default: 10,
        events: { "m.room.name": 20 },
      },
    });
    const levels = await stateContent(alice, roomId, "m.room.power_levels");
    expect(levels.users).toEqual({ [alice.user_id]: 100, [bob.user_id]: 75 });
    expect(levels.events_default).toBe(10);
    expect(levels.events).toEqual({ "m.room.name": 20 });
    // Keys not overridden keep their defaults.
    expect(levels.ban).toBe(50);
    expect(levels.kick).toBe(50);
    expect(levels.redact).toBe(50);
    expect(levels.state_default).toBe(50);
    expect(levels.users_default).toBe(0);
    // Only one power-levels event: the override is part of it, not a second event.
    const events = await timeline(server, alice, roomId);
    expect(events.filter((e) => e.type === "m.room.power_levels")).toHaveLength(1);
  });

  test("an override that leaves the creator unable to send the rest is 400 M_INVALID_ROOM_STATE and stores nothing", async () => {
    const response = await expectNothingStored(server, () =>
      create(alice, { name: "Too low", room_alias_name: "too-low", power_level_content_override: { users: { [bob.user_id]: 100 } } }),
    );
    expectError(response, 400, "M_INVALID_ROOM_STATE");
    // The alias, reserved before the refused event, went with the rest.
    expect(server.hs.store.rooms.aliasTarget(`#too-low:${server.hs.config.server_name}`)).toBeUndefined();
  });

  test("an initial_state event the auth rules refuse is 400 M_INVALID_ROOM_STATE and stores nothing", async () => {
    const response = await expectNothingStored(server, () =>
      create(alice, { initial_state: [{ type: "org.example.profile", state_key: bob.user_id, content: {} }] }),
    );
    expectError(response, 400, "M_INVALID_ROOM_STATE");
  });

  test("creation_content is kept in m.room.create, with room_version and creator set by the server", async () => {
    const response = await create(alice, {
      room_version: "10",
      creation_content: { "m.federate": false, type: "m.space", room_version: "1", creator: bob.user_id },
    });
    expect(response.status).toBe(200);
    const created = await stateContent(alice, response.body.room_id, "m.room.create");
    expect(created).toEqual({ "m.federate": false, type: "m.space", room_version: "10", creator: alice.user_id });
  });

  test("a client-given creator is not kept in a version 11 create event", async () => {
    const roomId = await createRoom(server, alice, { room_version: "11", creation_content: { creator: bob.user_id, "m.federate": true } });
    const created = await stateContent(alice, roomId, "m.room.create");
    expect(created).toEqual({ "m.federate": true, room_version: "11" });
  });

  test("is_direct is set on the invitees' member events only when asked", async () => {
    const direct = await createRoom(server, alice, { is_direct: true, invite: [bob.user_id], preset: "trusted_private_chat" });
    const plain = await createRoom(server, alice, { invite: [bob.user_id] });
    const invited = await stateContent(alice, direct, "m.room.member", bob.user_id);
    expect(invited.membership).toBe("invite");
    expect(invited.is_direct).toBe(true);
    // The creator's own join is not marked direct.
    expect((await stateContent(alice, direct, "m.room.member", alice.user_id)).is_direct).toBeUndefined();
    const plainInvite = await stateContent(alice, plain, "m.room.member", bob.user_id);
    expect(plainInvite.membership).toBe("invite");
    expect(plainInvite.is_direct).toBeUndefined();
  });
});

describe("room versions", () => {
  test("version 10 puts the creator in m.room.create", async () => {
    const roomId = await createRoom(server, alice, { room_version: "10" });
    expect(await stateContent(alice, roomId, "m.room.create")).toEqual({ room_version: "10", creator: alice.user_id });
    expect(server.hs.store.rooms.get(roomId)!.roomVersion).toBe("10");
  });

  test("version 11 (the default) has no creator in m.room.create", async () => {
    for (const body of [{ room_version: "11" }, {}]) {
      const roomId = await createRoom(server, alice, body);
      const created = await stateContent(alice, roomId, "m.room.create");
      expect(created).toEqual({ room_version: "11" });
      expect(server.hs.store.rooms.get(roomId)!.roomVersion).toBe("11");
    }
  });

  test("an unsupported version is 400 M_UNSUPPORTED_ROOM_VERSION and stores nothing", async () => {
    for (const version of ["9", "1", "12", "org.example.custom", ""]) {
      const response = await expectNothingStored(server, () => create(alice, { room_version: version, name: "never" }));
      expectError(response, 400, "M_UNSUPPORTED_ROOM_VERSION");
    }
  });

  test("/capabilities advertises exactly the versions createRoom accepts, and the default it uses", async () => {
    const response = await server.request("GET", `${CLIENT}/capabilities`, { token: alice.access_token });
    expect(response.status).toBe(200);
    const versions = response.body.capabilities["m.room_versions"];
    expect(Object.keys(versions.available).sort()).toEqual(Object.keys(ROOM_VERSIONS).sort());
    expect(versions.default).toBe(DEFAULT_ROOM_VERSION);
    for (const [version, stability] of Object.entries(versions.available)) {
      expect(stability).toBe("stable");
      const roomId = await createRoom(server, alice, { room_version: version });
      expect((await stateContent(alice, roomId, "m.room.create")).room_version).toBe(version);
    }
    const defaulted = await createRoom(server, alice, {});
    expect((await stateContent(alice, defaulted, "m.room.create")).room_version).toBe(versions.default);
  });
});

describe("refusals store nothing", () => {
  test("a taken alias is 400 M_ROOM_IN_USE", async () => {
    const first = await createRoom(server, alice, { room_alias_name: "taken-alias" });
    const response = await expectNothingStored(server, () => create(bob, { room_alias_name: "taken-alias", name: "second" }));
    expectError(response, 400, "M_ROOM_IN_USE");
    const alias = `#taken-alias:${server.hs.config.server_name}`;
    expect(server.hs.store.rooms.aliasTarget(alias)?.roomId).toBe(first);
  });

  test("an alias localpart with ':' or whitespace is 400", async () => {
    for (const name of ["bad:alias", "bad alias", ""]) {
      const response = await expectNothingStored(server, () => create(alice, { room_alias_name: name }));
      expect(response.status).toBe(400);
    }
  });

  test("an invitee that is not a user id is 400", async () => {
    for (const invitee of ["not-a-user", "@nocolon", "#room:example.org", ""]) {
      const response = await expectNothingStored(server, () => create(alice, { invite: [bob.user_id, invitee], name: "x" }));
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBeOneOf(["M_INVALID_PARAM", "M_BAD_JSON"]);
    }
  });

  test("an invitee that does not exist is 404 M_NOT_FOUND", async () => {
    const response = await expectNothingStored(server, () =>
      create(alice, { invite: [`@nobody-here:${server.hs.config.server_name}`], name: "x" }),
    );
    expectError(response, 404, "M_NOT_FOUND");
  });

  test("a body of the wrong shape is 400 M_BAD_JSON", async () => {
    for (const body of [{ invite: "not-a-list" }, { visibility: "everyone" }, { is_direct: "yes" }]) {
      const response = await expectNothingStored(server, () => create(alice, body));
      expectError(response, 400, "M_BAD_JSON");
    }
    // A required key missing (content of an initial_state entry).
    const missing = await expectNothingStored(server, () => create(alice, { initial_state: [{ type: "x" }] }));
    expectError(missing, 400, "M_MISSING_PARAM");
  });

  test("without an access token it is 401", async () => {
    const response = await expectNothingStored(server, () => server.request("POST", `${CLIENT}/createRoom`, { body: {} }));
    expectError(response, 401, "M_MISSING_TOKEN");
  });
});

describe("every event created is a valid PDU of its room version", () => {
  for (const version of ["10", "11"]) {
    test(`room version ${version}`, async () => {
      const roomId = await createRoom(server, alice, {
        room_version: version,
        preset: "public_chat",
        room_alias_name: `pdu-check-${version}`,
        name: "PDUs",
        topic: "valid ones",
        invite: [bob.user_id],
      });
      // Events after creation too: a join through the join rules, a message, a redaction.
      const join = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/join`, { token: carol.access_token, body: {} });
      expect(join.status).toBe(200);
      const message = await sendMessage(server, carol, roomId, "hello");
      const redaction = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(message)}/r1`, {
        token: carol.access_token,
        body: { reason: "typo" },
      });
      expect(redaction.status).toBe(200);

      const rules = roomVersionRules(version)!;
      const serverName = server.hs.config.server_name;
      const { keyId, publicKeyBase64 } = server.hs.signingKey;
      const rows = storedRoomEvents(server, roomId);
      expect(rows.length).toBe(13);

      // State as the events build it up, to know which auth events each one needs.
      const state = new Map<string, string>();
      let previous: string | undefined;
      rows.forEach((row, index) => {
        const pdu = storedPdu(server, row.eventId);
        expect(pdu.room_id).toBe(roomId);
        expect(pdu.event_id).toBeUndefined(); // room versions 3+: the id is not part of the event
        expect(pdu.origin_server_ts).toBeNumber();
        // The id is the reference hash.
        expect(eventIdOf(pdu as any, rules)).toBe(row.eventId);
        expect(row.eventId).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
        // Content hash, except for the redacted message whose content is gone (its
        // hash still covers the original, which is what the spec requires).
        if (row.eventId !== message) expect(pdu.hashes.sha256).toBe(contentHash(pdu as any));
        else expect(pdu.hashes.sha256).not.toBe(contentHash(pdu as any));
        // Signed by this server, over the redacted form (so it survives redaction).
        expect(verifyJsonSignature(redactEvent(pdu, rules), serverName, keyId, publicKeyBase64)).toBe(true);
        const tampered = redactEvent({ ...pdu, origin_server_ts: pdu.origin_server_ts + 1 }, rules);
        expect(verifyJsonSignature(tampered, serverName, keyId, publicKeyBase64)).toBe(false);
        // A chain: prev_events is the event before, depth increases by one.
        expect(pdu.prev_events).toEqual(previous ? [previous] : []);
        expect(pdu.depth).toBe(index + 1);
        // Auth events: create, power levels, the sender's member event, and for
        // member events the target's and the join rules.
        const expected = new Set<string>();
        if (pdu.type !== "m.room.create") {
          for (const key of ["m.room.create\u0000", "m.room.power_levels\u0000", `m.room.member\u0000${pdu.sender}`]) {
            if (state.has(key)) expected.add(state.get(key)!);
          }
          if (pdu.type === "m.room.member") {
            const target = state.get(`m.room.member\u0000${pdu.state_key}`);
            if (target) expected.add(target);
            if (["join", "invite", "knock"].includes(pdu.content.membership) && state.has("m.room.join_rules\u0000")) {
              expected.add(state.get("m.room.join_rules\u0000")!);
            }
          }
          expect(pdu.auth_events).toContain(state.get("m.room.create\u0000"));
        }
        expect(new Set(pdu.auth_events)).toEqual(expected);
        if (index >= 3) expect(pdu.auth_events).toContain(state.get("m.room.power_levels\u0000"));
        if (pdu.state_key !== undefined) state.set(`${pdu.type}\u0000${pdu.state_key}`, row.eventId);
        previous = row.eventId;
      });

      const first = storedPdu(server, rows[0]!.eventId);
      expect(first.type).toBe("m.room.create");
      if (version === "10") expect(first.content.creator).toBe(alice.user_id);
      else expect(first.content).not.toHaveProperty("creator");
      const redactionPdu = storedPdu(server, redaction.body.event_id);
      if (version === "10") {
        expect(redactionPdu.redacts).toBe(message);
        expect(redactionPdu.content).toEqual({ reason: "typo" });
      } else {
        expect(redactionPdu.redacts).toBeUndefined();
        expect(redactionPdu.content).toEqual({ reason: "typo", redacts: message });
      }
    });
  }
});
