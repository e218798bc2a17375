// POST /_matrix/client/v3/search (spec: Client-Server API, "Server Side Search"):
// full text over message bodies, room names and topics; keys, filter, order,
// context, state, groupings, pagination; and no hit the user may not see.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, inviteUser, joinRoom, leaveRoom, newTxnId, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { MIGRATIONS } from "../../src/store/migrations";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("srch-alice");
  bob = await server.register("srch-bob");
  carol = await server.register("srch-carol");
});
afterAll(() => server.stop());

function search(user: User, criteria: Record<string, unknown>, nextBatch?: string) {
  const path = `${CLIENT}/search${nextBatch ? `?next_batch=${encodeURIComponent(nextBatch)}` : ""}`;
  return server.request("POST", path, { token: user.access_token, body: { search_categories: { room_events: criteria } } });
}

async function hits(user: User, criteria: Record<string, unknown>): Promise<string[]> {
  const response = await search(user, criteria);
  if (response.status !== 200) throw new Error(`search: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.search_categories.room_events.results.map((result: any) => result.result.event_id);
}

/** A unique word per test, so tests do not see each other's messages. */
let wordCounter = 0;
const uniqueWord = () => `zq${Date.now().toString(36)}x${++wordCounter}`;

describe("POST /search", () => {
  test("finds messages by word, prefix and several words, with rank, count and highlights", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice);
    const one = await sendMessage(server, alice, roomId, `the ${word} martians are coming`);
    const two = await sendMessage(server, alice, roomId, `${word} martians and men, martians again`);
    await sendMessage(server, alice, roomId, `nothing to see`);

    const response = await search(alice, { search_term: `${word} Martians` });
    expect(response.status).toBe(200);
    const events = response.body.search_categories.room_events;
    expect(events.count).toBe(2);
    expect(events.highlights).toEqual([word, "martians"]);
    expect(events.results.map((r: any) => r.result.event_id).sort()).toEqual([one, two].sort());
    for (const result of events.results) {
      expect(result.rank).toBeNumber();
      expect(result.result.room_id).toBe(roomId);
      expect(result.result.content.body).toContain(word);
    }
    // The message with "martians" twice ranks higher.
    expect(events.results[0].result.event_id).toBe(two);
    expect(await hits(alice, { search_term: word.slice(0, -1) })).toHaveLength(2);
    expect(await hits(alice, { search_term: `${word} venusians` })).toEqual([]);
    // FTS syntax in the term is taken literally.
    expect((await search(alice, { search_term: `${word}" OR "x` })).status).toBe(200);
    expect(await hits(alice, { search_term: "***" })).toEqual([]);
    // Words shorter than three characters match whole words only.
    expect(await hits(alice, { search_term: `${word} ma` })).toEqual([]);
    expect(await hits(alice, { search_term: `${word} mar` })).toHaveLength(2);
  });

  test("keys: room names and topics, and only the keys asked for", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice);
    const name = await putState(server, alice, roomId, "m.room.name", "", { name: `${word} room` });
    const topic = await putState(server, alice, roomId, "m.room.topic", "", { topic: `all about ${word}` });
    const body = await sendMessage(server, alice, roomId, `${word} in a message`);
    expect((await hits(alice, { search_term: word })).sort()).toEqual([name, topic, body].sort());
    expect(await hits(alice, { search_term: word, keys: ["content.name"] })).toEqual([name]);
    expect(await hits(alice, { search_term: word, keys: ["content.topic"] })).toEqual([topic]);
    expect((await hits(alice, { search_term: word, keys: ["content.body", "content.topic"] })).sort()).toEqual([topic, body].sort());
  });

  test("order_by recent pages newest first with next_batch; rank pages too", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(await sendMessage(server, alice, roomId, `${word} number ${i}`));
    for (const order of ["recent", "rank"]) {
      const seen: string[] = [];
      let next: string | undefined;
      for (let page = 0; page < 10; page++) {
        const response = await search(alice, { search_term: word, order_by: order, filter: { limit: 2 } }, next);
        expect(response.status).toBe(200);
        const events = response.body.search_categories.room_events;
        expect(events.results.length).toBeLessThanOrEqual(2);
        seen.push(...events.results.map((r: any) => r.result.event_id));
        next = events.next_batch;
        if (!next) break;
      }
      if (order === "recent") expect(seen).toEqual([...sent].reverse());
      else expect([...seen].sort()).toEqual([...sent].sort());
    }
  });

  test("filter: rooms, not_rooms, senders, not_senders, types", async () => {
    const word = uniqueWord();
    const first = await createRoom(server, alice, { preset: "public_chat" });
    const second = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, first);
    const fromAlice = await sendMessage(server, alice, first, `${word} alice`);
    const fromBob = await sendMessage(server, bob, first, `${word} bob`);
    const inSecond = await sendMessage(server, alice, second, `${word} second`);
    const notice = await sendMessage(server, alice, second, { msgtype: "m.notice", body: `${word} notice` });
    expect((await hits(alice, { search_term: word, filter: { rooms: [first] } })).sort()).toEqual([fromAlice, fromBob].sort());
    expect((await hits(alice, { search_term: word, filter: { not_rooms: [first] } })).sort()).toEqual([inSecond, notice].sort());
    expect(await hits(alice, { search_term: word, filter: { senders: [bob.user_id] } })).toEqual([fromBob]);
    expect((await hits(alice, { search_term: word, filter: { not_senders: [alice.user_id] } }))).toEqual([fromBob]);
    expect(await hits(alice, { search_term: word, filter: { types: ["m.room.name"] } })).toEqual([]);
    expect(await hits(alice, { search_term: word, filter: { rooms: [first], limit: 1 } })).toHaveLength(1);
  });

  test("event_context with profiles, include_state and groupings", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await putState(server, bob, roomId, "m.room.member", bob.user_id, { membership: "join", displayname: "Bobby" });
    const before = await sendMessage(server, alice, roomId, "before");
    const hit = await sendMessage(server, bob, roomId, `${word} here`);
    const after = await sendMessage(server, alice, roomId, "after");
    const response = await search(alice, {
      search_term: word,
      event_context: { before_limit: 1, after_limit: 1, include_profile: true },
      include_state: true,
      groupings: { group_by: [{ key: "room_id" }, { key: "sender" }] },
    });
    expect(response.status).toBe(200);
    const events = response.body.search_categories.room_events;
    const context = events.results[0].context;
    expect(context.events_before.map((e: any) => e.event_id)).toEqual([before]);
    expect(context.events_after.map((e: any) => e.event_id)).toEqual([after]);
    expect(context.start).toBeString();
    expect(context.end).toBeString();
    expect(context.profile_info[bob.user_id].displayname).toBe("Bobby");
    expect(events.state[roomId].some((e: any) => e.type === "m.room.create")).toBe(true);
    expect(events.groups.room_id[roomId].results).toEqual([hit]);
    expect(events.groups.room_id[roomId].order).toBe(1);
    expect(events.groups.sender[bob.user_id].results).toEqual([hit]);
  });

  test("hits carry bundled aggregations", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice);
    const root = await sendMessage(server, alice, roomId, `${word} root`);
    await sendMessage(server, alice, roomId, { msgtype: "m.text", body: "reply", "m.relates_to": { rel_type: "m.thread", event_id: root } });
    const response = await search(alice, { search_term: word });
    expect(response.body.search_categories.room_events.results[0].result.unsigned["m.relations"]["m.thread"].count).toBe(1);
  });

  test("no hit from rooms the user is not in, from before they could see, or after they left", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "joined" });
    // More hidden matches than one batch of the search examines.
    for (let i = 0; i < 25; i++) await sendMessage(server, alice, roomId, `${word} secret before carol ${i}`);
    // Not in the room at all: nothing.
    const outsider = await search(carol, { search_term: word });
    expect(outsider.body.search_categories.room_events.results).toEqual([]);
    expect(outsider.body.search_categories.room_events.count).toBe(0);
    // Naming the room in the filter does not help.
    expect(await hits(carol, { search_term: word, filter: { rooms: [roomId] } })).toEqual([]);

    await inviteUser(server, alice, roomId, carol.user_id);
    await joinRoom(server, carol, roomId);
    const visible = await sendMessage(server, alice, roomId, `${word} after carol joined`);
    const response = await search(carol, { search_term: word, event_context: { before_limit: 5, after_limit: 0 } });
    const events = response.body.search_categories.room_events;
    expect(events.results.map((r: any) => r.result.event_id)).toEqual([visible]);
    expect(events.count).toBe(1);
    // Context does not leak the earlier events either.
    expect(events.results[0].context.events_before.every((e: any) => e.content.body === undefined || !e.content.body.includes("secret"))).toBe(true);

    // Shared history made visible later: still only what the rules allow, event by event.
    await leaveRoom(server, carol, roomId);
    await sendMessage(server, alice, roomId, `${word} after carol left`);
    expect(await hits(carol, { search_term: word })).toEqual([]);
    expect(await hits(alice, { search_term: word, filter: { limit: 50 } })).toHaveLength(27);
  });

  test("a redacted event is no longer found", async () => {
    const word = uniqueWord();
    const roomId = await createRoom(server, alice);
    const eventId = await sendMessage(server, alice, roomId, `${word} regrettable`);
    expect(await hits(alice, { search_term: word })).toEqual([eventId]);
    const redaction = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/${newTxnId()}`, { token: alice.access_token, body: {} });
    expect(redaction.status).toBe(200);
    expect(await hits(alice, { search_term: word })).toEqual([]);
    expect(await hits(alice, { search_term: "regrettable" })).toEqual([]);
  });

  test("bad input is a Matrix error", async () => {
    const post = (body: unknown, query = "") => server.request("POST", `${CLIENT}/search${query}`, { token: alice.access_token, body });
    expectError(await post({}), 400, "M_MISSING_PARAM");
    expectError(await post({ search_categories: { room_events: {} } }), 400, "M_MISSING_PARAM");
    expectError(await post({ search_categories: { room_events: { search_term: 5 } } }), 400, "M_BAD_JSON");
    expectError(await post({ search_categories: { room_events: { search_term: "x", order_by: "size" } } }), 400, "M_BAD_JSON");
    expectError(await post({ search_categories: { room_events: { search_term: "x", keys: ["content.msgtype"] } } }), 400, "M_BAD_JSON");
    expectError(await post({ search_categories: { room_events: { search_term: "x", filter: { rooms: "!a:b" } } } }), 400, "M_INVALID_PARAM");
    expectError(await post({ search_categories: { room_events: { search_term: "x" } } }, "?next_batch=bogus"), 400, "M_INVALID_PARAM");
    expectError(await post({ search_categories: { room_events: { search_term: "x", order_by: "recent" } } }, "?next_batch=rank:3"), 400, "M_INVALID_PARAM");
    expectError(await post("{not json"), 400, "M_NOT_JSON");
    const unauthenticated = await server.request("POST", `${CLIENT}/search`, { body: { search_categories: {} } });
    expectError(unauthenticated, 401, "M_MISSING_TOKEN");
    // No category asked: nothing searched.
    const empty = await post({ search_categories: {} });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ search_categories: {} });
  });
});

describe("migration", () => {
  test("events stored before the search migration are indexed by it, and their relations recorded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "search-migration-"));
    try {
      const before = await startTestServer({ ephemeral: false, data_dir: dir });
      const user = await before.register("srch-migrated");
      const roomId = await createRoom(before, user);
      const word = uniqueWord();
      const root = await sendMessage(before, user, roomId, `${word} stored early`);
      await sendMessage(before, user, roomId, { msgtype: "m.text", body: "reply", "m.relates_to": { rel_type: "m.thread", event_id: root } });
      await before.stop();

      // Back to the schema before the migration: no index, no relations.
      const db = new Database(join(dir, "homeserver.db"));
      db.run("DROP TABLE event_search");
      db.run("DELETE FROM event_relations");
      const searchIndex = MIGRATIONS.findIndex((migration) => migration.name.endsWith("_search"));
      // Later migrations run again too: drop what they created, put back what they dropped.
      for (const later of MIGRATIONS.slice(searchIndex + 1)) {
        for (const [, table] of later.sql.matchAll(/CREATE TABLE `([^`]+)`/g)) db.run(`DROP TABLE IF EXISTS "${table}"`);
        for (const [, table, column] of later.sql.matchAll(/ALTER TABLE `([^`]+)` DROP COLUMN `([^`]+)`/g)) db.run(`ALTER TABLE "${table}" ADD COLUMN "${column}"`);
      }
      db.run(`PRAGMA user_version = ${searchIndex}`);
      db.close();

      const after = await startTestServer({ ephemeral: false, data_dir: dir });
      try {
        const response = await after.request("POST", `${CLIENT}/search`, {
          token: user.access_token,
          body: { search_categories: { room_events: { search_term: word } } },
        });
        const results = response.body.search_categories.room_events.results;
        expect(results.map((r: any) => r.result.event_id)).toEqual([root]);
        expect(results[0].result.unsigned["m.relations"]["m.thread"].count).toBe(1);
      } finally {
        await after.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
