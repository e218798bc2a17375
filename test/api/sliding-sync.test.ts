// Simplified sliding sync (MSC4186) at /_matrix/client/unstable/org.matrix.simplified_msc3575/sync:
// connections and pos, lists (ordering, ranges, filters), room subscriptions and
// what each room entry carries, first time and afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sleep } from "../helpers/assert";
import { CLIENT, createRoom, getRoom, inviteUser, joinRoom, leaveRoom, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { allRoomsList, byBumpStamp, sliding, slidingRaw } from "../helpers/sliding";
import { ids } from "../helpers/sync";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = (name = "u") => server.register(`ss-${name}-${++counter}`);

/** A list with only the state asked for, for precise assertions. */
const list = (range: [number, number] | null, extra: Record<string, unknown> = {}) => ({
  ...(range ? { ranges: [range] } : {}),
  timeline_limit: 1,
  required_state: [],
  ...extra,
});

async function roomsWithMessages(user: User, n: number): Promise<string[]> {
  const rooms: string[] = [];
  for (let i = 0; i < n; i++) {
    const roomId = await createRoom(server, user, { name: `Room ${i}` });
    await sendMessage(server, user, roomId, `message in ${i}`);
    rooms.push(roomId);
  }
  return rooms;
}

describe("discovery and connections", () => {
  test("/versions advertises simplified sliding sync", async () => {
    const response = await server.request("GET", "/_matrix/client/versions");
    expect(response.body.unstable_features["org.matrix.simplified_msc3575"]).toBe(true);
  });

  test("needs an access token", async () => {
    const response = await server.request("POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", { body: {} });
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });

  test("an unknown pos is 400 M_UNKNOWN_POS; starting again without pos recovers", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Recover" });
    for (const pos of ["s1_999999", "garbage", ""]) {
      const response = await slidingRaw(server, alice, { conn_id: "main", lists: { all: list([0, 9]) } }, { pos });
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBe("M_UNKNOWN_POS");
    }
    const fresh = await sliding(server, alice, { conn_id: "main", lists: { all: list([0, 9]) } });
    expect(fresh.rooms[roomId].initial).toBe(true);
    expect(fresh.rooms[roomId].name).toBe("Recover");
  });

  test("a pos is scoped to its connection, and a restart forgets the old connection's positions", async () => {
    const alice = await newUser("alice");
    await createRoom(server, alice, { name: "Scoped" });
    const a = await sliding(server, alice, { conn_id: "a", lists: { all: list([0, 9]) } });
    const wrongConn = await slidingRaw(server, alice, { conn_id: "b", lists: { all: list([0, 9]) } }, { pos: a.pos });
    expect(wrongConn.body.errcode).toBe("M_UNKNOWN_POS");
    const bob = await newUser("bob");
    const otherUser = await slidingRaw(server, bob, { conn_id: "a", lists: { all: list([0, 9]) } }, { pos: a.pos });
    expect(otherUser.body.errcode).toBe("M_UNKNOWN_POS");
    // Starting "a" again drops its positions.
    await sliding(server, alice, { conn_id: "a", lists: { all: list([0, 9]) } });
    const stale = await slidingRaw(server, alice, { conn_id: "a", lists: { all: list([0, 9]) } }, { pos: a.pos });
    expect(stale.body.errcode).toBe("M_UNKNOWN_POS");
  });

  test("retrying with the same pos answers the same changes again (the first answer may have been lost)", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Retry" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    const eventId = await sendMessage(server, alice, roomId, "maybe lost");
    const attempt1 = await sliding(server, alice, body, { pos: first.pos });
    const attempt2 = await sliding(server, alice, body, { pos: first.pos });
    expect(ids(attempt1.rooms[roomId].timeline)).toEqual([eventId]);
    expect(ids(attempt2.rooms[roomId].timeline)).toEqual([eventId]);
    // Using the newer pos: nothing left to send.
    const after = await sliding(server, alice, body, { pos: attempt2.pos });
    expect(after.rooms).toEqual({});
  });

  test("pos and timeout are also accepted in the body (MSC4186's later shape)", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Body" });
    const first = await sliding(server, alice, { conn_id: "main", lists: { all: { range: [0, 9], timeline_limit: 1, required_state: { include: [] } } } });
    expect(first.rooms[roomId].initial).toBe(true);
    const polling = server.request("POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", {
      token: alice.access_token,
      body: { conn_id: "main", pos: first.pos, timeout: 5000, lists: { all: { range: [0, 9], timeline_limit: 1, required_state: { include: [] } } } },
    });
    await sleep(100);
    const eventId = await sendMessage(server, alice, roomId, "in the body");
    const response = await polling;
    expect(response.status).toBe(200);
    expect(ids(response.body.rooms[roomId].timeline)).toEqual([eventId]);
  });

  test("malformed requests are 400", async () => {
    const alice = await newUser("alice");
    const bad = [
      { lists: { all: { ranges: [[5, 2]], timeline_limit: 1 } } },
      { lists: { all: { ranges: [[0, 1]], timeline_limit: -1 } } },
      { lists: { all: { ranges: [[0, 1]], required_state: [["only-one"]] } } },
      { lists: { all: { ranges: [[0, 1]], filters: { is_dm: "yes" } } } },
      { lists: [] },
    ];
    for (const body of bad) {
      const response = await slidingRaw(server, alice, body);
      expect(response.status).toBe(400);
      expect(response.body.errcode).toBe("M_INVALID_PARAM");
    }
  });
});

describe("long-poll", () => {
  test("waits until something concerns the user; a message wakes it", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Wait" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    const started = performance.now();
    const polling = sliding(server, alice, body, { pos: first.pos, timeout: 5000 });
    await sleep(150);
    const eventId = await sendMessage(server, alice, roomId, "wake");
    const woken = await polling;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(ids(woken.rooms[roomId].timeline)).toEqual([eventId]);
  });

  test("times out with an empty answer whose pos still works", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Quiet" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    const started = performance.now();
    const quiet = await sliding(server, alice, body, { pos: first.pos, timeout: 300 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(quiet.rooms).toEqual({});
    expect(quiet.lists.all.count).toBe(1);
    const eventId = await sendMessage(server, alice, roomId, "later");
    const next = await sliding(server, alice, body, { pos: quiet.pos });
    expect(ids(next.rooms[roomId].timeline)).toEqual([eventId]);
  });

  test("a presence change (not carried by sliding sync) keeps it waiting; a message after it still answers", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { name: "Presence", preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    const settled = await sliding(server, alice, body, { pos: first.pos });
    const polling = sliding(server, alice, body, { pos: settled.pos, timeout: 5000 });
    await sleep(100);
    const presence = await server.request("PUT", `${CLIENT}/presence/${encodeURIComponent(bob.user_id)}/status`, { token: bob.access_token, body: { presence: "unavailable" } });
    expect(presence.status).toBe(200);
    await sleep(200);
    const eventId = await sendMessage(server, bob, roomId, "after presence");
    const woken = await polling;
    expect(ids(woken.rooms[roomId].timeline)).toEqual([eventId]);
  });

  test("activity in a room the user is not in does not wake it", async () => {
    const alice = await newUser("alice");
    const carol = await newUser("carol");
    await createRoom(server, alice, { name: "Mine" });
    const elsewhere = await createRoom(server, carol, { name: "Not mine" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    const polling = sliding(server, alice, body, { pos: first.pos, timeout: 400 });
    await sleep(50);
    await sendMessage(server, carol, elsewhere, "not for alice");
    const quiet = await polling;
    expect(quiet.rooms).toEqual({});
  });
});

describe("lists: ordering and ranges", () => {
  test("rooms come in order of recent activity; ranges cut the ordered list; count ignores the range", async () => {
    const alice = await newUser("alice");
    const rooms = await roomsWithMessages(alice, 5); // rooms[4]! is the most recent
    const body = { conn_id: "main", lists: { all: list([0, 2]) } };
    const first = await sliding(server, alice, body);
    expect(first.lists.all.count).toBe(5);
    expect(byBumpStamp(first.rooms)).toEqual([rooms[4]!, rooms[3]!, rooms[2]!]);
    for (const roomId of [rooms[4]!, rooms[3]!, rooms[2]!]) expect(first.rooms[roomId].lists).toEqual(["all"]);

    // A message in the oldest room brings it to the top: it enters the range, new to the connection.
    const eventId = await sendMessage(server, alice, rooms[0]!, "bump the oldest");
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(Object.keys(second.rooms)).toEqual([rooms[0]!]);
    expect(second.rooms[rooms[0]!].initial).toBe(true);
    expect(ids(second.rooms[rooms[0]!].timeline)).toEqual([eventId]);
    expect(second.rooms[rooms[0]!].bump_stamp).toBeGreaterThan(first.rooms[rooms[4]!].bump_stamp);

    // Growing the range sends only the rooms the connection has not had.
    const grown = await sliding(server, alice, { conn_id: "main", lists: { all: list([0, 9]) } }, { pos: second.pos });
    expect(Object.keys(grown.rooms).sort()).toEqual([rooms[1]!].sort());
    expect(grown.lists.all.count).toBe(5);
  });

  test("several ranges, and no range at all (every room)", async () => {
    const alice = await newUser("alice");
    const rooms = await roomsWithMessages(alice, 6); // newest first: 5 4 3 2 1 0
    const ranged = await sliding(server, alice, { conn_id: "r", lists: { all: list(null, { ranges: [[0, 0], [3, 4]] }) } });
    expect(byBumpStamp(ranged.rooms)).toEqual([rooms[5]!, rooms[2]!, rooms[1]!]);
    const everything = await sliding(server, alice, { conn_id: "e", lists: { all: list(null) } });
    expect(byBumpStamp(everything.rooms)).toEqual([...rooms].reverse());
  });

  test("only bumping events move a room: state changes and receipts do not", async () => {
    const alice = await newUser("alice");
    const rooms = await roomsWithMessages(alice, 2);
    const body = { conn_id: "main", lists: { all: list([0, 0]) } };
    const first = await sliding(server, alice, body);
    expect(Object.keys(first.rooms)).toEqual([rooms[1]!]);
    await putState(server, alice, rooms[0]!, "m.room.topic", "", { topic: "not a bump" });
    const second = await sliding(server, alice, body, { pos: first.pos });
    // Room 0 did not move into the range, so it is not sent.
    expect(second.rooms).toEqual({});
    // A sticker bumps it (MSC4186 bump_stamp types).
    await sendMessage(server, alice, rooms[0]!, { body: "sticker", url: "mxc://x/y", info: {} }, "m.sticker");
    const third = await sliding(server, alice, body, { pos: second.pos });
    expect(Object.keys(third.rooms)).toEqual([rooms[0]!]);
  });

  test("joins, invites, leaves and kicks change the list as the MSC says", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const aliceRooms = await roomsWithMessages(alice, 2);
    const bobsOwn = await createRoom(server, bob, { name: "Bob's own" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, bob, body);
    expect(first.lists.all.count).toBe(1);

    // An invite: stripped state only, with invite_state for matrix-rust-sdk.
    await inviteUser(server, alice, aliceRooms[0]!, bob.user_id);
    const invited = await sliding(server, bob, body, { pos: first.pos });
    const invite = invited.rooms[aliceRooms[0]!];
    expect(invited.lists.all.count).toBe(2);
    expect(invite.initial).toBe(true);
    expect(invite.membership).toBe("invite");
    expect(invite.invite_state.map((e: any) => e.type)).toContain("m.room.name");
    expect(invite.timeline).toBeUndefined();
    expect(invite.invite_state.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "invite" } });

    // Joining: the room again, whole (initial), now with its timeline.
    await joinRoom(server, bob, aliceRooms[0]!);
    const joined = await sliding(server, bob, body, { pos: invited.pos });
    const room = joined.rooms[aliceRooms[0]!];
    expect(room.initial).toBe(true);
    expect(room.membership).toBe("join");
    expect(room.timeline.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id });
    expect(room.joined_count).toBe(2);

    // Alice sees the join as a change of her room: timeline and joined_count only.
    const aliceFirst = await sliding(server, alice, body);
    await sendMessage(server, bob, aliceRooms[0]!, "hi alice");
    const aliceNext = await sliding(server, alice, body, { pos: aliceFirst.pos });
    expect(aliceNext.rooms[aliceRooms[0]!].initial).toBeUndefined();
    expect(aliceNext.rooms[aliceRooms[0]!].joined_count).toBeUndefined();

    // Leaving: the connection that had the room sees it go, once.
    await leaveRoom(server, bob, bobsOwn);
    const left = await sliding(server, bob, body, { pos: joined.pos });
    expect(left.rooms[bobsOwn].membership).toBe("leave");
    expect(left.rooms[bobsOwn].timeline.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "leave" } });
    const afterLeft = await sliding(server, bob, body, { pos: left.pos });
    expect(afterLeft.rooms[bobsOwn]).toBeUndefined();
    // A new connection does not get rooms the user left on their own.
    const fresh = await sliding(server, bob, { conn_id: "fresh", lists: { all: list([0, 9]) } });
    expect(fresh.rooms[bobsOwn]).toBeUndefined();
    expect(fresh.lists.all.count).toBe(1);

    // Kicked: always shown, even to a new connection.
    const kick = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(aliceRooms[0]!)}/kick`, {
      token: alice.access_token,
      body: { user_id: bob.user_id, reason: "bye" },
    });
    expect(kick.status).toBe(200);
    const kicked = await sliding(server, bob, { conn_id: "kicked", lists: { all: list([0, 9]) } });
    expect(kicked.rooms[aliceRooms[0]!].membership).toBe("leave");
    expect(kicked.rooms[aliceRooms[0]!].timeline.at(-1).content).toMatchObject({ membership: "leave", reason: "bye" });

    // Forgotten: gone from the list, as from /sync.
    const forget = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(aliceRooms[0]!)}/forget`, { token: bob.access_token, body: {} });
    expect(forget.status).toBe(200);
    const afterForget = await sliding(server, bob, { conn_id: "forgot", lists: { all: list([0, 9]) } });
    expect(afterForget.rooms[aliceRooms[0]!]).toBeUndefined();
  });
});

test("a rejected invite shows only the user's own leave, nothing of the room", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const roomId = await createRoom(server, alice, { name: "Secret name", preset: "private_chat" });
  await sendMessage(server, alice, roomId, "not for bob");
  await inviteUser(server, alice, roomId, bob.user_id);
  const body = { conn_id: "main", lists: { all: list([0, 9], { timeline_limit: 5, required_state: [["*", "*"]] }) } };
  const first = await sliding(server, bob, body);
  expect(first.rooms[roomId].membership).toBe("invite");
  await leaveRoom(server, bob, roomId);
  const second = await sliding(server, bob, body, { pos: first.pos });
  const room = second.rooms[roomId];
  expect(room.membership).toBe("leave");
  expect(room.timeline.map((e: any) => [e.type, e.state_key, e.content.membership])).toEqual([["m.room.member", bob.user_id, "leave"]]);
  expect(room.required_state.length).toBe(1);
  expect(room.name).toBeUndefined();
  expect(room.joined_count).toBeUndefined();
  const third = await sliding(server, bob, body, { pos: second.pos });
  expect(third.rooms).toEqual({});
});

describe("lists: filters", () => {
  test("is_invite, is_encrypted, room_types and not_room_types", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const plain = await createRoom(server, bob, { name: "plain" });
    const encrypted = await createRoom(server, bob, { name: "enc", initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] });
    const space = await createRoom(server, bob, { name: "space", creation_content: { type: "m.space" } });
    const invite = await createRoom(server, alice, { name: "invite" });
    await inviteUser(server, alice, invite, bob.user_id);
    const lists = {
      invites: list([0, 9], { filters: { is_invite: true } }),
      joined: list([0, 9], { filters: { is_invite: false } }),
      enc: list([0, 9], { filters: { is_encrypted: true } }),
      clear: list([0, 9], { filters: { is_encrypted: false, is_invite: false } }),
      spaces: list([0, 9], { filters: { room_types: ["m.space"] } }),
      rooms: list([0, 9], { filters: { not_room_types: ["m.space"] } }),
      untyped: list([0, 9], { filters: { room_types: [null] } }),
      conflict: list([0, 9], { filters: { room_types: ["m.space"], not_room_types: ["m.space"] } }),
    };
    const response = await sliding(server, bob, { conn_id: "f", lists });
    const roomsOf = (name: string) => Object.entries(response.rooms).filter(([, room]: [string, any]) => room.lists?.includes(name)).map(([id]) => id).sort();
    expect(roomsOf("invites")).toEqual([invite]);
    expect(roomsOf("joined")).toEqual([plain, encrypted, space].sort());
    expect(roomsOf("enc")).toEqual([encrypted]);
    expect(roomsOf("clear")).toEqual([plain, space].sort());
    expect(roomsOf("spaces")).toEqual([space]);
    expect(roomsOf("rooms")).toEqual([plain, encrypted, invite].sort());
    expect(roomsOf("untyped")).toEqual([plain, encrypted, invite].sort());
    expect(response.lists.conflict.count).toBe(0);
    // The MSC's later name of the invite filter.
    const later = await sliding(server, bob, { conn_id: "g", lists: { invites: list([0, 9], { filters: { is_invited: true } }) } });
    expect(Object.keys(later.rooms)).toEqual([invite]);
  });

  test("is_dm follows m.direct; a change of m.direct updates is_dm of a room already sent", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const dm = await createRoom(server, alice, { is_direct: true, invite: [bob.user_id] });
    const group = await createRoom(server, alice, { name: "group" });
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/account_data/m.direct`, {
      token: alice.access_token,
      body: { [bob.user_id]: [dm] },
    });
    const body = { conn_id: "dm", lists: { dms: list([0, 9], { filters: { is_dm: true } }), others: list([0, 9], { filters: { is_dm: false } }) } };
    const first = await sliding(server, alice, body);
    expect(first.rooms[dm].lists).toEqual(["dms"]);
    expect(first.rooms[dm].is_dm).toBe(true);
    expect(first.rooms[group].lists).toEqual(["others"]);
    expect(first.rooms[group].is_dm).toBeUndefined();
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/account_data/m.direct`, {
      token: alice.access_token,
      body: { [bob.user_id]: [dm, group] },
    });
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(second.lists.dms.count).toBe(2);
    expect(second.rooms[group].is_dm).toBe(true);
    // No longer a DM: is_dm false, once.
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/account_data/m.direct`, {
      token: alice.access_token,
      body: { [bob.user_id]: [group] },
    });
    const third = await sliding(server, alice, body, { pos: second.pos });
    expect(third.rooms[dm].is_dm).toBe(false);
    expect(third.rooms[group]).toBeUndefined();
    const fourth = await sliding(server, alice, body, { pos: third.pos });
    expect(fourth.rooms).toEqual({});
  });

  test("tags and not_tags (not_tags wins), spaces by m.space.child", async () => {
    const alice = await newUser("alice");
    const fav = await createRoom(server, alice, { name: "fav" });
    const low = await createRoom(server, alice, { name: "low" });
    const both = await createRoom(server, alice, { name: "both" });
    const space = await createRoom(server, alice, { name: "space", creation_content: { type: "m.space" } });
    const tag = (roomId: string, name: string) =>
      server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/rooms/${encodeURIComponent(roomId)}/tags/${name}`, { token: alice.access_token, body: {} });
    await tag(fav, "m.favourite");
    await tag(low, "m.lowpriority");
    await tag(both, "m.favourite");
    await tag(both, "m.lowpriority");
    await putState(server, alice, space, "m.space.child", fav, { via: ["localhost"] });
    await putState(server, alice, space, "m.space.child", low, {}); // no via: not a child
    const response = await sliding(server, alice, {
      conn_id: "t",
      lists: {
        favourites: list([0, 9], { filters: { tags: ["m.favourite"], not_tags: ["m.lowpriority"] } }),
        notLow: list([0, 9], { filters: { not_tags: ["m.lowpriority"], not_room_types: ["m.space"] } }),
        inSpace: list([0, 9], { filters: { spaces: [space] } }),
        unknownSpace: list([0, 9], { filters: { spaces: ["!nowhere:localhost"] } }),
      },
    });
    const roomsOf = (name: string) => Object.entries(response.rooms).filter(([, room]: [string, any]) => room.lists?.includes(name)).map(([id]) => id).sort();
    expect(roomsOf("favourites")).toEqual([fav]);
    expect(roomsOf("notLow")).toEqual([fav]);
    expect(roomsOf("inSpace")).toEqual([fav]);
    expect(response.lists.unknownSpace.count).toBe(0);
  });
});

describe("room entries", () => {
  test("the first entry is whole; later ones carry exactly what changed", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { name: "Changes", preset: "public_chat" });
    const firstMessage = await sendMessage(server, alice, roomId, "first");
    const body = { conn_id: "main", lists: { all: list([0, 9], { timeline_limit: 5 }) } };
    const first = await sliding(server, alice, body);
    const room = first.rooms[roomId];
    expect(room).toMatchObject({ initial: true, name: "Changes", joined_count: 1, invited_count: 0, notification_count: 0, highlight_count: 0, membership: "join", num_live: 0 });
    expect(room.heroes).toBeUndefined(); // the room has a name
    expect(room.timeline.length).toBe(5);
    expect(room.timeline.at(-1).event_id).toBe(firstMessage);
    expect(room.limited).toBe(true);
    expect(room.bump_stamp).toBeNumber();

    // Nothing happened: nothing is sent.
    const idle = await sliding(server, alice, body, { pos: first.pos });
    expect(idle.rooms).toEqual({});

    // Bob joins and speaks: the timeline, joined_count, bump_stamp and alice's unread count change; nothing else.
    await joinRoom(server, bob, roomId);
    const said = await sendMessage(server, bob, roomId, "hello");
    const next = await sliding(server, alice, body, { pos: idle.pos });
    const update = next.rooms[roomId];
    expect(update.initial).toBeUndefined();
    expect(update.timeline.map((e: any) => e.type)).toEqual(["m.room.member", "m.room.message"]);
    expect(update.num_live).toBe(2);
    expect(update.limited).toBeUndefined();
    expect(update.joined_count).toBe(2);
    expect(update.notification_count).toBe(1);
    expect(update.bump_stamp).toBeGreaterThan(room.bump_stamp);
    expect(update.name).toBeUndefined();
    expect(update.invited_count).toBeUndefined();
    expect(update.highlight_count).toBeUndefined();
    expect(update.membership).toBeUndefined();

    // Alice reads: only the count changes (a receipt is no timeline event).
    const receipt = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(said)}`, { token: alice.access_token, body: {} });
    expect(receipt.status).toBe(200);
    const read = await sliding(server, alice, body, { pos: next.pos });
    expect(read.rooms[roomId]).toEqual({ notification_count: 0, lists: ["all"] });

    // A mention of alice raises her highlight count (push rules: .m.rule.is_user_mention).
    await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "look here", "m.mentions": { user_ids: [alice.user_id] } });
    const mentioned = await sliding(server, alice, body, { pos: read.pos });
    expect(mentioned.rooms[roomId].notification_count).toBe(1);
    expect(mentioned.rooms[roomId].highlight_count).toBe(1);

    // The name is removed: null says so.
    await putState(server, alice, roomId, "m.room.name", "", {});
    const renamed = await sliding(server, alice, body, { pos: mentioned.pos });
    expect(renamed.rooms[roomId].name).toBe(bob.user_id.slice(1).split(":")[0]);
    expect(renamed.rooms[roomId].heroes).toEqual([{ user_id: bob.user_id, displayname: bob.user_id.slice(1).split(":")[0] }]);
  });

  test("events come as /sync serves them: without room_id, with transaction_id for the sender's device and bundled edits", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { name: "Format", preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const original = await sendMessage(server, alice, roomId, "typo");
    await sendMessage(server, alice, roomId, {
      msgtype: "m.text",
      body: "* fixed",
      "m.new_content": { msgtype: "m.text", body: "fixed" },
      "m.relates_to": { rel_type: "m.replace", event_id: original },
    });
    const body = { conn_id: "main", lists: { all: list([0, 9], { timeline_limit: 5, required_state: [["m.room.name", ""]] }) } };
    for (const user of [alice, bob]) {
      const room = (await sliding(server, user, body)).rooms[roomId];
      for (const event of [...room.timeline, ...room.required_state]) {
        expect(event.room_id).toBeUndefined();
        expect(event.event_id).toStartWith("$");
        expect(event.unsigned.age).toBeNumber();
      }
      const edited = room.timeline.find((event: any) => event.event_id === original);
      expect(edited.unsigned["m.relations"]["m.replace"].event_id).toBeString();
      // The same event as /sync gives the same reader.
      const synced = (await server.request("GET", `${CLIENT}/sync?filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 5 } } }))}`, { token: user.access_token })).body;
      const viaSync = synced.rooms.join[roomId].timeline.events.find((event: any) => event.event_id === original);
      const withoutAges = (value: unknown) => JSON.parse(JSON.stringify(value, (key, v) => (key === "age" ? undefined : v)));
      expect(withoutAges(edited)).toEqual(withoutAges(viaSync));
      // Only the sender's own device sees its transaction id.
      expect(edited.unsigned.transaction_id === undefined).toBe(user === bob);
    }
  });

  test("the room name follows the spec's algorithm when there is no m.room.name", async () => {
    const alice = await newUser("alice");
    const users = [await newUser("b"), await newUser("c"), await newUser("d")];
    const display = (user: User) => user.user_id.slice(1).split(":")[0];
    const alone = await createRoom(server, alice, {});
    const aliased = await createRoom(server, alice, { room_alias_name: `alias-${counter}` });
    const dm = await createRoom(server, alice, { invite: [users[0]!.user_id] });
    const group = await createRoom(server, alice, { preset: "public_chat" });
    for (const user of users) await joinRoom(server, user, group);
    const response = await sliding(server, alice, { conn_id: "n", lists: { all: list([0, 9]) } });
    expect(response.rooms[alone].name).toBe("Empty Room");
    expect(response.rooms[aliased].name).toBe(`#alias-${counter}:localhost`);
    expect(response.rooms[dm].name).toBe(display(users[0]!));
    expect(response.rooms[dm].invited_count).toBe(1);
    expect(response.rooms[group].name).toBe(`${display(users[0]!)}, ${display(users[1]!)} and ${display(users[2]!)}`);
    expect(response.rooms[group].heroes.map((h: any) => h.user_id)).toEqual(users.map((u) => u.user_id));
  });

  test("avatar: sent when set, null when removed", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Pic" });
    await putState(server, alice, roomId, "m.room.avatar", "", { url: "mxc://localhost/pic" });
    const body = { conn_id: "main", lists: { all: list([0, 9]) } };
    const first = await sliding(server, alice, body);
    expect(first.rooms[roomId].avatar).toBe("mxc://localhost/pic");
    await putState(server, alice, roomId, "m.room.avatar", "", {});
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(second.rooms[roomId].avatar).toBeNull();
  });

  test("prev_batch pages back with /messages from just before the timeline", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Paging" });
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) sent.push(await sendMessage(server, alice, roomId, `m${i}`));
    const response = await sliding(server, alice, { conn_id: "p", lists: { all: list([0, 9], { timeline_limit: 2 }) } });
    const room = response.rooms[roomId];
    expect(ids(room.timeline)).toEqual(sent.slice(2));
    const page = await getRoom(server, alice, roomId, "messages", { dir: "b", from: room.prev_batch, limit: "2" });
    expect(page.status).toBe(200);
    expect(ids(page.body.chunk)).toEqual([sent[1]!, sent[0]!]);
    // The pos itself is a token /messages accepts (MSC4186).
    const fromPos = await getRoom(server, alice, roomId, "messages", { dir: "b", from: response.pos, limit: "1" });
    expect(ids(fromPos.body.chunk)).toEqual([sent[3]!]);
  });

  test("a gap longer than timeline_limit is limited, with the newest events", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Gap" });
    const body = { conn_id: "main", lists: { all: list([0, 9], { timeline_limit: 2 }) } };
    const first = await sliding(server, alice, body);
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) sent.push(await sendMessage(server, alice, roomId, `g${i}`));
    const next = await sliding(server, alice, body, { pos: first.pos });
    expect(ids(next.rooms[roomId].timeline)).toEqual(sent.slice(2));
    expect(next.rooms[roomId].limited).toBe(true);
    expect(next.rooms[roomId].num_live).toBe(2);
  });
});

describe("required_state", () => {
  test("specific types and keys, $ME, type wildcards and everything", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { name: "State", topic: "a topic", preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const stateOf = async (requiredState: unknown) => {
      const response = await sliding(server, alice, { conn_id: `rs-${++counter}`, lists: { all: list([0, 9], { required_state: requiredState }) } });
      return (response.rooms[roomId].required_state ?? []).map((e: any) => `${e.type}|${e.state_key}`).sort();
    };
    expect(await stateOf([["m.room.name", ""], ["m.room.topic", ""], ["m.room.nothing", ""]])).toEqual(["m.room.name|", "m.room.topic|"]);
    expect(await stateOf([["m.room.member", "$ME"]])).toEqual([`m.room.member|${alice.user_id}`]);
    expect(await stateOf([["m.room.member", "*"]])).toEqual([`m.room.member|${alice.user_id}`, `m.room.member|${bob.user_id}`].sort());
    const all = await stateOf([["*", "*"]]);
    expect(all).toContain("m.room.create|");
    expect(all).toContain(`m.room.member|${bob.user_id}`);
    expect(all.length).toBe((await getRoom(server, alice, roomId, "state")).body.length);
    // The MSC's later shape: include / exclude.
    expect(await stateOf({ include: [{}], exclude: [{ type: "m.room.member" }] })).toEqual(all.filter((key: string) => !key.startsWith("m.room.member|")));
    expect(await stateOf({ include: [{ state_key: bob.user_id }] })).toEqual([`m.room.member|${bob.user_id}`]);
  });

  test("$LAZY sends members of the timeline's senders, each once per connection", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await createRoom(server, alice, { name: "Lazy", preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    await joinRoom(server, carol, roomId);
    await sendMessage(server, bob, roomId, "bob speaks");
    const body = { conn_id: "lazy", lists: { all: list([0, 9], { timeline_limit: 1, required_state: [["m.room.member", "$LAZY"], ["m.room.name", ""]] }) } };
    const members = (room: any) => (room.required_state ?? []).filter((e: any) => e.type === "m.room.member").map((e: any) => e.state_key).sort();
    const first = await sliding(server, alice, body);
    expect(members(first.rooms[roomId])).toEqual([bob.user_id]);

    // Bob again: already sent. Carol: new.
    await sendMessage(server, bob, roomId, "bob again");
    const second = await sliding(server, alice, body, { pos: first.pos });
    expect(members(second.rooms[roomId])).toEqual([]);
    await sendMessage(server, carol, roomId, "carol speaks");
    const third = await sliding(server, alice, body, { pos: second.pos });
    expect(members(third.rooms[roomId])).toEqual([carol.user_id]);
    expect(third.rooms[roomId].required_state.some((e: any) => e.type === "m.room.name")).toBe(false);

    // A membership change without a gap reaches the client even when no one speaks.
    await putState(server, carol, roomId, "m.room.member", carol.user_id, { membership: "join", displayname: "Carol!" });
    const fourth = await sliding(server, alice, body, { pos: third.pos });
    const carolMember = fourth.rooms[roomId].required_state.find((e: any) => e.state_key === carol.user_id);
    expect(carolMember.content.displayname).toBe("Carol!");
  });

  test("state changes matching required_state are sent; others are not", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Before" });
    const body = { conn_id: "main", lists: { all: list([0, 9], { required_state: [["m.room.name", ""]] }) } };
    const first = await sliding(server, alice, body);
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "ignored" });
    await putState(server, alice, roomId, "m.room.name", "", { name: "After" });
    const second = await sliding(server, alice, body, { pos: first.pos });
    const room = second.rooms[roomId];
    expect(room.required_state.map((e: any) => [e.type, e.content.name])).toEqual([["m.room.name", "After"]]);
    expect(room.name).toBe("After");
  });

  test("a wider required_state sends the newly asked-for state at once", async () => {
    const alice = await newUser("alice");
    const roomId = await createRoom(server, alice, { name: "Widen", topic: "topic" });
    const first = await sliding(server, alice, { conn_id: "w", lists: { all: list([0, 9], { required_state: [["m.room.name", ""]] }) } });
    const wider = await sliding(server, alice, { conn_id: "w", lists: { all: list([0, 9], { required_state: [["m.room.name", ""], ["m.room.topic", ""]] }) } }, { pos: first.pos });
    expect(wider.rooms[roomId].required_state.map((e: any) => e.type).sort()).toEqual(["m.room.name", "m.room.topic"]);
  });
});

describe("room subscriptions", () => {
  test("a subscribed room outside the lists is sent with its own config; a larger timeline_limit expands the timeline", async () => {
    const alice = await newUser("alice");
    const rooms = await roomsWithMessages(alice, 3);
    for (let i = 0; i < 3; i++) await sendMessage(server, alice, rooms[0]!, `old-room ${i}`);
    // rooms[0]! is the newest now; list only the top one with timeline 1.
    const body = { conn_id: "s", lists: { all: list([0, 0]) } };
    const first = await sliding(server, alice, body);
    expect(Object.keys(first.rooms)).toEqual([rooms[0]!]);
    expect(first.rooms[rooms[0]!].timeline.length).toBe(1);

    // Subscribing to the room shown with timeline 5: the latest 5 events, flagged as an expansion.
    const sub = await sliding(server, alice, { ...body, room_subscriptions: { [rooms[0]!]: { timeline_limit: 5, required_state: [["m.room.create", ""]] } } }, { pos: first.pos });
    const expanded = sub.rooms[rooms[0]!];
    expect(expanded.timeline.length).toBe(5);
    expect(expanded.unstable_expanded_timeline).toBe(true);
    expect(expanded.required_state.map((e: any) => e.type)).toEqual(["m.room.create"]);
    expect(expanded.lists).toEqual(["all"]);

    // Subscribing to a room outside the range: sent, without `lists`.
    const outside = await sliding(server, alice, { ...body, room_subscriptions: { [rooms[1]!]: { timeline_limit: 2, required_state: [] } } }, { pos: sub.pos });
    expect(outside.rooms[rooms[1]!].initial).toBe(true);
    expect(outside.rooms[rooms[1]!].lists).toBeUndefined();
  });

  test("rooms the user may not see are ignored", async () => {
    const alice = await newUser("alice");
    const carol = await newUser("carol");
    const secret = await createRoom(server, carol, { name: "secret" });
    const response = await sliding(server, alice, { conn_id: "x", room_subscriptions: { [secret]: { timeline_limit: 5, required_state: [["*", "*"]] }, "!missing:localhost": { timeline_limit: 1 } } });
    expect(response.rooms).toEqual({});
  });
});
