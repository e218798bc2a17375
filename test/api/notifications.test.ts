// Notification counts in /sync and GET /notifications (spec: Client-Server API,
// "Receiving notifications", "Marking notifications as read", "Threaded read
// receipts"; sync.yaml unread_notifications, notifications.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, inviteUser, joinRoom, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { sync } from "../helpers/sync";
import { pruneNotifications } from "../../src/push/retention";
import { Database } from "bun:sqlite";
import { MIGRATIONS, migrate } from "../../src/store/migrations";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = (name = "u") => server.register(`notif-${name}-${++counter}`);
const enc = encodeURIComponent;
const request = (user: User, method: string, path: string, body?: unknown) => server.request(method, path, { token: user.access_token, body });

async function ok(user: User, method: string, path: string, body?: unknown) {
  const response = await request(user, method, path, body);
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A public room of `owner` that `others` joined. */
async function roomWith(owner: User, others: User[]): Promise<string> {
  const roomId = await createRoom(server, owner, { preset: "public_chat" });
  for (const user of others) await joinRoom(server, user, roomId);
  return roomId;
}

const receipt = (user: User, roomId: string, eventId: string, type = "m.read", body: unknown = {}) =>
  ok(user, "POST", `${CLIENT}/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, body);

const THREADS = { room: { timeline: { unread_thread_notifications: true } } };

async function countsOf(user: User, roomId: string, filter?: Record<string, unknown>) {
  const section = (await sync(server, user, filter ? { filter } : {})).rooms.join[roomId];
  return { ...section.unread_notifications, threads: section.unread_thread_notifications };
}

describe("unread_notifications from the push rules", () => {
  test("messages count, mentions highlight, a read receipt resets both", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const token = (await sync(server, alice)).next_batch;
    await sendMessage(server, bob, roomId, "hello");
    // The count arrives in the same sync as the event (spec: "Server behaviour").
    const next = await sync(server, alice, { since: token });
    expect(next.rooms.join[roomId].timeline.events.at(-1).content.body).toBe("hello");
    expect(next.rooms.join[roomId].unread_notifications).toEqual({ notification_count: 1, highlight_count: 0 });

    const mention = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "look", "m.mentions": { user_ids: [alice.user_id] } });
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 2, highlight_count: 1 });
    // Carol was not mentioned.
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 2, highlight_count: 0 });
    // The sender is never notified of their own events.
    expect(await countsOf(bob, roomId)).toMatchObject({ notification_count: 0, highlight_count: 0 });

    await receipt(alice, roomId, mention);
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 0, highlight_count: 0 });
    // A private receipt resets as well.
    const later = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "again", "m.mentions": { user_ids: [carol.user_id] } });
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 3, highlight_count: 1 });
    await receipt(carol, roomId, later, "m.read.private");
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 0, highlight_count: 0 });
  });

  test("the user's own messages after a receipt do not count when it recounts, in the room or in a thread", async () => {
    // Three members, so that the room's members share one outcome per message and the sender takes it back.
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const root = await sendMessage(server, alice, roomId, "root");
    const read = await sendMessage(server, alice, roomId, "read up to here");
    await sendMessage(server, bob, roomId, "bob's own");
    await sendMessage(server, alice, roomId, "after");
    await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "bob in the thread", "m.relates_to": { rel_type: "m.thread", event_id: root } });
    await sendMessage(server, alice, roomId, { msgtype: "m.text", body: "alice in the thread", "m.relates_to": { rel_type: "m.thread", event_id: root } });
    expect(await countsOf(bob, roomId, THREADS)).toMatchObject({ notification_count: 3, threads: { [root]: { notification_count: 1 } } });
    // The receipt recounts every thread from the room's shared outcomes: Bob's own two stay out.
    await receipt(bob, roomId, read);
    expect(await countsOf(bob, roomId, THREADS)).toMatchObject({ notification_count: 1, highlight_count: 0, threads: { [root]: { notification_count: 1 } } });
    await receipt(bob, roomId, read, "m.read", { thread_id: root });
    expect(await countsOf(bob, roomId, THREADS)).toMatchObject({ notification_count: 1, threads: { [root]: { notification_count: 1 } } });
    expect((await ok(bob, "GET", `${CLIENT}/notifications`)).notifications.map((n: any) => n.event.content.body)).toEqual([
      "alice in the thread",
      "after",
      "read up to here",
      "root",
    ]);
  });

  test("notices, reactions and edits do not count; the display name and the localpart highlight", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const original = await sendMessage(server, bob, roomId, "first");
    await receipt(alice, roomId, original);
    await sendMessage(server, bob, roomId, { msgtype: "m.notice", body: "bot says hi" });
    await sendMessage(server, bob, roomId, { "m.relates_to": { rel_type: "m.annotation", event_id: original, key: "👍" } }, "m.reaction");
    await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "* edited", "m.new_content": { msgtype: "m.text", body: "edited" }, "m.relates_to": { rel_type: "m.replace", event_id: original } });
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 0, highlight_count: 0 });

    await ok(alice, "PUT", `${CLIENT}/profile/${enc(alice.user_id)}/displayname`, { displayname: "Queen Alice" });
    await sendMessage(server, bob, roomId, "hail queen alice!");
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 1, highlight_count: 1 });
    const localpart = alice.user_id.slice(1, alice.user_id.indexOf(":"));
    await sendMessage(server, bob, roomId, `ping ${localpart}`);
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 2, highlight_count: 2 });
  });

  test("@room highlights only from a sender with the notifications.room power level", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "@room hi", "m.mentions": { room: true } });
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 1, highlight_count: 0 });
    await sendMessage(server, alice, roomId, { msgtype: "m.text", body: "@room hi", "m.mentions": { room: true } });
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 2, highlight_count: 1 });
    await sendMessage(server, alice, roomId, "old style @room");
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 3, highlight_count: 2 });
  });

  test("a muted room (room rule without actions) counts nothing; the master rule silences everything", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    await ok(alice, "PUT", `${CLIENT}/pushrules/global/room/${enc(roomId)}`, { actions: [] });
    await sendMessage(server, bob, roomId, "hello");
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 0 });
    await ok(carol, "PUT", `${CLIENT}/pushrules/global/override/.m.rule.master/enabled`, { enabled: true });
    await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "hey", "m.mentions": { user_ids: [carol.user_id] } });
    // Only "hello", from before.
    expect(await countsOf(carol, roomId)).toMatchObject({ notification_count: 1, highlight_count: 0 });
  });

  test("encrypted events count by the encrypted rules", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    await sendMessage(server, bob, roomId, { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA", sender_key: "k", session_id: "s", device_id: "D" }, "m.room.encrypted");
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 1, highlight_count: 0 });
  });

  test("a tombstone highlights everyone", async () => {
    const [alice, bob] = [await newUser("alice"), await newUser("bob")];
    const roomId = await roomWith(alice, [bob]);
    await putState(server, alice, roomId, "m.room.tombstone", "", { body: "moved", replacement_room: "!new:localhost" });
    expect(await countsOf(bob, roomId)).toMatchObject({ notification_count: 1, highlight_count: 1 });
  });
});

describe("thread counts", () => {
  test("per-thread counts with unread_thread_notifications, reset by threaded receipts", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const root = await sendMessage(server, bob, roomId, "thread root");
    const inThread = (body: string, extra: Record<string, unknown> = {}) =>
      sendMessage(server, bob, roomId, { msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } }, ...extra });
    await inThread("one");
    const two = await inThread("two", { "m.mentions": { user_ids: [alice.user_id] } });
    await sendMessage(server, bob, roomId, "main again");

    // Without the filter flag: one count for the whole room.
    expect(await countsOf(alice, roomId)).toEqual({ notification_count: 4, highlight_count: 1, threads: undefined });
    // With it: the main timeline (root included) and each thread apart.
    expect(await countsOf(alice, roomId, THREADS)).toEqual({ notification_count: 2, highlight_count: 0, threads: { [root]: { notification_count: 2, highlight_count: 1 } } });

    // A receipt in the thread reads the thread only.
    await receipt(alice, roomId, two, "m.read", { thread_id: root });
    expect(await countsOf(alice, roomId, THREADS)).toEqual({ notification_count: 2, highlight_count: 0, threads: {} });
    expect(await countsOf(alice, roomId)).toMatchObject({ notification_count: 2, highlight_count: 0 });

    // "main" reads the main timeline only.
    await inThread("three");
    const lastMain = await sendMessage(server, bob, roomId, "main three");
    await receipt(alice, roomId, lastMain, "m.read", { thread_id: "main" });
    expect(await countsOf(alice, roomId, THREADS)).toEqual({ notification_count: 0, highlight_count: 0, threads: { [root]: { notification_count: 1, highlight_count: 0 } } });

    // An unthreaded receipt reads everything before it.
    const newest = await inThread("four");
    await receipt(alice, roomId, newest);
    expect(await countsOf(alice, roomId, THREADS)).toEqual({ notification_count: 0, highlight_count: 0, threads: {} });

    // Carol never read anything: the reply in the thread counts for the thread.
    expect((await countsOf(carol, roomId, THREADS)).threads[root].notification_count).toBe(4);
  });

  test("a reaction to a threaded message belongs to the thread (a relation hop)", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const root = await sendMessage(server, bob, roomId, "root");
    const reply = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "reply", "m.relates_to": { rel_type: "m.thread", event_id: root } });
    // Made to notify by an override rule, so that its thread shows in the counts.
    await ok(alice, "PUT", `${CLIENT}/pushrules/global/override/reactions`, { conditions: [{ kind: "event_match", key: "type", pattern: "m.reaction" }], actions: ["notify"] });
    await sendMessage(server, bob, roomId, { "m.relates_to": { rel_type: "m.annotation", event_id: reply, key: "x" } }, "m.reaction");
    expect((await countsOf(alice, roomId, THREADS)).threads[root].notification_count).toBe(2);
  });

  test("unread_thread_notifications must be a boolean", async () => {
    const alice = await newUser("alice");
    const response = await request(alice, "GET", `${CLIENT}/sync?timeout=0&filter=${enc(JSON.stringify({ room: { timeline: { unread_thread_notifications: "yes" } } }))}`);
    expectError(response, 400, "M_INVALID_PARAM");
  });
});

describe("GET /notifications", () => {
  test("newest first, with actions, read flags, only=highlight and pagination", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    const first = await sendMessage(server, bob, roomId, "one");
    const second = await sendMessage(server, bob, roomId, { msgtype: "m.text", body: "two", "m.mentions": { user_ids: [alice.user_id] } });
    const third = await sendMessage(server, bob, roomId, "three");
    await receipt(alice, roomId, second);

    const all = await ok(alice, "GET", `${CLIENT}/notifications`);
    expect(all.notifications.map((n: any) => n.event.event_id)).toEqual([third, second, first]);
    expect(all.notifications.map((n: any) => n.read)).toEqual([false, true, true]);
    expect(all.next_token).toBeUndefined();
    const mention = all.notifications[1];
    expect(mention.room_id).toBe(roomId);
    expect(mention.event.room_id).toBeUndefined();
    expect(mention.event.content.body).toBe("two");
    expect(mention.actions).toContainEqual({ set_tweak: "highlight" });
    expect(mention.ts).toBeNumber();

    const highlights = await ok(alice, "GET", `${CLIENT}/notifications?only=highlight`);
    expect(highlights.notifications.map((n: any) => n.event.event_id)).toEqual([second]);

    const page1 = await ok(alice, "GET", `${CLIENT}/notifications?limit=2`);
    expect(page1.notifications.map((n: any) => n.event.event_id)).toEqual([third, second]);
    const page2 = await ok(alice, "GET", `${CLIENT}/notifications?limit=2&from=${page1.next_token}`);
    expect(page2.notifications.map((n: any) => n.event.event_id)).toEqual([first]);
    expect(page2.next_token).toBeUndefined();

    // Bob sent them: nothing for him.
    expect((await ok(bob, "GET", `${CLIENT}/notifications`)).notifications).toEqual([]);
  });

  test("an invite notifies the invitee", async () => {
    const [alice, bob] = [await newUser("alice"), await newUser("bob")];
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await inviteUser(server, alice, roomId, bob.user_id);
    const [notification] = (await ok(bob, "GET", `${CLIENT}/notifications`)).notifications;
    expect(notification.event).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "invite" } });
    expect(notification.actions).toEqual(["notify", { set_tweak: "sound", value: "default" }]);
  });

  test("once the invitee joins, the invite no longer counts as unread in the room", async () => {
    const [alice, bob] = [await newUser("alice"), await newUser("bob")];
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await inviteUser(server, alice, roomId, bob.user_id);
    await joinRoom(server, bob, roomId);
    expect(await countsOf(bob, roomId)).toMatchObject({ notification_count: 0, highlight_count: 0 });
    const message = await sendMessage(server, alice, roomId, "welcome");
    await sendMessage(server, alice, roomId, "and hello");
    // A display name change is a member event too: it resets nothing.
    await ok(bob, "PUT", `${CLIENT}/profile/${enc(bob.user_id)}/displayname`, { displayname: "Bobby" });
    expect(await countsOf(bob, roomId)).toMatchObject({ notification_count: 2 });
    await receipt(bob, roomId, message);
    expect(await countsOf(bob, roomId)).toMatchObject({ notification_count: 1 });
  });

  test("notifications older than push.notification_retention_days are pruned", async () => {
    const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
    const roomId = await roomWith(alice, [bob, carol]);
    await sendMessage(server, bob, roomId, "old news");
    expect((await ok(alice, "GET", `${CLIENT}/notifications`)).notifications).toHaveLength(1);
    // Nothing is old enough yet.
    pruneNotifications(server.hs);
    expect((await ok(alice, "GET", `${CLIENT}/notifications`)).notifications).toHaveLength(1);
    // 31 days on (the default keeps 30): gone, for everyone.
    expect(pruneNotifications(server.hs, Date.now() + 31 * 24 * 3600 * 1000)).toBeGreaterThan(0);
    expect((await ok(alice, "GET", `${CLIENT}/notifications`)).notifications).toEqual([]);
    expect(server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM event_push_actions").get()).toEqual({ n: 0 });
    expect(server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM room_push_actions").get()).toEqual({ n: 0 });
  });

  test("bad from and limit are 400 M_INVALID_PARAM", async () => {
    const alice = await newUser("alice");
    expectError(await request(alice, "GET", `${CLIENT}/notifications?from=abc`), 400, "M_INVALID_PARAM");
    expectError(await request(alice, "GET", `${CLIENT}/notifications?limit=-1`), 400, "M_INVALID_PARAM");
    expectError(await server.request("GET", `${CLIENT}/notifications`), 401, "M_MISSING_TOKEN");
  });
});

describe("migration 0013: the rows senders had to take back their own events", () => {
  test("are deleted; other members' rows of the same event stay", () => {
    const db = new Database(":memory:", { strict: true });
    const upTo = MIGRATIONS.findIndex((migration) => migration.name === "0013_push_sender_rows");
    for (const migration of MIGRATIONS.slice(0, upTo)) for (const statement of migration.sql.split("--> statement-breakpoint")) if (statement.trim()) db.run(statement);
    db.run(`PRAGMA user_version = ${upTo}`);
    db.run(`INSERT INTO events (stream_pos, event_id, room_id, type, sender, origin_server_ts, pdu) VALUES (5, '$e', '!r:x', 'm.room.message', '@bob:x', 1, '{}')`);
    const row = (user: string, notify: number, delta: number) =>
      db.run(
        `INSERT INTO event_push_actions (user_id, stream_pos, room_id, event_id, thread_id, notify, highlight, actions, ts, notifications_delta, highlights_delta)
         VALUES (?1, 5, '!r:x', '$e', 'main', ?2, 0, '[]', 1, ?3, 0)`,
        [user, notify, delta],
      );
    row("@bob:x", 0, -1); // the sender taking back the shared outcome
    row("@carol:x", 0, -1); // a member who muted the room
    row("@dave:x", 1, 1); // a member notified on a rule of their own
    migrate(db);
    expect(db.query("SELECT user_id AS user FROM event_push_actions ORDER BY user_id").all()).toEqual([{ user: "@carol:x" }, { user: "@dave:x" }]);
    db.close();
  });
});
