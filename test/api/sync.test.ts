// GET /sync and filters (spec: Client-Server API, "Syncing", "Filtering",
// "Lazy-loading room members"; sync.yaml, filter.yaml). Every scenario runs
// against a real server: rooms are made and changed through the API, and what
// /sync returns is compared with what /messages says the room holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, getRoom, inviteUser, joinRoom, leaveRoom, putState, sendMessage, timeline, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { bodies, ids, sync, syncPath } from "../helpers/sync";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** A fresh account; `name` keeps ids readable (and orders them where a test needs it). */
const newUser = (name = "u") => server.register(`sync-${name}-${++counter}`);

const roomPath = (roomId: string, rest: string) => `${CLIENT}/rooms/${encodeURIComponent(roomId)}/${rest}`;

async function post(user: User, path: string, body: unknown = {}) {
  const response = await server.request("POST", path, { token: user.access_token, body });
  if (response.status !== 200) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A public room of `owner`'s that `others` have joined. */
async function roomWith(owner: User, others: User[], body: Record<string, unknown> = {}): Promise<string> {
  const roomId = await createRoom(server, owner, { preset: "public_chat", ...body });
  for (const user of others) await joinRoom(server, user, roomId);
  return roomId;
}

async function sendMany(user: User, roomId: string, prefix: string, n: number): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < n; i++) sent.push(await sendMessage(server, user, roomId, `${prefix}${i}`));
  return sent;
}

/** /messages backwards from `from` (optionally down to `to`), every page, oldest first. */
async function pageBack(user: User, roomId: string, from: string, to?: string): Promise<any[]> {
  const events: any[] = [];
  let cursor: string | undefined = from;
  for (let page = 0; cursor !== undefined && page < 100; page++) {
    const query: Record<string, string> = { dir: "b", from: cursor, limit: "4" };
    if (to) query.to = to;
    const response = await getRoom(server, user, roomId, "messages", query);
    expect(response.status).toBe(200);
    events.push(...response.body.chunk);
    cursor = response.body.end;
  }
  return events.reverse();
}

/** The (type, state_key) → content view of a list of state events. */
function stateOf(events: any[]): Map<string, any> {
  return new Map(events.map((event) => [`${event.type}|${event.state_key}`, event]));
}

const memberKeys = (events: any[]) =>
  events
    .filter((event) => event.type === "m.room.member")
    .map((event) => event.state_key)
    .sort();

describe("initial sync", () => {
  test("has the spec's top-level shape, and accepts what Element Web sends", async () => {
    const user = await newUser();
    const response = await server.request("GET", `${CLIENT}/sync?_cacheBuster=1712345&set_presence=online&timeout=0`, { token: user.access_token });
    expect(response.status).toBe(200);
    const body = response.body;
    expect(body.next_batch).toBeString();
    expect(body.next_batch.length).toBeGreaterThan(0);
    expect(body.rooms).toEqual({ join: {}, invite: {}, leave: {}, knock: {} });
    expect(body.account_data.events).toBeArray();
    expect(body.to_device.events).toEqual([]);
    expect(body.device_lists).toEqual({ changed: [], left: [] });
    // The token works as `since` right away.
    const again = await sync(server, user, { since: body.next_batch });
    expect(again.rooms.join).toEqual({});
  });

  test("requires authentication", async () => {
    expectError(await server.request("GET", `${CLIENT}/sync`), 401, "M_MISSING_TOKEN");
  });

  test("the timeline keeps the filter's limit; prev_batch pages back to exactly the earlier events", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob]);
    await sendMany(alice, roomId, "m", 12);
    const body = await sync(server, bob, { filter: { room: { timeline: { limit: 5 } } } });
    const section = body.rooms.join[roomId];
    expect(section).toBeDefined();
    expect(bodies(section.timeline.events)).toEqual(["m7", "m8", "m9", "m10", "m11"]);
    expect(section.timeline.limited).toBe(true);
    expect(section.timeline.prev_batch).toBeString();
    // Events in sync carry no room_id (the room is the key).
    expect(section.timeline.events[0].room_id).toBeUndefined();

    const everything = ids(await timeline(server, bob, roomId));
    const earlier = await pageBack(bob, roomId, section.timeline.prev_batch);
    // No gap, no duplicate: the earlier events then the timeline are the whole room.
    expect([...ids(earlier), ...ids(section.timeline.events)]).toEqual(everything);
  });

  test("a short room is not limited", async () => {
    const alice = await newUser("alice");
    const roomId = await roomWith(alice, []);
    await sendMessage(server, alice, roomId, "only");
    const section = (await sync(server, alice, { filter: { room: { timeline: { limit: 100 } } } })).rooms.join[roomId];
    expect(section.timeline.limited).toBe(false);
    expect(ids(section.timeline.events)).toEqual(ids(await timeline(server, alice, roomId)));
    expect(section.state.events).toEqual([]);
  });

  test("state is the full state at the start of the timeline", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob], { name: "first name" });
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "a topic" });
    await sendMessage(server, alice, roomId, "before");
    const renameId = await putState(server, alice, roomId, "m.room.name", "", { name: "second name" });
    await sendMessage(server, alice, roomId, "after");

    const section = (await sync(server, bob, { filter: { room: { timeline: { limit: 2 } } } })).rooms.join[roomId];
    expect(ids(section.timeline.events)).toEqual([renameId, section.timeline.events[1].event_id]);
    const state = stateOf(section.state.events);
    // The rename is in the timeline: the state before it has the first name.
    expect(state.get("m.room.name|")?.content.name).toBe("first name");
    expect(state.get("m.room.topic|")?.content.topic).toBe("a topic");
    for (const key of ["m.room.create|", "m.room.power_levels|", "m.room.join_rules|", `m.room.member|${alice.user_id}`, `m.room.member|${bob.user_id}`]) {
      expect(state.has(key)).toBe(true);
    }
    // Nothing twice: no event is in both state and timeline.
    const timelineIds = new Set(ids(section.timeline.events));
    expect(section.state.events.filter((event: any) => timelineIds.has(event.event_id))).toEqual([]);
    // And the state equals the room's state at that point: current state but with the first name.
    const current = await getRoom(server, bob, roomId, "state");
    const expected = stateOf(current.body.filter((event: any) => event.type !== "m.room.name"));
    for (const [key, event] of expected) expect(state.get(key)?.event_id).toBe(event.event_id);
    expect(section.state.events.length).toBe(expected.size + 1);
  });

  test("lazy_load_members: only the timeline senders' and the user's own member events", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const dave = await newUser("dave");
    const roomId = await roomWith(alice, [bob, carol, dave], { name: "lazy" });
    await sendMany(bob, roomId, "b", 3);
    await sendMany(carol, roomId, "c", 2);

    const lazy = (await sync(server, dave, { filter: { room: { state: { lazy_load_members: true }, timeline: { limit: 4 } } } })).rooms.join[roomId];
    expect(bodies(lazy.timeline.events)).toEqual(["b1", "b2", "c0", "c1"]);
    expect(memberKeys(lazy.state.events)).toEqual([bob.user_id, carol.user_id, dave.user_id].sort());
    // The rest of the state is still there.
    expect(lazy.state.events.some((event: any) => event.type === "m.room.create")).toBe(true);
    expect(lazy.summary["m.joined_member_count"]).toBe(4);

    // Element's own filter: lazy loading with the default timeline limit.
    const element = (await sync(server, dave, { filter: { room: { state: { lazy_load_members: true } } } })).rooms.join[roomId];
    const senders = new Set(element.timeline.events.map((event: any) => event.sender));
    for (const userId of memberKeys(element.state.events)) expect(senders.has(userId) || userId === dave.user_id).toBe(true);

    // Without lazy loading every member is there.
    const full = (await sync(server, dave, { filter: { room: { timeline: { limit: 4 } } } })).rooms.join[roomId];
    expect(memberKeys(full.state.events)).toEqual([alice.user_id, bob.user_id, carol.user_id, dave.user_id].sort());
  });

  test("lazy_load_members: an incremental sync brings the member event of a sender the client has not seen", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob], { name: "lazy incremental" });
    await sendMany(alice, roomId, "a", 3);
    const filter = { room: { state: { lazy_load_members: true }, timeline: { limit: 3 } } };
    const first = await sync(server, alice, { filter });
    expect(memberKeys(first.rooms.join[roomId].state.events)).toEqual([alice.user_id]);

    const messageId = await sendMessage(server, bob, roomId, "hello from bob");
    const next = (await sync(server, alice, { filter, since: first.next_batch })).rooms.join[roomId];
    expect(ids(next.timeline.events)).toEqual([messageId]);
    expect(next.timeline.limited).toBe(false);
    // Spec: "the server will only return membership events for the sender of events in the timeline" —
    // and it must return those, or the client cannot show who bob is.
    expect(memberKeys(next.state.events)).toEqual([bob.user_id]);
  });

  for (const parameter of ["use_state_after", "org.matrix.msc4222.use_state_after"]) {
    test(`${parameter}: state_after (the state at the end of the timeline) replaces state`, async () => {
      const alice = await newUser("alice");
      const bob = await newUser("bob");
      const roomId = await roomWith(alice, [bob], { name: "before" });
      const renameId = await putState(server, alice, roomId, "m.room.name", "", { name: "after" });
      const query = { [parameter]: "true" };
      const body = await sync(server, bob, { query, filter: { room: { timeline: { limit: 2 } } } });
      const section = body.rooms.join[roomId];
      expect(section.state).toBeUndefined();
      expect(section.state_after).toBeDefined();
      const after = stateOf(section.state_after.events);
      expect(after.get("m.room.name|")?.event_id).toBe(renameId);
      expect(after.has(`m.room.member|${bob.user_id}`)).toBe(true);
      expect(after.has("m.room.create|")).toBe(true);

      // Incremental: the change inside the timeline is in state_after too; no state.
      const topicId = await putState(server, alice, roomId, "m.room.topic", "", { topic: "new" });
      const next = (await sync(server, bob, { query, since: body.next_batch })).rooms.join[roomId];
      expect(next.state).toBeUndefined();
      expect(ids(next.timeline.events)).toEqual([topicId]);
      expect(ids(next.state_after.events)).toEqual([topicId]);

      // Without the parameter: state, no state_after.
      const plain = (await sync(server, bob)).rooms.join[roomId];
      expect(plain.state).toBeDefined();
      expect(plain.state_after).toBeUndefined();
    });
  }
});

describe("incremental sync", () => {
  test("every reader gets the same event; only the sending device its transaction id; a redaction reaches the next sync", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await roomWith(alice, [bob, carol]);
    const tokens = await Promise.all([alice, bob, carol].map(async (user) => (await sync(server, user)).next_batch));
    const sent = await sendMessage(server, alice, roomId, { msgtype: "m.text", body: "shared", "m.mentions": {} });
    const sections = await Promise.all([alice, bob, carol].map(async (user, i) => (await sync(server, user, { since: tokens[i] })).rooms.join[roomId]));
    const [forAlice, forBob, forCarol] = sections.map((section) => section.timeline.events.find((event: any) => event.event_id === sent));
    const withoutAge = ({ unsigned: { age, ...unsigned }, ...event }: any) => ({ ...event, unsigned });
    expect(withoutAge(forBob)).toEqual(withoutAge(forCarol));
    expect(withoutAge(forBob)).toEqual({
      event_id: sent,
      type: "m.room.message",
      sender: alice.user_id,
      origin_server_ts: forBob.origin_server_ts,
      content: { msgtype: "m.text", body: "shared", "m.mentions": {} },
      unsigned: {},
    });
    expect(forBob.unsigned.age).toBeNumber();
    expect(forBob.room_id).toBeUndefined();
    expect(forAlice.unsigned.transaction_id).toBeString();
    expect({ ...withoutAge(forAlice), unsigned: {} }).toEqual(withoutAge(forBob));

    const after = await Promise.all([bob, carol].map(async (user) => (await sync(server, user)).next_batch));
    await server.request("PUT", roomPath(roomId, `redact/${encodeURIComponent(sent)}/r1`), { token: alice.access_token, body: { reason: "oops" } });
    for (const [i, user] of [bob, carol].entries()) {
      const again = (await sync(server, user, { since: after[i] })).rooms.join[roomId];
      const redaction = again.timeline.events.find((event: any) => event.type === "m.room.redaction");
      expect(redaction.redacts ?? redaction.content.redacts).toBe(sent);
      // Read afresh, the message is redacted, with the redaction that did it.
      const page = await server.request("GET", `${roomPath(roomId, "messages")}?dir=b&limit=5`, { token: user.access_token });
      const redacted = page.body.chunk.find((event: any) => event.event_id === sent);
      expect(redacted.content).toEqual({});
      expect(redacted.unsigned.redacted_because.event_id).toBe(redaction.event_id);
      const full = (await sync(server, user, { filter: { room: { timeline: { limit: 10 } } } })).rooms.join[roomId];
      const inSync = full.timeline.events.find((event: any) => event.event_id === sent);
      expect(inSync.content).toEqual({});
      expect(inSync.unsigned.redacted_because.event_id).toBe(redaction.event_id);
    }
  });

  test("returns exactly the new events, and nothing when nothing happened", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob]);
    await sendMany(alice, roomId, "old", 3);
    const first = await sync(server, bob);

    const sent = [await sendMessage(server, alice, roomId, "new0"), await sendMessage(server, bob, roomId, "new1"), await sendMessage(server, alice, roomId, "new2")];
    const next = await sync(server, bob, { since: first.next_batch });
    const section = next.rooms.join[roomId];
    expect(ids(section.timeline.events)).toEqual(sent);
    expect(section.timeline.limited).toBe(false);
    expect(section.state.events).toEqual([]);
    // The sender's own message carries its transaction id for the device that sent it.
    expect(section.timeline.events[1].unsigned?.transaction_id).toBeString();
    expect(section.timeline.events[0].unsigned?.transaction_id).toBeUndefined();

    const quiet = await sync(server, bob, { since: next.next_batch });
    expect(quiet.rooms.join[roomId]).toBeUndefined();
    // The same since token gives the same events again (nothing was consumed).
    const repeat = await sync(server, bob, { since: first.next_batch });
    expect(ids(repeat.rooms.join[roomId].timeline.events)).toEqual(sent);
  });

  test("a gappy sync is limited, carries the state changes of the gap in state, and prev_batch fills the gap exactly", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await roomWith(alice, [bob], { name: "gappy" });
    const filter = { room: { timeline: { limit: 3 } } };
    const first = await sync(server, bob, { filter });

    const topicId = await putState(server, alice, roomId, "m.room.topic", "", { topic: "changed in the gap" });
    await joinRoom(server, carol, roomId);
    await sendMany(alice, roomId, "g", 6);
    const next = (await sync(server, bob, { filter, since: first.next_batch })).rooms.join[roomId];
    expect(bodies(next.timeline.events)).toEqual(["g3", "g4", "g5"]);
    expect(next.timeline.limited).toBe(true);
    const state = stateOf(next.state.events);
    expect(state.get("m.room.topic|")?.event_id).toBe(topicId);
    expect(state.get(`m.room.member|${carol.user_id}`)?.content.membership).toBe("join");
    // Only what changed in the gap: the name, the create event and bob himself did not change.
    expect(state.has("m.room.name|")).toBe(false);
    expect(state.has("m.room.create|")).toBe(false);
    expect(next.state.events.length).toBe(2);
    // A member joined: the summary says so.
    expect(next.summary?.["m.joined_member_count"]).toBe(3);

    // The gap, from prev_batch back to the previous sync: exactly the missing events.
    const gap = await pageBack(bob, roomId, next.timeline.prev_batch, first.next_batch);
    const all = ids(await timeline(server, bob, roomId));
    const firstNew = all.indexOf(topicId);
    expect([...ids(gap), ...ids(next.timeline.events)]).toEqual(all.slice(firstNew));
  });

  test("a change of state inside the timeline is in the timeline, not in state", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob]);
    const first = await sync(server, bob);
    const topicId = await putState(server, alice, roomId, "m.room.topic", "", { topic: "t" });
    const next = (await sync(server, bob, { since: first.next_batch })).rooms.join[roomId];
    expect(ids(next.timeline.events)).toEqual([topicId]);
    expect(next.state.events).toEqual([]);
  });

  test("full_state=true returns the whole state again with a since token", async () => {
    const alice = await newUser("alice");
    const roomId = await roomWith(alice, [], { name: "full" });
    const first = await sync(server, alice);
    const again = (await sync(server, alice, { since: first.next_batch, query: { full_state: "true" } })).rooms.join[roomId];
    expect(again).toBeDefined();
    expect(stateOf([...again.state.events, ...again.timeline.events]).get("m.room.name|")?.content.name).toBe("full");
  });
});

describe("membership in sync", () => {
  test("an invite appears in rooms.invite with stripped state, once, then the room moves to join", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { preset: "private_chat", name: "Secret plans" });
    const first = await sync(server, bob);
    expect(first.rooms.invite[roomId]).toBeUndefined();

    await inviteUser(server, alice, roomId, bob.user_id);
    const invited = await sync(server, bob, { since: first.next_batch });
    expect(invited.rooms.join[roomId]).toBeUndefined();
    const stripped = invited.rooms.invite[roomId]?.invite_state.events;
    expect(stripped).toBeArray();
    const invite = stripped.find((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(invite).toMatchObject({ sender: alice.user_id, content: { membership: "invite" } });
    expect(stripped.find((event: any) => event.type === "m.room.name")?.content.name).toBe("Secret plans");
    expect(stripped.some((event: any) => event.type === "m.room.create")).toBe(true);
    // Stripped state: type, state_key, content, sender only.
    for (const event of stripped) expect(Object.keys(event).sort()).toEqual(["content", "sender", "state_key", "type"]);

    // An initial sync shows the pending invite too; an incremental one does not repeat it.
    expect((await sync(server, bob)).rooms.invite[roomId]).toBeDefined();
    const quiet = await sync(server, bob, { since: invited.next_batch });
    expect(quiet.rooms.invite[roomId]).toBeUndefined();

    await joinRoom(server, bob, roomId);
    const joined = await sync(server, bob, { since: invited.next_batch });
    expect(joined.rooms.invite[roomId]).toBeUndefined();
    const section = joined.rooms.join[roomId];
    expect(section).toBeDefined();
    const ownJoin = section.timeline.events.findLast((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id);
    expect(ownJoin?.content.membership).toBe("join");
    // Newly joined: the full state comes with it.
    const state = stateOf([...section.state.events, ...section.timeline.events]);
    expect(state.get("m.room.name|")?.content.name).toBe("Secret plans");
    expect(state.has("m.room.create|")).toBe(true);
    expect((await sync(server, bob)).rooms.invite[roomId]).toBeUndefined();
  });

  test("rejecting an invite moves the room from invite to leave, once", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { preset: "private_chat", name: "Declined" });
    await sendMessage(server, alice, roomId, "history bob never saw");
    await inviteUser(server, alice, roomId, bob.user_id);
    const invited = await sync(server, bob);
    expect(invited.rooms.invite[roomId]).toBeDefined();
    await leaveRoom(server, bob, roomId);
    const next = await sync(server, bob, { since: invited.next_batch });
    expect(next.rooms.invite[roomId]).toBeUndefined();
    expect(next.rooms.join[roomId]).toBeUndefined();
    const events = next.rooms.leave[roomId]?.timeline.events;
    expect(events.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "leave" } });
    // An invitee reads nothing of the room's `shared` history.
    expect(bodies(events)).toEqual([]);
    expect((await sync(server, bob, { since: next.next_batch })).rooms.leave[roomId]).toBeUndefined();
  });

  test("a knock appears in rooms.knock with stripped state", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { name: "Knock knock", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] });
    const first = await sync(server, bob);
    await post(bob, `${CLIENT}/knock/${encodeURIComponent(roomId)}`, { reason: "let me in" });
    const next = await sync(server, bob, { since: first.next_batch });
    expect(next.rooms.join[roomId]).toBeUndefined();
    const stripped = next.rooms.knock[roomId]?.knock_state.events;
    expect(stripped.find((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id)?.content.membership).toBe("knock");
    expect(stripped.find((event: any) => event.type === "m.room.join_rules")?.content.join_rule).toBe("knock");
    expect(stripped.find((event: any) => event.type === "m.room.name")?.content.name).toBe("Knock knock");
  });

  const departures: [string, (alice: User, bob: User, roomId: string) => Promise<void>, string][] = [
    ["leaving", (_alice, bob, roomId) => leaveRoom(server, bob, roomId), "leave"],
    ["a kick", async (alice, bob, roomId) => void (await post(alice, roomPath(roomId, "kick"), { user_id: bob.user_id, reason: "out" })), "leave"],
    ["a ban", async (alice, bob, roomId) => void (await post(alice, roomPath(roomId, "ban"), { user_id: bob.user_id, reason: "out" })), "ban"],
  ];
  for (const [what, depart, membership] of departures) {
    test(`${what} puts the room in rooms.leave once, with the timeline up to the departure`, async () => {
      const alice = await newUser("alice");
      const bob = await newUser("bob");
      const roomId = await roomWith(alice, [bob]);
      const first = await sync(server, bob);
      const beforeId = await sendMessage(server, alice, roomId, "before");
      await depart(alice, bob, roomId);
      await sendMessage(server, alice, roomId, "after");

      const next = await sync(server, bob, { since: first.next_batch });
      expect(next.rooms.join[roomId]).toBeUndefined();
      const section = next.rooms.leave[roomId];
      expect(section).toBeDefined();
      const events = section.timeline.events;
      expect(events[0].event_id).toBe(beforeId);
      expect(events.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership } });
      expect(bodies(events)).toEqual(["before"]);
      expect(section.state.events).toEqual([]);

      // Once: the next sync does not repeat it, and nothing of the room follows.
      await sendMessage(server, alice, roomId, "later");
      const later = await sync(server, bob, { since: next.next_batch });
      expect(later.rooms.leave[roomId]).toBeUndefined();
      expect(later.rooms.join[roomId]).toBeUndefined();
      // Nor does an initial sync without include_leave.
      const fresh = await sync(server, bob);
      expect(fresh.rooms.leave[roomId]).toBeUndefined();
      expect(fresh.rooms.join[roomId]).toBeUndefined();
    });
  }

  test("re-joining after leaving between two syncs: the room is in join, with the state changed while away", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    // `joined` history: bob cannot read what happened while he was away, so the
    // state must tell him.
    const roomId = await roomWith(alice, [bob], { name: "old name", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }] });
    const first = await sync(server, bob);
    await leaveRoom(server, bob, roomId);
    await putState(server, alice, roomId, "m.room.name", "", { name: "renamed while away" });
    await sendMessage(server, alice, roomId, "unseen");
    await joinRoom(server, bob, roomId);
    const afterId = await sendMessage(server, alice, roomId, "welcome back");

    const next = await sync(server, bob, { since: first.next_batch });
    expect(next.rooms.leave[roomId]).toBeUndefined();
    const section = next.rooms.join[roomId];
    expect(section).toBeDefined();
    const events = section.timeline.events;
    expect(events.at(-1).event_id).toBe(afterId);
    expect(events.find((event: any) => event.type === "m.room.member" && event.state_key === bob.user_id && event.content.membership === "join")).toBeDefined();
    expect(bodies(events)).not.toContain("unseen");
    // The client applies state, then the timeline: the room's name must come out current.
    const known = stateOf([...section.state.events, ...events.filter((event: any) => event.state_key !== undefined)]);
    expect(known.get("m.room.name|")?.content.name).toBe("renamed while away");
    expect(known.get(`m.room.member|${bob.user_id}`)?.content.membership).toBe("join");
  });

  test("include_leave shows left rooms on initial sync; forget hides them", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob], { name: "left behind" });
    await sendMessage(server, alice, roomId, "last words");
    const beforeLeave = await sync(server, bob);
    await leaveRoom(server, bob, roomId);

    expect((await sync(server, bob)).rooms.leave[roomId]).toBeUndefined();
    const withLeave = (await sync(server, bob, { filter: { room: { include_leave: true } } })).rooms.leave[roomId];
    expect(withLeave).toBeDefined();
    expect(withLeave.timeline.events.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "leave" } });
    expect(bodies(withLeave.timeline.events)).toContain("last words");
    expect(stateOf([...withLeave.state.events, ...withLeave.timeline.events]).get("m.room.name|")?.content.name).toBe("left behind");

    await post(bob, roomPath(roomId, "forget"));
    expect((await sync(server, bob, { filter: { room: { include_leave: true } } })).rooms.leave[roomId]).toBeUndefined();
    // A forgotten room stays hidden from an incremental sync spanning the leave too.
    expect((await sync(server, bob, { since: beforeLeave.next_batch })).rooms.leave[roomId]).toBeUndefined();
  });
});

describe("filters", () => {
  test("room.rooms and room.not_rooms pick the rooms", async () => {
    const alice = await newUser("alice");
    const roomA = await roomWith(alice, []);
    const roomB = await roomWith(alice, []);
    const only = await sync(server, alice, { filter: { room: { rooms: [roomA] } } });
    expect(Object.keys(only.rooms.join)).toEqual([roomA]);
    const not = await sync(server, alice, { filter: { room: { not_rooms: [roomA] } } });
    expect(Object.keys(not.rooms.join)).toEqual([roomB]);
    // not_rooms wins over rooms.
    const both = await sync(server, alice, { filter: { room: { rooms: [roomA, roomB], not_rooms: [roomB] } } });
    expect(Object.keys(both.rooms.join)).toEqual([roomA]);
  });

  test("timeline types and not_types", async () => {
    const alice = await newUser("alice");
    const roomId = await roomWith(alice, []);
    await sendMessage(server, alice, roomId, "hi");
    await sendMessage(server, alice, roomId, { custom: true }, "org.example.custom");
    await putState(server, alice, roomId, "m.room.topic", "", { topic: "t" });
    const typesOf = (body: any) => body.rooms.join[roomId].timeline.events.map((event: any) => event.type);

    const messages = await sync(server, alice, { filter: { room: { timeline: { types: ["m.room.message"] } } } });
    expect(typesOf(messages)).toEqual(["m.room.message"]);
    const wildcard = await sync(server, alice, { filter: { room: { timeline: { types: ["org.example.*", "m.room.topic"] } } } });
    expect(typesOf(wildcard)).toEqual(["org.example.custom", "m.room.topic"]);
    const notTypes = await sync(server, alice, { filter: { room: { timeline: { not_types: ["m.room.message", "m.room.member", "m.room.topic"], limit: 50 } } } });
    expect(typesOf(notTypes)).toContain("org.example.custom");
    expect(typesOf(notTypes)).not.toContain("m.room.message");
    expect(typesOf(notTypes)).not.toContain("m.room.member");
    expect(typesOf(notTypes)).not.toContain("m.room.topic");
  });

  test("room.ephemeral and room.account_data filter by type", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "x");
    await post(alice, roomPath(roomId, `receipt/m.read/${encodeURIComponent(eventId)}`));
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/rooms/${encodeURIComponent(roomId)}/account_data/org.example.a`, { token: alice.access_token, body: { a: 1 } });
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/rooms/${encodeURIComponent(roomId)}/account_data/org.example.b`, { token: alice.access_token, body: { b: 1 } });
    const types = (events: any[]) => events.map((event) => event.type).sort();

    const all = (await sync(server, alice)).rooms.join[roomId];
    expect(types(all.ephemeral.events)).toEqual(["m.receipt"]);
    expect(types(all.account_data.events)).toEqual(["org.example.a", "org.example.b"]);
    const filtered = (await sync(server, alice, { filter: { room: { ephemeral: { not_types: ["m.receipt"] }, account_data: { types: ["org.example.b"] } } } })).rooms.join[roomId];
    expect(filtered.ephemeral.events).toEqual([]);
    expect(filtered.account_data.events).toEqual([{ type: "org.example.b", content: { b: 1 } }]);
  });

  test("event_fields keeps only the listed fields", async () => {
    const alice = await newUser("alice");
    const roomId = await roomWith(alice, []);
    await sendMessage(server, alice, roomId, { msgtype: "m.text", body: "field test", extra: 1 });
    const body = await sync(server, alice, { filter: { event_fields: ["type", "content.body"], room: { timeline: { limit: 1 } } } });
    expect(body.rooms.join[roomId].timeline.events).toEqual([{ type: "m.room.message", content: { body: "field test" } }]);
  });

  test("upload, read back, refuse others, and use by id in /sync", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const definition = { room: { timeline: { limit: 1, types: ["m.room.message"] } }, event_fields: ["type", "content"] };
    const uploaded = await server.request("POST", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter`, { token: alice.access_token, body: definition });
    expect(uploaded.status).toBe(200);
    const filterId = uploaded.body.filter_id;
    expect(filterId).toBeString();
    expect(filterId).not.toStartWith("{");

    const read = await server.request("GET", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter/${encodeURIComponent(filterId)}`, { token: alice.access_token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(definition);

    expectError(await server.request("GET", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter/${encodeURIComponent(filterId)}`, { token: bob.access_token }), 403, "M_FORBIDDEN");
    expectError(await server.request("POST", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter`, { token: bob.access_token, body: definition }), 403, "M_FORBIDDEN");
    expectError(await server.request("GET", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter/no-such-filter`, { token: alice.access_token }), 404, "M_NOT_FOUND");
    // Bob's filters are his own: the same id is not alice's filter for him.
    expectError(await server.request("GET", `${CLIENT}/user/${encodeURIComponent(bob.user_id)}/filter/${encodeURIComponent(filterId)}`, { token: bob.access_token }), 404, "M_NOT_FOUND");

    const roomId = await roomWith(alice, []);
    await sendMessage(server, alice, roomId, "one");
    await sendMessage(server, alice, roomId, "two");
    const body = await sync(server, alice, { filter: filterId });
    expect(body.rooms.join[roomId].timeline.events).toEqual([{ type: "m.room.message", content: { msgtype: "m.text", body: "two" } }]);
    expect(body.rooms.join[roomId].timeline.limited).toBe(true);
    // An unknown filter id is refused; alice's id is unknown to bob (who has uploaded none).
    expectError(await server.request("GET", syncPath({ filter: "no-such-filter" }), { token: alice.access_token }), 400, "M_INVALID_PARAM");
    expectError(await server.request("GET", syncPath({ filter: filterId }), { token: bob.access_token }), 400, "M_INVALID_PARAM");
  });

  test("a malformed filter is refused", async () => {
    const alice = await newUser("alice");
    const response = await server.request("POST", `${CLIENT}/user/${encodeURIComponent(alice.user_id)}/filter`, {
      token: alice.access_token,
      body: { room: { timeline: { limit: "ten" } } },
    });
    expect(response.status).toBe(400);
    expectError(await server.request("GET", `${CLIENT}/sync?filter=${encodeURIComponent("{not json")}`, { token: alice.access_token }), 400, "M_INVALID_PARAM");
  });
});

describe("since tokens", () => {
  test("garbage and tokens from the future are 400 M_INVALID_PARAM", async () => {
    const alice = await newUser("alice");
    for (const since of ["garbage", "s999999_0_0", "s1_0_999999", "s1_0", "s-1_0_0", "s1_0_0x"]) {
      const response = await server.request("GET", `${CLIENT}/sync?since=${encodeURIComponent(since)}&timeout=0`, { token: alice.access_token });
      expectError(response, 400, "M_INVALID_PARAM");
    }
  });
});

describe("room summary and unread counts", () => {
  test("m.heroes (first five others by join order) and member counts", async () => {
    const alice = await newUser("alice");
    // Joined in an order different from the ids' alphabetical order.
    const zed = await newUser("zed");
    const amy = await newUser("amy");
    const mia = await newUser("mia");
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    for (const user of [zed, amy]) {
      await inviteUser(server, alice, roomId, user.user_id);
      await joinRoom(server, user, roomId);
    }
    await inviteUser(server, alice, roomId, mia.user_id);
    const summary = (await sync(server, alice)).rooms.join[roomId].summary;
    expect(summary).toEqual({ "m.heroes": [zed.user_id, amy.user_id, mia.user_id], "m.joined_member_count": 3, "m.invited_member_count": 1 });
    // Never the user's own id.
    const amySummary = (await sync(server, amy)).rooms.join[roomId].summary;
    expect(amySummary["m.heroes"]).toEqual([alice.user_id, zed.user_id, mia.user_id]);

    // A change of membership sends a fresh summary in an incremental sync.
    const token = (await sync(server, alice)).next_batch;
    await joinRoom(server, mia, roomId);
    const next = (await sync(server, alice, { since: token })).rooms.join[roomId];
    expect(next.summary).toEqual({ "m.heroes": [zed.user_id, amy.user_id, mia.user_id], "m.joined_member_count": 4, "m.invited_member_count": 0 });
  });

  test("lazy loading includes the heroes' member events when the room has no name", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await roomWith(alice, [bob, carol]);
    await sendMany(alice, roomId, "a", 3);
    const section = (await sync(server, alice, { filter: { room: { state: { lazy_load_members: true }, timeline: { limit: 3 } } } })).rooms.join[roomId];
    expect(section.summary["m.heroes"]).toEqual([bob.user_id, carol.user_id]);
    // Spec (m.heroes): "the membership events for the heroes MUST be included in the state".
    expect(memberKeys(section.state.events)).toEqual([alice.user_id, bob.user_id, carol.user_id].sort());
  });

  test("unread_notifications counts others' messages after the m.read receipt", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await roomWith(alice, [bob]);
    const count = async () => (await sync(server, alice)).rooms.join[roomId].unread_notifications.notification_count;
    expect(await count()).toBe(0);
    const sent = await sendMany(bob, roomId, "b", 3);
    await sendMessage(server, alice, roomId, "mine");
    expect(await count()).toBe(3);

    const token = (await sync(server, alice)).next_batch;
    expect((await server.request("POST", roomPath(roomId, `receipt/m.read/${encodeURIComponent(sent[1]!)}`), { token: alice.access_token, body: {} })).status).toBe(200);
    // The receipt alone makes the room show up again with the new count.
    const next = (await sync(server, alice, { since: token })).rooms.join[roomId];
    expect(next.unread_notifications.notification_count).toBe(1);
    await server.request("POST", roomPath(roomId, `receipt/m.read/${encodeURIComponent(sent[2]!)}`), { token: alice.access_token, body: {} });
    expect(await count()).toBe(0);
    await sendMessage(server, bob, roomId, "one more");
    expect(await count()).toBe(1);
    // A newer private receipt counts too.
    const last = await sendMessage(server, bob, roomId, "and another");
    await server.request("POST", roomPath(roomId, `receipt/m.read.private/${encodeURIComponent(last)}`), { token: alice.access_token, body: {} });
    expect(await count()).toBe(0);
  });
});

describe("rooms and not_rooms inside room.timeline and room.state", () => {
  test("limit the timeline and state of the rooms they exclude, and nothing else", async () => {
    const { startTestServer } = await import("../helpers/server");
    const server = await startTestServer();
    try {
      const user = await server.register("scoped-filter");
      const kept = (await server.request("POST", "/_matrix/client/v3/createRoom", { token: user.access_token, body: { name: "kept" } })).body.room_id;
      const muted = (await server.request("POST", "/_matrix/client/v3/createRoom", { token: user.access_token, body: { name: "muted" } })).body.room_id;
      const filter = JSON.stringify({ room: { timeline: { not_rooms: [muted] }, state: { rooms: [kept] } } });
      const response = await server.request("GET", `/_matrix/client/v3/sync?filter=${encodeURIComponent(filter)}`, { token: user.access_token });
      expect(response.status).toBe(200);
      const rooms = response.body.rooms.join;
      expect(rooms[kept].timeline.events.length).toBeGreaterThan(0);
      expect(rooms[muted].timeline.events).toEqual([]);
      expect(rooms[muted].state.events).toEqual([]);
      // The muted room's state would otherwise be in `state`, the kept room's is.
      expect(rooms[kept].timeline.events.some((e: any) => e.type === "m.room.name") || rooms[kept].state.events.some((e: any) => e.type === "m.room.name")).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
