// Room aliases, the published room directory and profiles (spec: Client-Server API,
// "Room aliases", "Published room directory", "Profiles"; directory.yaml,
// list_public_rooms.yaml, profile.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import {
  CLIENT,
  createRoom,
  expectNothingStored,
  getRoom,
  inviteUser,
  joinRoom,
  leaveRoom,
  putState,
  storedRoomEvents,
  type User,
} from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;
let admin: User;
let serverName: string;

beforeAll(async () => {
  server = await startTestServer();
  serverName = server.hs.config.server_name;
  alice = await server.register("dir-alice");
  bob = await server.register("dir-bob");
  carol = await server.register("dir-carol");
  admin = await server.register("dir-admin");
  server.hs.store.users.setAdmin(admin.user_id, true);
});
afterAll(() => server.stop());

const aliasPath = (alias: string) => `${CLIENT}/directory/room/${encodeURIComponent(alias)}`;
const listPath = (roomId: string) => `${CLIENT}/directory/list/room/${encodeURIComponent(roomId)}`;

function putAlias(user: User, alias: string, roomId: string) {
  return server.request("PUT", aliasPath(alias), { token: user.access_token, body: { room_id: roomId } });
}

function deleteAlias(user: User, alias: string) {
  return server.request("DELETE", aliasPath(alias), { token: user.access_token });
}

describe("room aliases: /directory/room/{roomAlias}", () => {
  test("PUT maps an alias, GET resolves it (no login needed), DELETE removes it", async () => {
    const roomId = await createRoom(server, alice, {});
    const alias = `#lobby:${serverName}`;
    const created = await putAlias(alice, alias, roomId);
    expect(created.status).toBe(200);
    expect(created.body).toEqual({});
    const resolved = await server.request("GET", aliasPath(alias));
    expect(resolved.status).toBe(200);
    expect(resolved.body).toEqual({ room_id: roomId, servers: [serverName] });
    const deleted = await deleteAlias(alice, alias);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    expectError(await server.request("GET", aliasPath(alias)), 404, "M_NOT_FOUND");
    expect(server.hs.store.rooms.aliasTarget(alias)).toBeUndefined();
  });

  test("an alias already taken is 409 and keeps pointing where it did", async () => {
    const first = await createRoom(server, alice, {});
    const second = await createRoom(server, alice, {});
    const alias = `#taken:${serverName}`;
    expect((await putAlias(alice, alias, first)).status).toBe(200);
    expectError(await putAlias(alice, alias, second), 409, "M_UNKNOWN");
    expectError(await putAlias(alice, alias, first), 409, "M_UNKNOWN");
    expect((await server.request("GET", aliasPath(alias))).body.room_id).toBe(first);
  });

  test("an unknown alias is 404 for GET and DELETE", async () => {
    expectError(await server.request("GET", aliasPath(`#nowhere:${serverName}`)), 404, "M_NOT_FOUND");
    expectError(await deleteAlias(alice, `#nowhere:${serverName}`), 404, "M_NOT_FOUND");
  });

  test("an invalid alias, or one of another server, is 400 M_INVALID_PARAM", async () => {
    const roomId = await createRoom(server, alice, {});
    for (const alias of ["lobby", `lobby:${serverName}`, "#nocolon", `#two words:${serverName}`, "!room:example.org"]) {
      expectError(await putAlias(alice, alias, roomId), 400, "M_INVALID_PARAM");
      expectError(await server.request("GET", aliasPath(alias)), 400, "M_INVALID_PARAM");
    }
    expectError(await putAlias(alice, "#elsewhere:example.org", roomId), 400, "M_INVALID_PARAM");
    expect(server.hs.store.rooms.aliasesOf(roomId)).toEqual([]);
  });

  test("an unknown room is 404; a room id that is not one is 400", async () => {
    expectError(await putAlias(alice, `#ghost-room:${serverName}`, `!nope:${serverName}`), 404, "M_NOT_FOUND");
    expect((await putAlias(alice, `#ghost-room:${serverName}`, "not-a-room")).status).toBe(400);
    expect(server.hs.store.rooms.aliasTarget(`#ghost-room:${serverName}`)).toBeUndefined();
  });

  test("only members of the room (or admins) may point an alias at it", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    expectError(await putAlias(carol, `#squat:${serverName}`, roomId), 403, "M_FORBIDDEN");
    expect(server.hs.store.rooms.aliasTarget(`#squat:${serverName}`)).toBeUndefined();
    expect((await putAlias(admin, `#by-admin:${serverName}`, roomId)).status).toBe(200);
  });

  test("deletion: the alias's creator, a member with the canonical-alias level, or an admin; nobody else", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await joinRoom(server, carol, roomId);
    const bobs = `#bobs:${serverName}`;
    const alices = `#alices:${serverName}`;
    const third = `#third:${serverName}`;
    expect((await putAlias(bob, bobs, roomId)).status).toBe(200);
    expect((await putAlias(alice, alices, roomId)).status).toBe(200);
    expect((await putAlias(alice, third, roomId)).status).toBe(200);

    // carol (level 0) did not create bob's alias.
    expectError(await deleteAlias(carol, bobs), 403, "M_FORBIDDEN");
    // bob (level 0) may not delete alice's.
    expectError(await deleteAlias(bob, alices), 403, "M_FORBIDDEN");
    expect(server.hs.store.rooms.aliasesOf(roomId).sort()).toEqual([alices, bobs, third].sort());
    // bob created his own; alice (100) may delete anyone's in her room; admins any.
    expect((await deleteAlias(bob, bobs)).status).toBe(200);
    expect((await deleteAlias(alice, alices)).status).toBe(200);
    expect((await deleteAlias(admin, third)).status).toBe(200);
    expect(server.hs.store.rooms.aliasesOf(roomId)).toEqual([]);
  });
});

describe("GET /rooms/{roomId}/aliases", () => {
  test("members see the room's local aliases; others get 403 unless the room is world_readable", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat", room_alias_name: "listed-main" });
    expect((await putAlias(alice, `#listed-extra:${serverName}`, roomId)).status).toBe(200);
    const response = await getRoom(server, alice, roomId, "aliases");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ aliases: [`#listed-extra:${serverName}`, `#listed-main:${serverName}`] });
    expectError(await getRoom(server, carol, roomId, "aliases"), 403, "M_FORBIDDEN");

    const open = await createRoom(server, alice, {
      room_alias_name: "listed-open",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }],
    });
    const openList = await getRoom(server, carol, open, "aliases");
    expect(openList.status).toBe(200);
    expect(openList.body).toEqual({ aliases: [`#listed-open:${serverName}`] });
  });
});

describe("m.room.canonical_alias validation", () => {
  test("aliases must exist and point to this room: 400 M_BAD_ALIAS otherwise", async () => {
    const roomId = await createRoom(server, alice, { room_alias_name: "canon-here" });
    const other = await createRoom(server, alice, { room_alias_name: "canon-elsewhere" });
    expect(other).not.toBe(roomId);
    const here = `#canon-here:${serverName}`;
    const put = (content: Record<string, unknown>) =>
      server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/state/m.room.canonical_alias`, { token: alice.access_token, body: content });

    for (const content of [
      { alias: `#canon-elsewhere:${serverName}` },
      { alias: `#canon-missing:${serverName}` },
      { alias: here, alt_aliases: [`#canon-elsewhere:${serverName}`] },
    ]) {
      expectError(await expectNothingStored(server, () => put(content)), 400, "M_BAD_ALIAS");
    }
    for (const content of [{ alias: "not an alias" }, { alt_aliases: "#canon-here" }, { alt_aliases: [42] }]) {
      expectError(await expectNothingStored(server, () => put(content)), 400, "M_INVALID_PARAM");
    }
    expect((await getRoom(server, alice, roomId, "state/m.room.canonical_alias")).body).toEqual({ alias: here });

    expect((await putAlias(alice, `#canon-alt:${serverName}`, roomId)).status).toBe(200);
    const ok = await put({ alias: here, alt_aliases: [`#canon-alt:${serverName}`] });
    expect(ok.status).toBe(200);
    expect((await getRoom(server, alice, roomId, "state/m.room.canonical_alias")).body.alt_aliases).toEqual([`#canon-alt:${serverName}`]);
    // Removing the alias is always possible.
    expect((await put({})).status).toBe(200);
  });

  test("aliases already in the event are not checked again (one deleted from the directory can stay)", async () => {
    const roomId = await createRoom(server, alice, { room_alias_name: "canon-kept" });
    const kept = `#canon-kept:${serverName}`;
    expect((await deleteAlias(alice, kept)).status).toBe(200);
    expect((await putAlias(alice, `#canon-new:${serverName}`, roomId)).status).toBe(200);
    const put = (content: Record<string, unknown>) =>
      server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/state/m.room.canonical_alias/`, { token: alice.access_token, body: content });
    const response = await put({ alias: kept, alt_aliases: [`#canon-new:${serverName}`] });
    expect(response.status).toBe(200);
    // A new alias that does not exist is still refused.
    expectError(await put({ alias: kept, alt_aliases: [`#canon-new:${serverName}`, `#canon-unknown:${serverName}`] }), 400, "M_BAD_ALIAS");
  });
});

describe("directory visibility: /directory/list/room/{roomId}", () => {
  test("GET needs no login; PUT by a member with the power publishes and unpublishes", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    expect((await server.request("GET", listPath(roomId))).body).toEqual({ visibility: "private" });
    const published = await server.request("PUT", listPath(roomId), { token: alice.access_token, body: { visibility: "public" } });
    expect(published.status).toBe(200);
    expect((await server.request("GET", listPath(roomId))).body).toEqual({ visibility: "public" });
    expect((await server.request("GET", `${CLIENT}/publicRooms`)).body.chunk.map((c: any) => c.room_id)).toContain(roomId);

    const unpublished = await server.request("PUT", listPath(roomId), { token: alice.access_token, body: { visibility: "private" } });
    expect(unpublished.status).toBe(200);
    expect((await server.request("GET", listPath(roomId))).body).toEqual({ visibility: "private" });
    expect((await server.request("GET", `${CLIENT}/publicRooms`)).body.chunk.map((c: any) => c.room_id)).not.toContain(roomId);
  });

  test("members without the power, non-members and bad values are refused", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    expectError(await server.request("PUT", listPath(roomId), { token: bob.access_token, body: { visibility: "public" } }), 403, "M_FORBIDDEN");
    expectError(await server.request("PUT", listPath(roomId), { token: carol.access_token, body: { visibility: "public" } }), 403, "M_FORBIDDEN");
    expect((await server.request("PUT", listPath(roomId), { token: alice.access_token, body: { visibility: "everyone" } })).status).toBe(400);
    expect((await server.request("GET", listPath(roomId))).body).toEqual({ visibility: "private" });
  });

  test("an unknown room is 404", async () => {
    const unknown = `!unknown:${serverName}`;
    expectError(await server.request("GET", listPath(unknown)), 404, "M_NOT_FOUND");
    expectError(await server.request("PUT", listPath(unknown), { token: alice.access_token, body: { visibility: "public" } }), 404, "M_NOT_FOUND");
  });
});

describe("GET and POST /publicRooms", () => {
  let directory: TestServer;
  const rooms: Record<string, string> = {};

  beforeAll(async () => {
    // A server of its own, so no other test's rooms are listed.
    directory = await startTestServer();
    const owner = await directory.register("pub-owner");
    const members = [await directory.register("pub-m1"), await directory.register("pub-m2"), await directory.register("pub-m3")];
    const make = async (key: string, body: Record<string, unknown>, joiners: number) => {
      const response = await directory.request("POST", `${CLIENT}/createRoom`, { token: owner.access_token, body: { visibility: "public", ...body } });
      expect(response.status).toBe(200);
      rooms[key] = response.body.room_id;
      for (const member of members.slice(0, joiners)) {
        expect((await directory.request("POST", `${CLIENT}/join/${encodeURIComponent(rooms[key]!)}`, { token: member.access_token, body: {} })).status).toBe(200);
      }
    };
    await make("cats", { name: "Cat Lovers", topic: "Purring", room_alias_name: "cats" }, 3);
    await make("dogs", { name: "Dog Walkers", topic: "Barking about CATS sometimes" }, 2);
    await make("fish", { name: "Aquarium", room_alias_name: "fishtank" }, 1);
    await make(
      "open",
      {
        name: "Open Book",
        initial_state: [
          { type: "m.room.history_visibility", content: { history_visibility: "world_readable" } },
          { type: "m.room.guest_access", content: { guest_access: "can_join" } },
          { type: "m.room.avatar", content: { url: "mxc://localhost/book" } },
        ],
      },
      0,
    );
    await make("space", { name: "A space", creation_content: { type: "m.space" } }, 0);
    // Not published.
    const hidden = await directory.request("POST", `${CLIENT}/createRoom`, { token: owner.access_token, body: { preset: "public_chat", name: "Hidden cats" } });
    rooms.hidden = hidden.body.room_id;
  });
  afterAll(() => directory.stop());

  test("lists the published rooms with their details, most members first", async () => {
    const response = await directory.request("GET", `${CLIENT}/publicRooms`);
    expect(response.status).toBe(200);
    expect(response.body.total_room_count_estimate).toBe(5);
    const chunk = response.body.chunk as any[];
    expect(chunk.map((c) => c.room_id)).not.toContain(rooms.hidden);
    expect(chunk.slice(0, 3).map((c) => c.room_id)).toEqual([rooms.cats, rooms.dogs, rooms.fish]);
    expect(new Set(chunk.map((c) => c.room_id))).toEqual(new Set([rooms.cats, rooms.dogs, rooms.fish, rooms.open, rooms.space]));
    const byId = Object.fromEntries(chunk.map((c) => [c.room_id, c]));
    expect(byId[rooms.cats!]).toEqual({
      room_id: rooms.cats,
      num_joined_members: 4,
      name: "Cat Lovers",
      topic: "Purring",
      canonical_alias: `#cats:${directory.hs.config.server_name}`,
      join_rule: "public",
      world_readable: false,
      guest_can_join: false,
    });
    expect(byId[rooms.dogs!].num_joined_members).toBe(3);
    expect(byId[rooms.fish!].num_joined_members).toBe(2);
    expect(byId[rooms.open!]).toMatchObject({ num_joined_members: 1, world_readable: true, guest_can_join: true, avatar_url: "mxc://localhost/book" });
    expect(byId[rooms.space!].room_type).toBe("m.space");
    expect(response.body.next_batch).toBeUndefined();
  });

  test("limit and since page through every room once", async () => {
    const seen: string[] = [];
    let since: string | undefined;
    let pages = 0;
    for (;;) {
      const query = since ? `?limit=2&since=${encodeURIComponent(since)}` : "?limit=2";
      const response = await directory.request("GET", `${CLIENT}/publicRooms${query}`);
      expect(response.status).toBe(200);
      expect(response.body.chunk.length).toBeLessThanOrEqual(2);
      expect(response.body.total_room_count_estimate).toBe(5);
      if (pages > 0) expect(response.body.prev_batch).toBeString();
      else expect(response.body.prev_batch).toBeUndefined();
      seen.push(...response.body.chunk.map((c: any) => c.room_id));
      pages++;
      if (!response.body.next_batch) break;
      since = response.body.next_batch;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    // The same through POST.
    const posted = await directory.request("POST", `${CLIENT}/publicRooms`, { token: (await directory.register("pub-poster")).access_token, body: { limit: 2 } });
    expect(posted.status).toBe(200);
    expect(posted.body.chunk.map((c: any) => c.room_id)).toEqual(seen.slice(0, 2));
    expect(posted.body.next_batch).toBeString();
  });

  test("POST filters by generic_search_term over name, topic and alias, case-insensitively", async () => {
    const user = await directory.register("pub-searcher");
    const search = async (term: string) => {
      const response = await directory.request("POST", `${CLIENT}/publicRooms`, { token: user.access_token, body: { filter: { generic_search_term: term } } });
      expect(response.status).toBe(200);
      return (response.body.chunk as any[]).map((c) => c.room_id).sort();
    };
    // "cats": the name of one room, the topic of another; never the unpublished "Hidden cats".
    expect(await search("CATS")).toEqual([rooms.cats, rooms.dogs].sort());
    expect(await search("fishtank")).toEqual([rooms.fish]);
    expect(await search("book")).toEqual([rooms.open]);
    expect(await search("nothing matches this")).toEqual([]);
    const spaces = await directory.request("POST", `${CLIENT}/publicRooms`, { token: user.access_token, body: { filter: { room_types: ["m.space"] } } });
    expect(spaces.body.chunk.map((c: any) => c.room_id)).toEqual([rooms.space]);
    const plain = await directory.request("POST", `${CLIENT}/publicRooms`, { token: user.access_token, body: { filter: { room_types: [null] } } });
    expect(plain.body.chunk.map((c: any) => c.room_id)).not.toContain(rooms.space);
    expect(plain.body.chunk).toHaveLength(4);
  });

  test("num_joined_members follows joins and leaves", async () => {
    const newcomer = await directory.register("pub-newcomer");
    const count = async () =>
      ((await directory.request("GET", `${CLIENT}/publicRooms`)).body.chunk as any[]).find((c) => c.room_id === rooms.fish)!.num_joined_members;
    expect(await count()).toBe(2);
    await directory.request("POST", `${CLIENT}/join/${encodeURIComponent(rooms.fish!)}`, { token: newcomer.access_token, body: {} });
    expect(await count()).toBe(3);
    await directory.request("POST", `${CLIENT}/rooms/${encodeURIComponent(rooms.fish!)}/leave`, { token: newcomer.access_token, body: {} });
    expect(await count()).toBe(2);
  });

  test("a bad since token or limit is 400; POST needs a login", async () => {
    expectError(await directory.request("GET", `${CLIENT}/publicRooms?since=garbage`), 400, "M_INVALID_PARAM");
    expectError(await directory.request("GET", `${CLIENT}/publicRooms?limit=-3`), 400, "M_INVALID_PARAM");
    expectError(await directory.request("POST", `${CLIENT}/publicRooms`, { body: {} }), 401, "M_MISSING_TOKEN");
  });
});

describe("profiles", () => {
  const profilePath = (userId: string, field?: string) => `${CLIENT}/profile/${encodeURIComponent(userId)}${field ? `/${field}` : ""}`;

  function setField(user: User, userId: string, field: "displayname" | "avatar_url", value: string | null) {
    return server.request("PUT", profilePath(userId, field), { token: user.access_token, body: { [field]: value } });
  }

  test("PUT and GET displayname and avatar_url", async () => {
    const user = await server.register("prof-user");
    // Registration starts the display name at the localpart.
    expect((await server.request("GET", profilePath(user.user_id), { token: user.access_token })).body).toEqual({ displayname: "prof-user" });
    expect((await setField(user, user.user_id, "displayname", "Pro File")).status).toBe(200);
    expect((await setField(user, user.user_id, "avatar_url", "mxc://localhost/face")).status).toBe(200);
    const name = await server.request("GET", profilePath(user.user_id, "displayname"), { token: bob.access_token });
    expect(name.status).toBe(200);
    expect(name.body).toEqual({ displayname: "Pro File" });
    const avatar = await server.request("GET", profilePath(user.user_id, "avatar_url"), { token: bob.access_token });
    expect(avatar.body).toEqual({ avatar_url: "mxc://localhost/face" });
    expect((await server.request("GET", profilePath(user.user_id), { token: bob.access_token })).body).toEqual({
      displayname: "Pro File",
      avatar_url: "mxc://localhost/face",
    });
    // Clearing a field removes it.
    expect((await setField(user, user.user_id, "avatar_url", null)).status).toBe(200);
    expectError(await server.request("GET", profilePath(user.user_id, "avatar_url"), { token: bob.access_token }), 404, "M_NOT_FOUND");
    expect((await server.request("GET", profilePath(user.user_id), { token: bob.access_token })).body).toEqual({ displayname: "Pro File" });
  });

  test("changing someone else's profile is 403 and changes nothing", async () => {
    for (const field of ["displayname", "avatar_url"] as const) {
      const response = await setField(bob, alice.user_id, field, field === "displayname" ? "Hijacked" : "mxc://localhost/evil");
      expectError(response, 403, "M_FORBIDDEN");
    }
    expect((await server.request("GET", profilePath(alice.user_id), { token: alice.access_token })).body).toEqual({ displayname: "dir-alice" });
  });

  test("an unknown user is 404; an invalid user id 400", async () => {
    const ghost = `@ghost:${serverName}`;
    for (const field of [undefined, "displayname", "avatar_url"]) {
      expectError(await server.request("GET", profilePath(ghost, field), { token: alice.access_token }), 404, "M_NOT_FOUND");
    }
    expect((await server.request("GET", profilePath("not-a-user-id"), { token: alice.access_token })).status).toBe(400);
  });

  test("an avatar_url that is not an mxc URI, or a display name too long, is 400", async () => {
    const user = await server.register("prof-bad");
    expect((await setField(user, user.user_id, "avatar_url", "https://example.org/a.png")).status).toBe(400);
    expect((await setField(user, user.user_id, "displayname", "x".repeat(300))).status).toBe(400);
    expect((await server.request("GET", profilePath(user.user_id), { token: user.access_token })).body).toEqual({ displayname: "prof-bad" });
  });

  test("a change is propagated as a new member event to every joined room, except one with a per-room name", async () => {
    const user = await server.register("prof-rooms");
    const joinedA = await createRoom(server, alice, { preset: "public_chat" });
    const joinedB = await createRoom(server, alice, { preset: "public_chat" });
    const perRoom = await createRoom(server, alice, { preset: "public_chat" });
    const invited = await createRoom(server, alice, {});
    const left = await createRoom(server, alice, { preset: "public_chat" });
    for (const roomId of [joinedA, joinedB, perRoom, left]) await joinRoom(server, user, roomId);
    await inviteUser(server, alice, invited, user.user_id);
    await leaveRoom(server, user, left);
    // A per-room display name, set with a member state event.
    await putState(server, user, perRoom, "m.room.member", user.user_id, { membership: "join", displayname: "Only here" });

    const counts = () => Object.fromEntries([joinedA, joinedB, perRoom, invited, left].map((roomId) => [roomId, storedRoomEvents(server, roomId).length]));
    const before = counts();
    expect((await setField(user, user.user_id, "displayname", "Everywhere")).status).toBe(200);
    const after = counts();
    expect(after).toEqual({ ...before, [joinedA]: before[joinedA]! + 1, [joinedB]: before[joinedB]! + 1 });

    for (const roomId of [joinedA, joinedB]) {
      const member = await getRoom(server, alice, roomId, `state/m.room.member/${encodeURIComponent(user.user_id)}`, { format: "event" });
      expect(member.body.sender).toBe(user.user_id);
      expect(member.body.content).toEqual({ membership: "join", displayname: "Everywhere" });
      expect(member.body.unsigned.prev_content).toEqual({ membership: "join", displayname: "prof-rooms" });
    }
    expect((await getRoom(server, alice, perRoom, `state/m.room.member/${encodeURIComponent(user.user_id)}`)).body).toEqual({
      membership: "join",
      displayname: "Only here",
    });
    expect((await getRoom(server, alice, invited, `state/m.room.member/${encodeURIComponent(user.user_id)}`)).body.displayname).toBe("prof-rooms");

    // The avatar too, keeping the display name.
    expect((await setField(user, user.user_id, "avatar_url", "mxc://localhost/new-face")).status).toBe(200);
    expect((await getRoom(server, alice, joinedA, `state/m.room.member/${encodeURIComponent(user.user_id)}`)).body).toEqual({
      membership: "join",
      displayname: "Everywhere",
      avatar_url: "mxc://localhost/new-face",
    });
    // Clearing the display name removes it from the member events.
    expect((await setField(user, user.user_id, "displayname", null)).status).toBe(200);
    expect((await getRoom(server, alice, joinedB, `state/m.room.member/${encodeURIComponent(user.user_id)}`)).body).toEqual({
      membership: "join",
      avatar_url: "mxc://localhost/new-face",
    });
    // /joined_members follows.
    expect((await getRoom(server, alice, joinedA, "joined_members")).body.joined[user.user_id]).toEqual({ avatar_url: "mxc://localhost/new-face" });
  });

  test("setting the same value again sends no new member events", async () => {
    const user = await server.register("prof-same");
    const roomId = await createRoom(server, user, {});
    expect((await setField(user, user.user_id, "displayname", "Same")).status).toBe(200);
    const count = storedRoomEvents(server, roomId).length;
    expect((await setField(user, user.user_id, "displayname", "Same")).status).toBe(200);
    expect(storedRoomEvents(server, roomId)).toHaveLength(count);
  });
});
