// User directory search (spec: Client-Server API, "User directory"; users.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, inviteUser, joinRoom, leaveRoom, putState, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function register(server: TestServer, name: string, displayName?: string): Promise<User> {
  const user = await server.register(name);
  if (displayName !== undefined) {
    const response = await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(user.user_id)}/displayname`, {
      token: user.access_token,
      body: { displayname: displayName },
    });
    expect(response.status).toBe(200);
  }
  return user;
}

function search(server: TestServer, user: User, body: unknown) {
  return server.request("POST", `${CLIENT}/user_directory/search`, { token: user.access_token, body });
}

async function found(server: TestServer, user: User, term: string, limit?: number): Promise<string[]> {
  const response = await search(server, user, limit === undefined ? { search_term: term } : { search_term: term, limit });
  expect(response.status).toBe(200);
  return response.body.results.map((result: { user_id: string }) => result.user_id);
}

/** A private room (invite only, shared history) with `members` joined. */
async function privateRoom(owner: User, ...members: User[]): Promise<string> {
  const roomId = await createRoom(server, owner, { preset: "private_chat" });
  for (const member of members) {
    await inviteUser(server, owner, roomId, member.user_id);
    await joinRoom(server, member, roomId);
  }
  return roomId;
}

describe("who can be found", () => {
  test("users sharing a room, by localpart or display-name word prefix, case-insensitively", async () => {
    const alice = await register(server, "ud-alice", "Alice Liddell");
    const bob = await register(server, "ud-bob.builder", "Robert Tables");
    await privateRoom(alice, bob);
    expect(await found(server, alice, "ud-bob")).toEqual([bob.user_id]);
    expect(await found(server, alice, "builder")).toEqual([bob.user_id]);
    expect(await found(server, alice, "ROB")).toEqual([bob.user_id]);
    expect(await found(server, alice, "rob tab")).toEqual([bob.user_id]);
    expect(await found(server, alice, `@ud-bob.b`)).toEqual([bob.user_id]);
    // Inside a word does not match: prefixes of words only.
    expect(await found(server, alice, "obert")).toEqual([]);
    expect(await found(server, alice, "rob xyz")).toEqual([]);
    const response = await search(server, alice, { search_term: "robert" });
    expect(response.body).toEqual({ limited: false, results: [{ user_id: bob.user_id, display_name: "Robert Tables" }] });
  });

  test("users in public rooms (join rule public, or world_readable history) are found by anyone", async () => {
    const owner = await register(server, "ud-pubowner", "Pub Owner");
    const member = await register(server, "ud-pubmember", "Publican Member");
    const reader = await register(server, "ud-reader", "Reader Worldwide");
    const stranger = await register(server, "ud-stranger");
    const publicRoom = await createRoom(server, owner, { preset: "public_chat" });
    await joinRoom(server, member, publicRoom);
    const readable = await createRoom(server, owner, { preset: "private_chat" });
    await putState(server, owner, readable, "m.room.history_visibility", "", { history_visibility: "world_readable" });
    await inviteUser(server, owner, readable, reader.user_id);
    await joinRoom(server, reader, readable);
    expect(await found(server, stranger, "publican")).toEqual([member.user_id]);
    expect(await found(server, stranger, "reader")).toEqual([reader.user_id]);
  });

  test("no leak: users only in private rooms are not found by outsiders, nor after the shared room is left", async () => {
    const hidden = await register(server, "ud-hidden", "Hidden Hermit");
    const friend = await register(server, "ud-friend", "Friend Hermit");
    const outsider = await register(server, "ud-outsider");
    const shared = await privateRoom(hidden, friend);
    expect(await found(server, outsider, "hermit")).toEqual([]);
    expect(await found(server, outsider, "ud-hidden")).toEqual([]);
    expect((await found(server, friend, "hermit")).sort()).toEqual([friend.user_id, hidden.user_id].sort());
    await leaveRoom(server, friend, shared);
    expect(await found(server, friend, "hidden")).toEqual([]);
    // An invitation is not a shared room.
    const invited = await register(server, "ud-invitee", "Hermit Invitee");
    await inviteUser(server, hidden, shared, invited.user_id);
    expect(await found(server, invited, "hidden")).toEqual([]);
    expect(await found(server, hidden, "invitee")).toEqual([]);
  });

  test("a room that stops being public stops showing its members", async () => {
    const owner = await register(server, "ud-closer", "Closer Owner");
    const member = await register(server, "ud-closed", "Zanzibar Closed");
    const outsider = await register(server, "ud-closeout");
    const roomId = await createRoom(server, owner, { preset: "public_chat" });
    await joinRoom(server, member, roomId);
    expect(await found(server, outsider, "zanzibar")).toEqual([member.user_id]);
    await putState(server, owner, roomId, "m.room.join_rules", "", { join_rule: "invite" });
    expect(await found(server, outsider, "zanzibar")).toEqual([]);
  });

  test("deactivated users are not found", async () => {
    const owner = await register(server, "ud-deact-owner", "Owner Quokka");
    const gone = await register(server, "ud-deact-gone", "Gone Quokka");
    await privateRoom(owner, gone);
    expect(await found(server, owner, "quokka")).toContain(gone.user_id);
    server.hs.store.users.setDeactivated(gone.user_id, true);
    expect(await found(server, owner, "quokka")).toEqual([owner.user_id]);
  });

  test("display name changes are searchable at once", async () => {
    const owner = await register(server, "ud-rename-owner");
    const renamed = await register(server, "ud-rename", "Old Wombat");
    await privateRoom(owner, renamed);
    expect(await found(server, owner, "wombat")).toEqual([renamed.user_id]);
    await register(server, "ud-rename-unused");
    await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(renamed.user_id)}/displayname`, { token: renamed.access_token, body: { displayname: "New Platypus" } });
    expect(await found(server, owner, "wombat")).toEqual([]);
    expect(await found(server, owner, "platypus")).toEqual([renamed.user_id]);
  });

  test("accents and case are folded: 'zoe' finds Zoë, 'ÉMILE' finds Émile", async () => {
    const owner = await register(server, "ud-accent-owner");
    const zoe = await register(server, "ud-zoe", "Zoë Ångström");
    const emile = await register(server, "ud-emile", "Émile Zola");
    await privateRoom(owner, zoe, emile);
    expect(await found(server, owner, "zoe")).toEqual([zoe.user_id]);
    expect(await found(server, owner, "angstrom")).toEqual([zoe.user_id]);
    expect(await found(server, owner, "ÉMILE")).toEqual([emile.user_id]);
    expect(await found(server, owner, "émi")).toEqual([emile.user_id]);
  });
});

describe("order, limit and limited", () => {
  test("users sharing a room come first, then by display name; limit and limited", async () => {
    const me = await register(server, "ud-order-me");
    const shared1 = await register(server, "ud-order-s1", "Ocelot Zed");
    const shared2 = await register(server, "ud-order-s2", "Ocelot Alpha");
    const publicOnly = await register(server, "ud-order-p", "Ocelot Aaron");
    await privateRoom(me, shared1, shared2);
    const publicRoom = await createRoom(server, publicOnly, { preset: "public_chat" });
    expect(publicRoom).toStartWith("!");
    expect(await found(server, me, "ocelot")).toEqual([shared2.user_id, shared1.user_id, publicOnly.user_id]);
    const page = await search(server, me, { search_term: "ocelot", limit: 2 });
    expect(page.body.limited).toBe(true);
    expect(page.body.results.map((r: any) => r.user_id)).toEqual([shared2.user_id, shared1.user_id]);
    const zero = await search(server, me, { search_term: "ocelot", limit: 0 });
    expect(zero.body).toEqual({ limited: true, results: [] });
  });

  test("avatar_url is included when set", async () => {
    const me = await register(server, "ud-avatar-me");
    const pictured = await register(server, "ud-avatar", "Pictured Person");
    await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(pictured.user_id)}/avatar_url`, { token: pictured.access_token, body: { avatar_url: "mxc://example.org/abc" } });
    await privateRoom(me, pictured);
    const response = await search(server, me, { search_term: "pictured" });
    expect(response.body.results).toEqual([{ user_id: pictured.user_id, display_name: "Pictured Person", avatar_url: "mxc://example.org/abc" }]);
  });
});

describe("bad input", () => {
  test("missing or mistyped fields: 400; no login: 401", async () => {
    const me = await register(server, "ud-bad");
    expectError(await search(server, me, {}), 400, "M_MISSING_PARAM");
    expectError(await search(server, me, { search_term: 5 }), 400, "M_BAD_JSON");
    expectError(await search(server, me, { search_term: "a", limit: -1 }), 400, "M_BAD_JSON");
    expectError(await search(server, me, { search_term: "a", limit: "ten" }), 400, "M_BAD_JSON");
    expectError(await server.request("POST", `${CLIENT}/user_directory/search`, { body: { search_term: "a" } }), 401, "M_MISSING_TOKEN");
  });

  test("a term without letters or digits, and LIKE wildcards, match nobody", async () => {
    const me = await register(server, "ud-wild", "Wild Card");
    await privateRoom(me);
    for (const term of ["", "  ", "%", "_", "@", "\\"]) {
      const response = await search(server, me, { search_term: term });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ limited: false, results: [] });
    }
  });
});

describe("user_directory.search_all_users", () => {
  test("finds every local user, sharing a room or not; sharing still sorts first", async () => {
    const everyone = await startTestServer({ user_directory: { search_all_users: true } });
    try {
      const me = await register(everyone, "all-me");
      const loner = await register(everyone, "all-loner", "Lonely Narwhal");
      const mate = await register(everyone, "all-mate", "Mate Narwhal");
      const roomId = await createRoom(everyone, me, { preset: "private_chat" });
      await inviteUser(everyone, me, roomId, mate.user_id);
      await joinRoom(everyone, mate, roomId);
      expect(await found(everyone, me, "narwhal")).toEqual([mate.user_id, loner.user_id]);
    } finally {
      await everyone.stop();
    }
  });
});

describe("scale", () => {
  test("thousands of users: a search stays fast", async () => {
    const me = await register(server, "ud-scale-me");
    const { users } = server.hs.store;
    server.hs.store.transaction(() => {
      for (let i = 0; i < 5000; i++) {
        users.insert({ userId: `@scale-${i}:${server.hs.config.server_name}`, passwordHash: null, displayName: `Scale Person ${i}`, createdTs: 0 });
      }
    });
    await server.hs.store.settled();
    const started = performance.now();
    for (let i = 0; i < 20; i++) await search(server, me, { search_term: "scale" });
    const perSearch = (performance.now() - started) / 20;
    // Generous for a shared CI machine; a full scan plus joins takes a few ms here.
    expect(perSearch).toBeLessThan(100);
  });
});
