// Room membership (spec: Client-Server API, "Room membership"; joining.yaml,
// inviting.yaml, leaving.yaml, kicking.yaml, banning.yaml, knocking.yaml,
// list_joined_rooms.yaml): every change is a member event the auth rules allow,
// refusals store nothing, and GET /joined_rooms follows along.
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
  sendMessage,
  storedRoomEvents,
  type User,
} from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;
let dave: User;
let unknownRoom: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("member-alice");
  bob = await server.register("member-bob");
  carol = await server.register("member-carol");
  dave = await server.register("member-dave");
  unknownRoom = `!doesnotexist:${server.hs.config.server_name}`;
});
afterAll(() => server.stop());

const roomPath = (roomId: string, action: string) => `${CLIENT}/rooms/${encodeURIComponent(roomId)}/${action}`;

function post(user: User, path: string, body: unknown = {}) {
  return server.request("POST", path, { token: user.access_token, body });
}

async function joinedRooms(user: User): Promise<string[]> {
  const response = await server.request("GET", `${CLIENT}/joined_rooms`, { token: user.access_token });
  expect(response.status).toBe(200);
  return response.body.joined_rooms;
}

/** The member event of `userId` in the room's current state, as `viewer` reads it. */
async function memberEvent(viewer: User, roomId: string, userId: string) {
  const response = await getRoom(server, viewer, roomId, `state/m.room.member/${encodeURIComponent(userId)}`, { format: "event" });
  expect(response.status).toBe(200);
  return response.body;
}

function membershipInStore(roomId: string, userId: string): string | undefined {
  return server.hs.store.state.members(roomId).find((member) => member.userId === userId)?.membership;
}

describe("joining", () => {
  test("a public room by id", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    const response = await post(bob, roomPath(roomId, "join"));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ room_id: roomId });
    const event = await memberEvent(alice, roomId, bob.user_id);
    expect(event.sender).toBe(bob.user_id);
    expect(event.content.membership).toBe("join");
    expect(await joinedRooms(bob)).toContain(roomId);
  });

  test("a public room by id through /join/{roomIdOrAlias}", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    const response = await post(bob, `${CLIENT}/join/${encodeURIComponent(roomId)}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ room_id: roomId });
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
  });

  test("a public room by its alias (URL-encoded)", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat", room_alias_name: "join-by-alias" });
    const alias = `#join-by-alias:${server.hs.config.server_name}`;
    const response = await post(bob, `${CLIENT}/join/${encodeURIComponent(alias)}?server_name=${server.hs.config.server_name}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ room_id: roomId });
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
    expect(await joinedRooms(bob)).toContain(roomId);
  });

  test("an unknown alias is 404 and an unknown room is 404", async () => {
    const alias = `#no-such-alias:${server.hs.config.server_name}`;
    expectError(await expectNothingStored(server, () => post(bob, `${CLIENT}/join/${encodeURIComponent(alias)}`)), 404, "M_NOT_FOUND");
    expectError(await expectNothingStored(server, () => post(bob, `${CLIENT}/join/${encodeURIComponent(unknownRoom)}`)), 404, "M_NOT_FOUND");
    expectError(await expectNothingStored(server, () => post(bob, roomPath(unknownRoom, "join"))), 404, "M_NOT_FOUND");
  });

  test("something that is neither a room id nor an alias is 400", async () => {
    const response = await expectNothingStored(server, () => post(bob, `${CLIENT}/join/not-a-room`));
    expect(response.status).toBe(400);
  });

  test("an invite-only room without an invite is 403 and stores nothing", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    const before = storedRoomEvents(server, roomId).length;
    const response = await expectNothingStored(server, () => post(bob, roomPath(roomId, "join")));
    expectError(response, 403, "M_FORBIDDEN");
    expect(storedRoomEvents(server, roomId)).toHaveLength(before);
    expect(membershipInStore(roomId, bob.user_id)).toBeUndefined();
    expect(await joinedRooms(bob)).not.toContain(roomId);
  });

  test("joining again when already joined keeps the user joined", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await joinRoom(server, bob, roomId);
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
    expect((await joinedRooms(bob)).filter((id) => id === roomId)).toHaveLength(1);
  });
});

describe("inviting", () => {
  test("an invited user can join an invite-only room", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    const response = await post(alice, roomPath(roomId, "invite"), { user_id: bob.user_id, reason: "come along" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    const invite = await memberEvent(alice, roomId, bob.user_id);
    expect(invite.sender).toBe(alice.user_id);
    expect(invite.content).toMatchObject({ membership: "invite", reason: "come along" });
    // An invite is not a join.
    expect(await joinedRooms(bob)).not.toContain(roomId);
    await joinRoom(server, bob, roomId);
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
    expect(await joinedRooms(bob)).toContain(roomId);
  });

  test("a non-member cannot invite (403, nothing stored)", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    const response = await expectNothingStored(server, () => post(bob, roomPath(roomId, "invite"), { user_id: carol.user_id }));
    expectError(response, 403, "M_FORBIDDEN");
    expect(membershipInStore(roomId, carol.user_id)).toBeUndefined();
  });

  test("a member below the invite level cannot invite", async () => {
    // public_chat keeps invites to moderators (50).
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const response = await expectNothingStored(server, () => post(bob, roomPath(roomId, "invite"), { user_id: carol.user_id }));
    expectError(response, 403, "M_FORBIDDEN");
  });

  test("an unknown user is 404 M_NOT_FOUND and an invalid user id 400", async () => {
    const roomId = await createRoom(server, alice, {});
    const unknown = await expectNothingStored(server, () =>
      post(alice, roomPath(roomId, "invite"), { user_id: `@ghost:${server.hs.config.server_name}` }),
    );
    expectError(unknown, 404, "M_NOT_FOUND");
    const invalid = await expectNothingStored(server, () => post(alice, roomPath(roomId, "invite"), { user_id: "ghost" }));
    expect(invalid.status).toBe(400);
    const missing = await expectNothingStored(server, () => post(alice, roomPath(roomId, "invite"), {}));
    expect(missing.status).toBe(400);
  });

  test("inviting into an unknown room is 404", async () => {
    const response = await expectNothingStored(server, () => post(alice, roomPath(unknownRoom, "invite"), { user_id: bob.user_id }));
    expectError(response, 404, "M_NOT_FOUND");
  });

  test("a user already joined cannot be invited", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const response = await expectNothingStored(server, () => post(alice, roomPath(roomId, "invite"), { user_id: bob.user_id }));
    expectError(response, 403, "M_FORBIDDEN");
  });

  test("an invitee rejects an invite by leaving", async () => {
    const roomId = await createRoom(server, alice, { invite: [bob.user_id] });
    expect(membershipInStore(roomId, bob.user_id)).toBe("invite");
    await leaveRoom(server, bob, roomId);
    expect(membershipInStore(roomId, bob.user_id)).toBe("leave");
    // Rejected: joining needs a new invite.
    expectError(await post(bob, roomPath(roomId, "join")), 403, "M_FORBIDDEN");
  });
});

describe("leaving", () => {
  test("a member leaves, with the reason in the member event", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const response = await post(bob, roomPath(roomId, "leave"), { reason: "bye" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    const event = await memberEvent(alice, roomId, bob.user_id);
    expect(event.sender).toBe(bob.user_id);
    expect(event.content).toEqual({ membership: "leave", reason: "bye" });
    expect(await joinedRooms(bob)).not.toContain(roomId);
    // A former member can no longer send.
    const send = await server.request("PUT", `${roomPath(roomId, "send/m.room.message")}/after-leave`, { token: bob.access_token, body: { body: "x" } });
    expectError(send, 403, "M_FORBIDDEN");
  });

  test("leaving a room one is not in is 403; leaving an unknown room 404", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "leave"))), 403, "M_FORBIDDEN");
    expectError(await expectNothingStored(server, () => post(bob, roomPath(unknownRoom, "leave"))), 404, "M_NOT_FOUND");
  });

  test("a user can join a public room again after leaving", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await leaveRoom(server, bob, roomId);
    await joinRoom(server, bob, roomId);
    expect(await joinedRooms(bob)).toContain(roomId);
  });
});

describe("kicking", () => {
  test("a moderator kicks a member, with the reason in the member event", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const response = await post(alice, roomPath(roomId, "kick"), { user_id: bob.user_id, reason: "spam" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    const event = await memberEvent(alice, roomId, bob.user_id);
    expect(event.sender).toBe(alice.user_id);
    expect(event.state_key).toBe(bob.user_id);
    expect(event.content).toEqual({ membership: "leave", reason: "spam" });
    expect(await joinedRooms(bob)).not.toContain(roomId);
    // A kick is not a ban: the user may come back to a public room.
    await joinRoom(server, bob, roomId);
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
  });

  test("kicking needs the kick level and a level above the target's", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await joinRoom(server, carol, roomId);
    // bob (0) cannot kick carol (0)
    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "kick"), { user_id: carol.user_id })), 403, "M_FORBIDDEN");
    // nor the creator (100)
    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "kick"), { user_id: alice.user_id })), 403, "M_FORBIDDEN");
    expect(membershipInStore(roomId, carol.user_id)).toBe("join");
    expect(membershipInStore(roomId, alice.user_id)).toBe("join");
  });

  test("an invite can be withdrawn by kicking the invitee", async () => {
    const roomId = await createRoom(server, alice, { invite: [bob.user_id] });
    const response = await post(alice, roomPath(roomId, "kick"), { user_id: bob.user_id });
    expect(response.status).toBe(200);
    expect(membershipInStore(roomId, bob.user_id)).toBe("leave");
  });

  test("the target must be in the room", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    // Never joined.
    expectError(await expectNothingStored(server, () => post(alice, roomPath(roomId, "kick"), { user_id: dave.user_id })), 403, "M_FORBIDDEN");
    // Already left.
    await joinRoom(server, bob, roomId);
    await leaveRoom(server, bob, roomId);
    expectError(await expectNothingStored(server, () => post(alice, roomPath(roomId, "kick"), { user_id: bob.user_id })), 403, "M_FORBIDDEN");
    // Banned users must be unbanned, not kicked.
    await joinRoom(server, carol, roomId);
    expect((await post(alice, roomPath(roomId, "ban"), { user_id: carol.user_id })).status).toBe(200);
    expectError(await expectNothingStored(server, () => post(alice, roomPath(roomId, "kick"), { user_id: carol.user_id })), 403, "M_FORBIDDEN");
    expect(membershipInStore(roomId, carol.user_id)).toBe("ban");
  });

  test("an unknown room is 404", async () => {
    expectError(await expectNothingStored(server, () => post(alice, roomPath(unknownRoom, "kick"), { user_id: bob.user_id })), 404, "M_NOT_FOUND");
  });
});

describe("banning", () => {
  test("a banned user cannot join (403, nothing stored) until unbanned", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const ban = await post(alice, roomPath(roomId, "ban"), { user_id: bob.user_id, reason: "rude" });
    expect(ban.status).toBe(200);
    expect(ban.body).toEqual({});
    const event = await memberEvent(alice, roomId, bob.user_id);
    expect(event.sender).toBe(alice.user_id);
    expect(event.content).toEqual({ membership: "ban", reason: "rude" });
    expect(await joinedRooms(bob)).not.toContain(roomId);

    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "join"))), 403, "M_FORBIDDEN");
    // Nor can they be invited back while banned.
    expectError(await expectNothingStored(server, () => post(alice, roomPath(roomId, "invite"), { user_id: bob.user_id })), 403, "M_FORBIDDEN");
    expect(membershipInStore(roomId, bob.user_id)).toBe("ban");

    const unban = await post(alice, roomPath(roomId, "unban"), { user_id: bob.user_id, reason: "forgiven" });
    expect(unban.status).toBe(200);
    const unbanned = await memberEvent(alice, roomId, bob.user_id);
    expect(unbanned.content).toEqual({ membership: "leave", reason: "forgiven" });
    await joinRoom(server, bob, roomId);
    expect(await joinedRooms(bob)).toContain(roomId);
  });

  test("a user who never joined can be banned pre-emptively", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    expect((await post(alice, roomPath(roomId, "ban"), { user_id: dave.user_id })).status).toBe(200);
    expectError(await post(dave, roomPath(roomId, "join")), 403, "M_FORBIDDEN");
  });

  test("banning and unbanning need the ban level", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await joinRoom(server, carol, roomId);
    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "ban"), { user_id: carol.user_id })), 403, "M_FORBIDDEN");
    expect((await post(alice, roomPath(roomId, "ban"), { user_id: carol.user_id })).status).toBe(200);
    expectError(await expectNothingStored(server, () => post(bob, roomPath(roomId, "unban"), { user_id: carol.user_id })), 403, "M_FORBIDDEN");
    expect(membershipInStore(roomId, carol.user_id)).toBe("ban");
  });

  test("unbanning a user who is not banned is refused with M_BAD_STATE", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const response = await expectNothingStored(server, () => post(alice, roomPath(roomId, "unban"), { user_id: bob.user_id }));
    expectError(response, 403, "M_BAD_STATE");
    expect(membershipInStore(roomId, bob.user_id)).toBe("join");
  });

  test("an unknown room is 404", async () => {
    expectError(await expectNothingStored(server, () => post(alice, roomPath(unknownRoom, "ban"), { user_id: bob.user_id })), 404, "M_NOT_FOUND");
    expectError(await expectNothingStored(server, () => post(alice, roomPath(unknownRoom, "unban"), { user_id: bob.user_id })), 404, "M_NOT_FOUND");
  });
});

describe("forgetting", () => {
  test("only after leaving: 400 while joined or invited, 200 after", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    expectError(await post(bob, roomPath(roomId, "forget")), 400, "M_UNKNOWN");
    expect(server.hs.store.rooms.forgottenAmong(bob.user_id, [roomId]).size).toBe(0);

    await leaveRoom(server, bob, roomId);
    const response = await post(bob, roomPath(roomId, "forget"));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect(server.hs.store.rooms.forgottenAmong(bob.user_id, [roomId]).has(roomId)).toBe(true);
    // Forgetting is not leaving again: no new event.
    const events = storedRoomEvents(server, roomId).length;
    expect((await post(bob, roomPath(roomId, "forget"))).status).toBe(200);
    expect(storedRoomEvents(server, roomId)).toHaveLength(events);

    // Joining again makes the room remembered again.
    await joinRoom(server, bob, roomId);
    expect(server.hs.store.rooms.forgottenAmong(bob.user_id, [roomId]).size).toBe(0);
  });

  test("an invited user must reject the invite first", async () => {
    const roomId = await createRoom(server, alice, { invite: [carol.user_id] });
    expectError(await post(carol, roomPath(roomId, "forget")), 400, "M_UNKNOWN");
  });

  test("a forgotten room's history is no longer readable", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "seen while joined");
    await leaveRoom(server, bob, roomId);
    expect((await getRoom(server, bob, roomId, "messages", { dir: "b" })).status).toBe(200);
    expect((await post(bob, roomPath(roomId, "forget"))).status).toBe(200);
    expectError(await getRoom(server, bob, roomId, "messages", { dir: "b" }), 403, "M_FORBIDDEN");
  });

  test("an unknown room is 404", async () => {
    expectError(await post(bob, roomPath(unknownRoom, "forget")), 404, "M_NOT_FOUND");
  });
});

describe("knocking", () => {
  test("a knock room (join_rule knock via initial_state) accepts knocks; the knocker can then be invited", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "private_chat",
      room_alias_name: "knock-here",
      initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }],
    });
    // Knocking does not let one join directly.
    expectError(await post(bob, roomPath(roomId, "join")), 403, "M_FORBIDDEN");
    const alias = `#knock-here:${server.hs.config.server_name}`;
    const response = await post(bob, `${CLIENT}/knock/${encodeURIComponent(alias)}`, { reason: "let me in" });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ room_id: roomId });
    const knock = await memberEvent(alice, roomId, bob.user_id);
    expect(knock.sender).toBe(bob.user_id);
    expect(knock.content).toMatchObject({ membership: "knock", reason: "let me in" });
    expect(await joinedRooms(bob)).not.toContain(roomId);

    await inviteUser(server, alice, roomId, bob.user_id);
    await joinRoom(server, bob, roomId);
    expect(await joinedRooms(bob)).toContain(roomId);
  });

  test("a knock by room id works too", async () => {
    const roomId = await createRoom(server, alice, { initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }] });
    const response = await post(carol, `${CLIENT}/knock/${encodeURIComponent(roomId)}`);
    expect(response.status).toBe(200);
    expect(membershipInStore(roomId, carol.user_id)).toBe("knock");
  });

  test("a public room or an invite-only room refuses knocks (403, nothing stored)", async () => {
    for (const preset of ["public_chat", "private_chat"]) {
      const roomId = await createRoom(server, alice, { preset });
      const response = await expectNothingStored(server, () => post(bob, `${CLIENT}/knock/${encodeURIComponent(roomId)}`));
      expectError(response, 403, "M_FORBIDDEN");
      expect(membershipInStore(roomId, bob.user_id)).toBeUndefined();
    }
  });

  test("an unknown room is 404", async () => {
    expectError(await expectNothingStored(server, () => post(bob, `${CLIENT}/knock/${encodeURIComponent(unknownRoom)}`)), 404, "M_NOT_FOUND");
  });
});

describe("GET /joined_rooms", () => {
  test("follows joins, invites, leaves, kicks and bans", async () => {
    const user = await server.register("member-tracker");
    expect(await joinedRooms(user)).toEqual([]);
    const own = await createRoom(server, user, {});
    const joined = await createRoom(server, alice, { preset: "public_chat" });
    const invited = await createRoom(server, alice, { invite: [user.user_id] });
    const kicked = await createRoom(server, alice, { preset: "public_chat" });
    const banned = await createRoom(server, alice, { preset: "public_chat" });
    const left = await createRoom(server, alice, { preset: "public_chat" });
    for (const roomId of [joined, kicked, banned, left]) await joinRoom(server, user, roomId);
    expect((await joinedRooms(user)).sort()).toEqual([own, joined, kicked, banned, left].sort());

    expect((await post(alice, roomPath(kicked, "kick"), { user_id: user.user_id })).status).toBe(200);
    expect((await post(alice, roomPath(banned, "ban"), { user_id: user.user_id })).status).toBe(200);
    await leaveRoom(server, user, left);
    expect((await joinedRooms(user)).sort()).toEqual([own, joined].sort());
    // The invite is not listed until accepted.
    await joinRoom(server, user, invited);
    expect((await joinedRooms(user)).sort()).toEqual([own, joined, invited].sort());
  });

  test("needs an access token", async () => {
    expectError(await server.request("GET", `${CLIENT}/joined_rooms`), 401, "M_MISSING_TOKEN");
  });
});

describe("member events carry the profile", () => {
  test("join and invite events have the user's display name and avatar", async () => {
    const user = await server.register("member-profiled");
    await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(user.user_id)}/displayname`, { token: user.access_token, body: { displayname: "Profiled" } });
    await server.request("PUT", `${CLIENT}/profile/${encodeURIComponent(user.user_id)}/avatar_url`, { token: user.access_token, body: { avatar_url: "mxc://localhost/avatar" } });
    const roomId = await createRoom(server, alice, { invite: [user.user_id] });
    expect((await memberEvent(alice, roomId, user.user_id)).content).toEqual({
      membership: "invite",
      displayname: "Profiled",
      avatar_url: "mxc://localhost/avatar",
    });
    await joinRoom(server, user, roomId);
    expect((await memberEvent(alice, roomId, user.user_id)).content).toEqual({
      membership: "join",
      displayname: "Profiled",
      avatar_url: "mxc://localhost/avatar",
    });
  });
});
