// Event relationships (spec: Client-Server API, "Forming relationships between
// events", "Threading", "Event replacements", "Reference relations"):
// GET /v1/rooms/{roomId}/relations, bundled aggregations wherever events are
// served, and access control.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, getRoom, inviteUser, joinRoom, leaveRoom, newTxnId, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { ids, sync } from "../helpers/sync";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("rel-alice");
  bob = await server.register("rel-bob");
  carol = await server.register("rel-carol");
});
afterAll(() => server.stop());

const V1 = "/_matrix/client/v1";

function relations(user: User, roomId: string, eventId: string, rest = "", query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  const path = `${V1}/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(eventId)}${rest}${search ? `?${search}` : ""}`;
  return server.request("GET", path, { token: user.access_token });
}

const threadReply = (root: string, body: string) => ({ msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root } });
const edit = (original: string, body: string) => ({
  msgtype: "m.text",
  body: `* ${body}`,
  "m.new_content": { msgtype: "m.text", body },
  "m.relates_to": { rel_type: "m.replace", event_id: original },
});
const reference = (target: string) => ({ msgtype: "m.text", body: "ref", "m.relates_to": { rel_type: "m.reference", event_id: target } });
const reaction = (target: string, key: string) => ({ "m.relates_to": { rel_type: "m.annotation", event_id: target, key } });

async function sharedRoom(): Promise<string> {
  const roomId = await createRoom(server, alice, { preset: "public_chat" });
  await joinRoom(server, bob, roomId);
  return roomId;
}

function redact(user: User, roomId: string, eventId: string) {
  return server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/${newTxnId()}`, { token: user.access_token, body: {} });
}

describe("GET /relations", () => {
  test("lists children newest first, filtered by rel_type and event type", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const t1 = await sendMessage(server, bob, roomId, threadReply(root, "one"));
    const r1 = await sendMessage(server, bob, roomId, reaction(root, "👍"), "m.reaction");
    const t2 = await sendMessage(server, alice, roomId, threadReply(root, "two"));
    await sendMessage(server, alice, roomId, "unrelated");

    const all = await relations(alice, roomId, root, "", { limit: "10" });
    expect(all.status).toBe(200);
    expect(ids(all.body.chunk)).toEqual([t2, r1, t1]);
    expect(all.body.next_batch).toBeUndefined();
    expect(all.body.recursion_depth).toBeUndefined();

    const threads = await relations(alice, roomId, root, "/m.thread", { limit: "10" });
    expect(ids(threads.body.chunk)).toEqual([t2, t1]);
    const reactions = await relations(alice, roomId, root, "/m.annotation/m.reaction");
    expect(ids(reactions.body.chunk)).toEqual([r1]);
    const none = await relations(alice, roomId, root, "/m.annotation/m.room.message");
    expect(none.body.chunk).toEqual([]);

    const forwards = await relations(alice, roomId, root, "", { dir: "f", limit: "10" });
    expect(ids(forwards.body.chunk)).toEqual([t1, r1, t2]);
  });

  test("paginates with next_batch and prev_batch, both directions, and stops at `to`", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const children: string[] = [];
    for (let i = 0; i < 5; i++) children.push(await sendMessage(server, bob, roomId, threadReply(root, `m${i}`)));

    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await relations(bob, roomId, root, "/m.thread", { limit: "2", ...(from ? { from } : {}) });
      expect(response.status).toBe(200);
      if (from) expect(response.body.prev_batch).toBe(from);
      else expect(response.body.prev_batch).toBeUndefined();
      seen.push(...ids(response.body.chunk));
      if (!response.body.next_batch) break;
      from = response.body.next_batch;
    }
    expect(seen).toEqual([...children].reverse());

    const first = await relations(bob, roomId, root, "", { dir: "f", limit: "2" });
    expect(ids(first.body.chunk)).toEqual(children.slice(0, 2));
    const second = await relations(bob, roomId, root, "", { dir: "f", limit: "2", from: first.body.next_batch });
    expect(ids(second.body.chunk)).toEqual(children.slice(2, 4));

    // from page 1 to page 2's start: only page 1's range remains.
    const page1 = await relations(bob, roomId, root, "", { limit: "2" });
    const bounded = await relations(bob, roomId, root, "", { limit: "10", to: page1.body.next_batch });
    expect(ids(bounded.body.chunk)).toEqual(children.slice(3).reverse());
  });

  test("recurse follows relations of relations and reports recursion_depth", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const child = await sendMessage(server, bob, roomId, threadReply(root, "child"));
    const grandchild = await sendMessage(server, alice, roomId, reaction(child, "🎉"), "m.reaction");
    const direct = await relations(alice, roomId, root);
    expect(ids(direct.body.chunk)).toEqual([child]);
    const recursive = await relations(alice, roomId, root, "", { recurse: "true" });
    expect(ids(recursive.body.chunk)).toEqual([grandchild, child]);
    expect(recursive.body.recursion_depth).toBe(3);
    const typed = await relations(alice, roomId, root, "/m.annotation", { recurse: "true" });
    expect(ids(typed.body.chunk)).toEqual([grandchild]);
  });

  test("bad input is a Matrix error", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    expectError(await relations(alice, roomId, root, "", { dir: "x" }), 400, "M_INVALID_PARAM");
    expectError(await relations(alice, roomId, root, "", { limit: "-1" }), 400, "M_INVALID_PARAM");
    expectError(await relations(alice, roomId, root, "", { from: "nonsense" }), 400, "M_INVALID_PARAM");
    expectError(await relations(alice, roomId, root, "", { recurse: "yes" }), 400, "M_INVALID_PARAM");
    expectError(await relations(alice, roomId, "$unknown"), 404, "M_NOT_FOUND");
    const unauthenticated = await server.request("GET", `${V1}/rooms/${encodeURIComponent(roomId)}/relations/${encodeURIComponent(root)}`);
    expectError(unauthenticated, 401, "M_MISSING_TOKEN");
  });

  test("a parent in a room the user is not in is 404, and children hidden by history visibility stay hidden", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "joined" });
    const root = await sendMessage(server, alice, roomId, "secret root");
    const early = await sendMessage(server, alice, roomId, threadReply(root, "before carol"));
    expectError(await relations(carol, roomId, root), 404, "M_NOT_FOUND");

    // Carol joins later: she cannot see the root (joined-only history) at all.
    await inviteUser(server, alice, roomId, carol.user_id);
    await joinRoom(server, carol, roomId);
    expectError(await relations(carol, roomId, root), 404, "M_NOT_FOUND");
    const later = await sendMessage(server, alice, roomId, "visible root");
    const reply = await sendMessage(server, alice, roomId, threadReply(later, "after"));
    expect(ids((await relations(carol, roomId, later)).body.chunk)).toEqual([reply]);
    // And a thread she can see the root of does not show her replies from before she joined.
    await leaveRoom(server, carol, roomId);
    await sendMessage(server, alice, roomId, threadReply(later, "after carol left"));
    expect(ids((await relations(carol, roomId, later)).body.chunk)).toEqual([reply]);
    expect(early).toBeString();
  });

  test("a redacted child is no longer a relation", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const child = await sendMessage(server, bob, roomId, reaction(root, "👍"), "m.reaction");
    expect(ids((await relations(alice, roomId, root)).body.chunk)).toEqual([child]);
    expect((await redact(bob, roomId, child)).status).toBe(200);
    expect((await relations(alice, roomId, root)).body.chunk).toEqual([]);
  });
});

describe("sending relations", () => {
  test("a thread cannot start from an event that has a relation (400 M_UNKNOWN)", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const inThread = await sendMessage(server, bob, roomId, threadReply(root, "in thread"));
    const response = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${newTxnId()}`, {
      token: alice.access_token,
      body: threadReply(inThread, "nested"),
    });
    expectError(response, 400, "M_UNKNOWN");
  });

  test("a relation to an event of another room is refused", async () => {
    const roomId = await sharedRoom();
    const other = await sharedRoom();
    const elsewhere = await sendMessage(server, alice, other, "elsewhere");
    const response = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${newTxnId()}`, {
      token: alice.access_token,
      body: reference(elsewhere),
    });
    expectError(response, 400, "M_UNKNOWN");
  });

  test("encrypted events' clear m.relates_to is recorded", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const encrypted = await sendMessage(server, bob, roomId, {
      algorithm: "m.megolm.v1.aes-sha2",
      ciphertext: "opaque",
      sender_key: "key",
      device_id: "DEV",
      session_id: "session",
      "m.relates_to": { rel_type: "m.thread", event_id: root },
    }, "m.room.encrypted");
    const response = await relations(alice, roomId, root, "/m.thread/m.room.encrypted");
    expect(ids(response.body.chunk)).toEqual([encrypted]);
  });
});

describe("bundled aggregations", () => {
  test("m.thread: count, latest_event (with its own edits) and current_user_participated, in /event, /messages, /context, /sync, /relations", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    await sendMessage(server, bob, roomId, threadReply(root, "one"));
    const last = await sendMessage(server, bob, roomId, threadReply(root, "two"));
    const lastEdit = await sendMessage(server, bob, roomId, edit(last, "two, edited"));

    const check = (event: any, participated: boolean) => {
      const thread = event.unsigned["m.relations"]["m.thread"];
      expect(thread.count).toBe(2);
      expect(thread.current_user_participated).toBe(participated);
      expect(thread.latest_event.event_id).toBe(last);
      expect(thread.latest_event.room_id).toBe(roomId);
      expect(thread.latest_event.content.body).toBe("two");
      expect(thread.latest_event.unsigned["m.relations"]["m.replace"].event_id).toBe(lastEdit);
    };
    const event = await getRoom(server, alice, roomId, `event/${encodeURIComponent(root)}`);
    check(event.body, true);
    const forBob = await getRoom(server, bob, roomId, `event/${encodeURIComponent(root)}`);
    check(forBob.body, true);
    await joinRoom(server, carol, roomId);
    check((await getRoom(server, carol, roomId, `event/${encodeURIComponent(root)}`)).body, false);

    const messages = await getRoom(server, alice, roomId, "messages", { dir: "b", limit: "20" });
    check(messages.body.chunk.find((e: any) => e.event_id === root), true);
    const context = await getRoom(server, alice, roomId, `context/${encodeURIComponent(root)}`, { limit: "2" });
    check(context.body.event, true);
    const synced = await sync(server, alice, { filter: { room: { timeline: { limit: 50 } } } });
    check(synced.rooms.join[roomId].timeline.events.find((e: any) => e.event_id === root), true);
    const children = await relations(alice, roomId, root, "/m.thread");
    expect(children.body.chunk[0].unsigned["m.relations"]["m.replace"].event_id).toBe(lastEdit);
  });

  test("m.replace bundles the most recent valid replacement and leaves the content alone", async () => {
    const roomId = await sharedRoom();
    const original = await sendMessage(server, alice, roomId, "original");
    const first = await sendMessage(server, alice, roomId, edit(original, "first"));
    const second = await sendMessage(server, alice, roomId, edit(original, "second"));
    // Not valid: another sender, another type, no m.new_content.
    await sendMessage(server, bob, roomId, edit(original, "bob's"));
    await sendMessage(server, alice, roomId, { ...edit(original, "typed"), msgtype: undefined }, "org.example.other");
    await sendMessage(server, alice, roomId, { body: "* no new content", msgtype: "m.text", "m.relates_to": { rel_type: "m.replace", event_id: original } });

    const event = (await getRoom(server, bob, roomId, `event/${encodeURIComponent(original)}`)).body;
    expect(event.content.body).toBe("original");
    const replacement = event.unsigned["m.relations"]["m.replace"];
    expect([first, second]).toContain(replacement.event_id);
    // Most recent by origin_server_ts, then the lexicographically largest event_id.
    const stamps = await Promise.all([first, second].map(async (id) => (await getRoom(server, bob, roomId, `event/${encodeURIComponent(id)}`)).body));
    const expected = stamps.sort((a, b) => b.origin_server_ts - a.origin_server_ts || (a.event_id < b.event_id ? 1 : -1))[0].event_id;
    expect(replacement.event_id).toBe(expected);
    expect(replacement.content["m.new_content"].body).toBe(expected === first ? "first" : "second");
    expect(replacement.sender).toBe(alice.user_id);

    // Redacting the latest edit falls back to the one before.
    expect((await redact(alice, roomId, expected)).status).toBe(200);
    const after = (await getRoom(server, bob, roomId, `event/${encodeURIComponent(original)}`)).body;
    expect(after.unsigned["m.relations"]["m.replace"].event_id).toBe(expected === first ? second : first);

    // A redacted original has no replacement bundled.
    expect((await redact(alice, roomId, original)).status).toBe(200);
    const redacted = (await getRoom(server, bob, roomId, `event/${encodeURIComponent(original)}`)).body;
    expect(redacted.unsigned["m.relations"]?.["m.replace"]).toBeUndefined();
  });

  test("an edit of an edit is not bundled", async () => {
    const roomId = await sharedRoom();
    const original = await sendMessage(server, alice, roomId, "original");
    const firstEdit = await sendMessage(server, alice, roomId, edit(original, "edited"));
    await sendMessage(server, alice, roomId, edit(firstEdit, "edit of the edit"));
    const event = (await getRoom(server, alice, roomId, `event/${encodeURIComponent(firstEdit)}`)).body;
    expect(event.unsigned["m.relations"]).toBeUndefined();
  });

  test("m.reference lists the referencing events", async () => {
    const roomId = await sharedRoom();
    const target = await sendMessage(server, alice, roomId, "target");
    const a = await sendMessage(server, bob, roomId, reference(target));
    const b = await sendMessage(server, alice, roomId, reference(target));
    const event = (await getRoom(server, alice, roomId, `event/${encodeURIComponent(target)}`)).body;
    const chunk = event.unsigned["m.relations"]["m.reference"].chunk.map((entry: any) => entry.event_id);
    expect(chunk.sort()).toEqual([a, b].sort());
  });

  test("events without children have no m.relations; reactions are not bundled", async () => {
    const roomId = await sharedRoom();
    const plain = await sendMessage(server, alice, roomId, "plain");
    await sendMessage(server, bob, roomId, reaction(plain, "👍"), "m.reaction");
    const event = (await getRoom(server, alice, roomId, `event/${encodeURIComponent(plain)}`)).body;
    expect(event.unsigned["m.relations"]).toBeUndefined();
  });

  test("a child sent after the parent was served is bundled on the next read", async () => {
    const roomId = await sharedRoom();
    const parent = await sendMessage(server, alice, roomId, "parent");
    const read = async () => (await getRoom(server, alice, roomId, `event/${encodeURIComponent(parent)}`)).body.unsigned["m.relations"];
    expect(await read()).toBeUndefined();
    const reply = await sendMessage(server, bob, roomId, threadReply(parent, "late reply"));
    expect((await read())["m.thread"].latest_event.event_id).toBe(reply);
    const synced = await sync(server, bob, { filter: { room: { timeline: { limit: 5 } } } });
    expect(synced.rooms.join[roomId].timeline.events.find((e: any) => e.event_id === parent).unsigned["m.relations"]["m.thread"].count).toBe(1);
  });

  test("a former member's bundles stop where they left", async () => {
    const roomId = await sharedRoom();
    const root = await sendMessage(server, alice, roomId, "root");
    const seen = await sendMessage(server, alice, roomId, threadReply(root, "while bob was here"));
    await leaveRoom(server, bob, roomId);
    await sendMessage(server, alice, roomId, threadReply(root, "after bob left"));
    const event = (await getRoom(server, bob, roomId, `event/${encodeURIComponent(root)}`)).body;
    const thread = event.unsigned["m.relations"]["m.thread"];
    expect(thread.count).toBe(1);
    expect(thread.latest_event.event_id).toBe(seen);
  });
});
