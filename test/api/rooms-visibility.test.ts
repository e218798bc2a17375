// History visibility (spec: Client-Server API, "Room History Visibility"):
// joined / invited / shared / world_readable, enforced on every read — /messages,
// /context, /event, /state and /members — for members who joined late, members
// who left, and non-members.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import {
  CLIENT,
  createRoom,
  getRoom,
  inviteUser,
  joinRoom,
  leaveRoom,
  putState,
  sendMessage,
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
  alice = await server.register("vis-alice");
  bob = await server.register("vis-bob");
  carol = await server.register("vis-carol");
});
afterAll(() => server.stop());

const MESSAGES = { types: ["m.room.message"] };

/** The bodies of the messages `user` can page through, oldest first. */
async function visibleBodies(user: User, roomId: string): Promise<string[]> {
  return (await timeline(server, user, roomId, MESSAGES)).map((event) => event.content.body);
}

/** The same, paging backwards from the present (a different code path through the tokens). */
async function visibleBodiesBackwards(user: User, roomId: string): Promise<string[]> {
  const bodies: string[] = [];
  let from: string | undefined;
  for (let i = 0; i < 100; i++) {
    const query: Record<string, string> = { dir: "b", limit: "2", filter: JSON.stringify(MESSAGES) };
    if (from) query.from = from;
    const response = await getRoom(server, user, roomId, "messages", query);
    expect(response.status).toBe(200);
    bodies.push(...response.body.chunk.map((event: any) => event.content.body));
    if (response.body.end === undefined) return bodies.reverse();
    from = response.body.end;
  }
  throw new Error("never ended");
}

function eventStatus(user: User, roomId: string, eventId: string) {
  return getRoom(server, user, roomId, `event/${encodeURIComponent(eventId)}`).then((response) => response.status);
}

/**
 * A private room with the given visibility where alice writes "before invite",
 * invites bob, writes "after invite", bob joins, and alice writes "after join".
 */
async function lateJoinRoom(visibility: string) {
  const roomId = await createRoom(server, alice, {
    preset: "private_chat",
    initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: visibility } }],
  });
  const beforeInvite = await sendMessage(server, alice, roomId, "before invite");
  await inviteUser(server, alice, roomId, bob.user_id);
  const afterInvite = await sendMessage(server, alice, roomId, "after invite");
  await joinRoom(server, bob, roomId);
  const afterJoin = await sendMessage(server, alice, roomId, "after join");
  return { roomId, beforeInvite, afterInvite, afterJoin };
}

describe("a user who joins later", () => {
  test("joined: sees only what was sent after they joined", async () => {
    const room = await lateJoinRoom("joined");
    expect(await visibleBodies(bob, room.roomId)).toEqual(["after join"]);
    expect(await visibleBodiesBackwards(bob, room.roomId)).toEqual(["after join"]);
    expect(await eventStatus(bob, room.roomId, room.beforeInvite)).toBe(404);
    expect(await eventStatus(bob, room.roomId, room.afterInvite)).toBe(404);
    expect(await eventStatus(bob, room.roomId, room.afterJoin)).toBe(200);
    // The creator, joined throughout, sees everything.
    expect(await visibleBodies(alice, room.roomId)).toEqual(["before invite", "after invite", "after join"]);
    // Their own join is visible to them; their invite was not (joined history).
    const all = await timeline(server, bob, room.roomId);
    const own = all.filter((event) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(own.map((event) => event.content.membership)).toEqual(["join"]);
    // Nor does /context reveal the hidden events around a visible one.
    const context = await getRoom(server, bob, room.roomId, `context/${encodeURIComponent(room.afterJoin)}`, { limit: "20" });
    expect(context.status).toBe(200);
    expect(context.body.events_before.map((event: any) => event.event_id)).not.toContain(room.afterInvite);
    expect(context.body.events_before.map((event: any) => event.event_id)).not.toContain(room.beforeInvite);
    expect(context.body.events_before.every((event: any) => event.type !== "m.room.message")).toBe(true);
    expectError(await getRoom(server, bob, room.roomId, `context/${encodeURIComponent(room.beforeInvite)}`), 404, "M_NOT_FOUND");
  });

  test("invited: sees from their invite onwards", async () => {
    const room = await lateJoinRoom("invited");
    expect(await visibleBodies(bob, room.roomId)).toEqual(["after invite", "after join"]);
    expect(await visibleBodiesBackwards(bob, room.roomId)).toEqual(["after invite", "after join"]);
    expect(await eventStatus(bob, room.roomId, room.beforeInvite)).toBe(404);
    expect(await eventStatus(bob, room.roomId, room.afterInvite)).toBe(200);
    const all = await timeline(server, bob, room.roomId);
    const own = all.filter((event) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(own.map((event) => event.content.membership)).toEqual(["invite", "join"]);
  });

  test("a pending invitee reads messages under invited history, but not the room's state or members", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat", name: "Secret plans" });
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "invited" });
    await inviteUser(server, alice, roomId, carol.user_id);
    expectError(await getRoom(server, carol, roomId, "state"), 403, "M_FORBIDDEN");
    expectError(await getRoom(server, carol, roomId, "state/m.room.name/"), 403, "M_FORBIDDEN");
    expectError(await getRoom(server, carol, roomId, "members"), 403, "M_FORBIDDEN");
    await joinRoom(server, carol, roomId);
    expect((await getRoom(server, carol, roomId, "state/m.room.name/")).body).toEqual({ name: "Secret plans" });
    expect((await getRoom(server, carol, roomId, "members")).status).toBe(200);
  });

  test("shared: sees the whole history, even from before their invite", async () => {
    const room = await lateJoinRoom("shared");
    expect(await visibleBodies(bob, room.roomId)).toEqual(["before invite", "after invite", "after join"]);
    expect(await visibleBodiesBackwards(bob, room.roomId)).toEqual(["before invite", "after invite", "after join"]);
    expect(await eventStatus(bob, room.roomId, room.beforeInvite)).toBe(200);
    const context = await getRoom(server, bob, room.roomId, `context/${encodeURIComponent(room.afterInvite)}`, { limit: "10" });
    expect(context.status).toBe(200);
    expect(context.body.events_before.map((event: any) => event.event_id)).toContain(room.beforeInvite);
    // Including the room's creation.
    const all = await timeline(server, bob, room.roomId);
    expect(all[0].type).toBe("m.room.create");
  });

  test("the visibility in force when each event was sent decides, not the current one", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "joined" } }],
    });
    await sendMessage(server, alice, roomId, "under joined");
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "shared" });
    await sendMessage(server, alice, roomId, "under shared");
    await joinRoom(server, bob, roomId);
    expect(await visibleBodies(bob, roomId)).toEqual(["under shared"]);
  });
});

describe("a user who left", () => {
  test("sees nothing after their leave, and the state as it was when they left", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat", topic: "old topic", name: "Old name" });
    const beforeBob = await sendMessage(server, alice, roomId, "before bob");
    await joinRoom(server, bob, roomId);
    const whileJoined = await sendMessage(server, alice, roomId, "while joined");
    await leaveRoom(server, bob, roomId);
    const afterLeave = await sendMessage(server, alice, roomId, "after leave");
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "new topic" });
    await putState(server, alice, roomId, "org.example.added", "", { later: true });
    await joinRoom(server, carol, roomId);

    // /messages, both ways. Under shared, what was sent before they joined stays
    // visible after they leave: they were allowed to see it before leaving.
    expect(await visibleBodies(bob, roomId)).toEqual(["before bob", "while joined"]);
    expect(await visibleBodiesBackwards(bob, roomId)).toEqual(["before bob", "while joined"]);
    // The last event they see is their own leave.
    const all = await timeline(server, bob, roomId);
    expect(all.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "leave" } });
    // A forward token from before their leave does not reach past it.
    const latest = await getRoom(server, bob, roomId, "messages", { dir: "b", limit: "1" });
    expect(latest.body.chunk[0].content.membership).toBe("leave");

    // /event and /context.
    expect(await eventStatus(bob, roomId, beforeBob)).toBe(200);
    expect(await eventStatus(bob, roomId, whileJoined)).toBe(200);
    expect(await eventStatus(bob, roomId, afterLeave)).toBe(404);
    expectError(await getRoom(server, bob, roomId, `context/${encodeURIComponent(afterLeave)}`), 404, "M_NOT_FOUND");
    const context = await getRoom(server, bob, roomId, `context/${encodeURIComponent(whileJoined)}`, { limit: "20" });
    expect(context.status).toBe(200);
    expect(context.body.events_after.map((event: any) => event.event_id)).not.toContain(afterLeave);
    const contextTopic = context.body.state.find((event: any) => event.type === "m.room.topic");
    expect(contextTopic.content.topic).toBe("old topic");

    // /state: as of their leave.
    const state = await getRoom(server, bob, roomId, "state");
    expect(state.status).toBe(200);
    const topic = state.body.find((event: any) => event.type === "m.room.topic");
    expect(topic.content.topic).toBe("old topic");
    expect(state.body.some((event: any) => event.type === "org.example.added")).toBe(false);
    const ownMember = state.body.find((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(ownMember.content.membership).toBe("leave");
    expect(state.body.some((event: any) => event.state_key === carol.user_id)).toBe(false);
    expect((await getRoom(server, bob, roomId, "state/m.room.topic")).body.topic).toBe("old topic");
    expectError(await getRoom(server, bob, roomId, "state/org.example.added"), 404, "M_NOT_FOUND");
    // Members present now see the new state.
    expect((await getRoom(server, carol, roomId, "state/m.room.topic")).body).toEqual({ topic: "new topic" });

    // /members: as of their leave (carol, who joined later, is not there).
    const members = await getRoom(server, bob, roomId, "members");
    expect(members.status).toBe(200);
    expect(Object.fromEntries(members.body.chunk.map((event: any) => [event.state_key, event.content.membership]))).toEqual({
      [alice.user_id]: "join",
      [bob.user_id]: "leave",
    });
    expectError(await getRoom(server, bob, roomId, "joined_members"), 403, "M_FORBIDDEN");
  });

  test("an invitee who rejected the invite of a shared room never joined, so sees none of its messages", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    const before = await sendMessage(server, alice, roomId, "before invite");
    await inviteUser(server, alice, roomId, bob.user_id);
    await sendMessage(server, alice, roomId, "after invite");
    await leaveRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "after reject");
    expect(await visibleBodies(bob, roomId)).toEqual([]);
    expect(await eventStatus(bob, roomId, before)).toBe(404);
  });

  test("a banned user likewise sees nothing after the ban", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "before ban");
    const ban = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/ban`, { token: alice.access_token, body: { user_id: bob.user_id } });
    expect(ban.status).toBe(200);
    const afterBan = await sendMessage(server, alice, roomId, "after ban");
    expect(await visibleBodies(bob, roomId)).toEqual(["before ban"]);
    expect(await eventStatus(bob, roomId, afterBan)).toBe(404);
  });

  test("a former member banned after leaving keeps what they could read before leaving", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "while joined");
    await leaveRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "after leave");
    const ban = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/ban`, { token: alice.access_token, body: { user_id: bob.user_id } });
    expect(ban.status).toBe(200);
    await sendMessage(server, alice, roomId, "after ban");
    expect(await visibleBodies(bob, roomId)).toEqual(["while joined"]);
    // The state is still the one at their leave, not at the ban.
    const own = (await getRoom(server, bob, roomId, `state/m.room.member/${encodeURIComponent(bob.user_id)}`)).body;
    expect(own.membership).toBe("leave");
  });

  test("under joined, they keep what they saw while joined", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "joined" } }],
    });
    await sendMessage(server, alice, roomId, "before");
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "during");
    await leaveRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "after");
    expect(await visibleBodies(bob, roomId)).toEqual(["during"]);
  });

  test("a user who rejoins sees the new events again, but not the gap under joined", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "joined" } }],
    });
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "first stay");
    await leaveRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "while away");
    await joinRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, "second stay");
    expect(await visibleBodies(bob, roomId)).toEqual(["first stay", "second stay"]);
  });
});

describe("a non-member", () => {
  test("of a private room gets 403 M_FORBIDDEN on every read", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat", name: "Secret" });
    const message = await sendMessage(server, alice, roomId, "secret");
    for (const what of [
      "messages?dir=b",
      `context/${encodeURIComponent(message)}`,
      `event/${encodeURIComponent(message)}`,
      "state",
      "state/m.room.name",
      "state/m.room.name/",
      "members",
      "joined_members",
      "aliases",
    ]) {
      const response = await server.request("GET", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/${what}`, { token: carol.access_token });
      expect({ what, status: response.status, errcode: response.body.errcode }).toEqual({ what, status: 403, errcode: "M_FORBIDDEN" });
    }
  });

  test("of a shared public room still gets 403 before joining (no peeking)", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await sendMessage(server, alice, roomId, "shared but not world readable");
    expectError(await getRoom(server, carol, roomId, "messages", { dir: "b" }), 403, "M_FORBIDDEN");
    expectError(await getRoom(server, carol, roomId, "state"), 403, "M_FORBIDDEN");
  });

  test("who has knocked sees nothing of the room", async () => {
    const roomId = await createRoom(server, alice, {
      name: "Knock first",
      initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }],
    });
    await sendMessage(server, alice, roomId, "members only");
    const knock = await server.request("POST", `${CLIENT}/knock/${encodeURIComponent(roomId)}`, { token: carol.access_token, body: {} });
    expect(knock.status).toBe(200);
    for (const what of ["messages?dir=b", "state", "state/m.room.name", "members", "joined_members"]) {
      const response = await server.request("GET", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/${what}`, { token: carol.access_token });
      expect({ what, status: response.status }).toEqual({ what, status: 403 });
    }
  });

  test("an unknown room is 403 for reads, like a room one cannot see", async () => {
    const unknown = `!unknown-room:${server.hs.config.server_name}`;
    expectError(await getRoom(server, carol, unknown, "messages", { dir: "b" }), 403, "M_FORBIDDEN");
    expectError(await getRoom(server, carol, unknown, "state"), 403, "M_FORBIDDEN");
  });
});

describe("world_readable", () => {
  test("a non-member reads /messages, /event, /context, /state and /members", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      name: "Open book",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }],
    });
    const message = await sendMessage(server, alice, roomId, "for everyone");
    expect(await visibleBodies(carol, roomId)).toEqual(["for everyone"]);
    expect(await eventStatus(carol, roomId, message)).toBe(200);
    const context = await getRoom(server, carol, roomId, `context/${encodeURIComponent(message)}`);
    expect(context.status).toBe(200);
    expect(context.body.event.content.body).toBe("for everyone");
    const state = await getRoom(server, carol, roomId, "state");
    expect(state.status).toBe(200);
    expect(state.body.find((event: any) => event.type === "m.room.name").content).toEqual({ name: "Open book" });
    expect((await getRoom(server, carol, roomId, "state/m.room.name")).body).toEqual({ name: "Open book" });
    const members = await getRoom(server, carol, roomId, "members");
    expect(members.body.chunk.map((event: any) => event.state_key)).toEqual([alice.user_id]);
    // Reading is not joining.
    expectError(await getRoom(server, carol, roomId, "joined_members"), 403, "M_FORBIDDEN");
    const send = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/wr1`, { token: carol.access_token, body: { body: "x" } });
    expectError(send, 403, "M_FORBIDDEN");
  });

  test("events from before the room became world_readable stay hidden; the change itself is shown", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await sendMessage(server, alice, roomId, "while shared");
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "world_readable" });
    await sendMessage(server, alice, roomId, "while world readable");
    expect(await visibleBodies(carol, roomId)).toEqual(["while world readable"]);
    const events = await timeline(server, carol, roomId);
    expect(events.map((event) => event.type)).toEqual(["m.room.history_visibility", "m.room.message"]);
  });

  test("when the room stops being world_readable a non-member can no longer read it", async () => {
    const roomId = await createRoom(server, alice, {
      preset: "public_chat",
      initial_state: [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }],
    });
    await sendMessage(server, alice, roomId, "open");
    expect(await visibleBodies(carol, roomId)).toEqual(["open"]);
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "joined" });
    await sendMessage(server, alice, roomId, "closed");
    expectError(await getRoom(server, carol, roomId, "messages", { dir: "b" }), 403, "M_FORBIDDEN");
    // A member who joins now sees the world-readable history, not what was
    // sent under joined before they joined.
    await sendMessage(server, alice, roomId, "closed 2");
    await joinRoom(server, bob, roomId);
    expect(await visibleBodies(bob, roomId)).toEqual(["open"]);
  });
});
