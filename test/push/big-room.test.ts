// Notification counts and GET /notifications in a room big enough for the
// shared outcome (one row per event for everyone on the default rules), with
// members on rules of their own, display names and localparts in bodies,
// mentions, threads, receipts, a leave, a late join, a name change and an
// invite. Every member's counts and notifications are checked against a
// reference that evaluates each member's whole ruleset on its own (spec:
// Client-Server API, "Push Rules", "Receiving notifications").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAccount } from "../../src/accounts/registration";
import { setProfileField } from "../../src/accounts/profile";
import { openHomeserver, type Homeserver } from "../../src/homeserver";
import { threadOf } from "../../src/push/actions";
import { MAIN_THREAD, unreadNotifications } from "../../src/push/counts";
import { EventView, compileRuleset, evaluate, type RoomFacts } from "../../src/push/evaluate";
import { listNotifications } from "../../src/push/notifications";
import { putRule, setRuleEnabled, userRuleset } from "../../src/push/ruleset";
import { appendEvent } from "../../src/rooms/append";
import { createRoom } from "../../src/rooms/create-room";
import { joinRoom } from "../../src/rooms/join";
import { changeMembership, invite } from "../../src/rooms/membership";
import { currentPowerLevels, loadEvent } from "../../src/rooms/room-state";
import { sendReceipt } from "../../src/sync/receipts";
import { testConfig } from "../helpers/server";

interface Expected {
  streamPos: number;
  eventId: string;
  threadId: string;
  highlight: boolean;
  actions: unknown[];
}

let hs: Homeserver;
let roomId: string;
const users: string[] = [];
/** Per user, every notification the reference gave them, oldest first. */
const reference = new Map<string, Expected[]>();
/** Per user: where counting starts (their join) and their receipts by thread ("" unthreaded). */
const joinedAt = new Map<string, number>();
const receipts = new Map<string, Map<string, number>>();

/** The reference: each recipient's own compiled ruleset against the event, as the room was when it was appended. */
function expectOutcomes(eventId: string): void {
  const { pdu, row } = loadEvent(hs, eventId)!;
  const joined = hs.store.state.joinedMembers(roomId);
  const powerLevels = currentPowerLevels(hs, roomId);
  const facts: RoomFacts = {
    memberCount: joined.size,
    senderMayNotify: (key) => powerLevels.userLevel(pdu.sender) >= powerLevels.notificationLevel(key),
    displayName(userId) {
      const id = hs.store.state.currentEventId(roomId, "m.room.member", userId);
      const name = id ? loadEvent(hs, id)?.pdu.content.displayname : undefined;
      return typeof name === "string" ? name : undefined;
    },
  };
  const view = new EventView(pdu, facts);
  const recipients = new Set(joined);
  if (pdu.type === "m.room.member" && pdu.content.membership === "invite") recipients.add(pdu.state_key!);
  recipients.delete(pdu.sender);
  for (const userId of recipients) {
    const outcome = evaluate(compileRuleset(userId, userRuleset(hs, userId)), view);
    if (!outcome?.notify) continue;
    const list = reference.get(userId) ?? [];
    list.push({ streamPos: row.streamPos, eventId, threadId: threadOf(hs, pdu.content), highlight: outcome.highlight, actions: outcome.actions });
    reference.set(userId, list);
  }
}

function send(sender: string, content: Record<string, unknown>, type = "m.room.message"): string {
  const { eventId } = appendEvent(hs, { roomId, sender, type, content });
  expectOutcomes(eventId);
  return eventId;
}

function membership(sender: string, target: string, change: "join" | "leave" | "invite"): void {
  const event = change === "join" ? (joinRoom(hs, target, roomId, "join"), loadEvent(hs, hs.store.state.currentEventId(roomId, "m.room.member", target)!)!) : change === "invite" ? invite(hs, roomId, sender, target) : changeMembership(hs, { roomId, sender, target, membership: "leave" });
  if (change === "join") {
    joinedAt.set(target, event.row.streamPos);
    // Counting starts at the join: what came before (the invite) is not unread.
    reference.set(target, []);
  }
  expectOutcomes(event.eventId);
}

function receipt(userId: string, eventId: string, threadId?: string): void {
  sendReceipt(hs, userId, roomId, "m.read", eventId, threadId);
  const byThread = receipts.get(userId) ?? new Map<string, number>();
  byThread.set(threadId ?? "", loadEvent(hs, eventId)!.row.streamPos);
  receipts.set(userId, byThread);
}

/** The counts the reference gives a user: per thread, what follows their join and the later of their receipts. */
function expectedCounts(userId: string) {
  const threads: Record<string, { notification_count: number; highlight_count: number }> = {};
  const byThread = receipts.get(userId);
  for (const n of reference.get(userId) ?? []) {
    const from = Math.max(joinedAt.get(userId) ?? 0, byThread?.get("") ?? 0, byThread?.get(n.threadId) ?? 0);
    if (n.streamPos <= from) continue;
    const counts = (threads[n.threadId] ??= { notification_count: 0, highlight_count: 0 });
    counts.notification_count++;
    if (n.highlight) counts.highlight_count++;
  }
  return threads;
}

const MEMBERS = 40;
const names = (i: number): string | undefined =>
  [
    undefined, "Ann", "Ann Lee", "(bot)", "Zoë", "K-9", "lunch", "Bob", "Ann Leeway", "member12", "Ümit", "A.J.", "the boss", "The Boss",
  ][i] ?? `Member ${i}`;

beforeAll(async () => {
  hs = await openHomeserver(testConfig());
  for (let i = 0; i < MEMBERS + 2; i++) {
    const localpart = i === 15 ? "ann.lee" : i === 16 ? "lunch" : `member${i}`;
    users.push(await createAccount(hs, { localpart, displayName: names(i) }));
  }
  roomId = createRoom(hs, users[0]!, { preset: "public_chat" } as never).room_id;
  for (const userId of users.slice(1, MEMBERS)) membership(userId, userId, "join");
  joinedAt.set(users[0]!, 0);
  // Members on rules of their own.
  putRule(hs, users[20]!, "room", roomId, { actions: [] }, {}); // the room muted
  setRuleEnabled(hs, users[21]!, "override", ".m.rule.master", true); // everything muted
  putRule(hs, users[22]!, "content", "food", { pattern: "lunch", actions: ["notify", { set_tweak: "highlight" }] }, {});
  putRule(hs, users[23]!, "override", "notices", { conditions: [{ kind: "event_match", key: "content.msgtype", pattern: "m.notice" }], actions: ["notify"] }, {});
  putRule(hs, users[24]!, "sender", users[1]!, { actions: [] }, {}); // nothing from users[1]
  putRule(hs, users[25]!, "underride", "quiet", { conditions: [{ kind: "event_match", key: "type", pattern: "m.room.message" }], actions: ["notify", { set_tweak: "sound", value: "ping" }] }, {});
  // Same actions as the default .m.rule.message, stored as the user's own rules: still counted as shared.
  setRuleEnabled(hs, users[26]!, "underride", ".m.rule.call", false);
});

afterAll(() => hs.close());

describe("a room of 40 with a shared outcome", () => {
  test("every member's counts, per thread and in total, and their notifications match the reference", () => {
    const [admin, one, two] = [users[0]!, users[1]!, users[2]!];
    const first = send(one, { msgtype: "m.text", body: "hello everyone" });
    send(two, { msgtype: "m.text", body: "Ann, have you seen ann lee? ANN LEE!" });
    send(admin, { msgtype: "m.text", body: "(bot) ping and zoë and Zoë, k-9, Ümit" });
    send(one, { msgtype: "m.text", body: "who wants lunch? ask member12 or member13, or ann.lee" });
    send(two, { msgtype: "m.text", body: "A.J. and the boss" });
    send(one, { msgtype: "m.text", body: "Ann Leeway here", "m.mentions": { user_ids: [users[3]!, users[20]!, users[21]!, "@nobody:localhost"] } });
    send(one, { msgtype: "m.text", body: "@room hi", "m.mentions": { room: true } });
    send(admin, { msgtype: "m.text", body: "@room hi", "m.mentions": { room: true } });
    send(admin, { msgtype: "m.text", body: "old style @room" });
    send(two, { msgtype: "m.notice", body: "a notice for ann" });
    send(two, { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA", sender_key: "k", session_id: "s", device_id: "D" }, "m.room.encrypted");
    send(two, { "m.relates_to": { rel_type: "m.annotation", event_id: first, key: "x" } }, "m.reaction");
    send(two, { msgtype: "m.text", body: "* fixed", "m.new_content": { msgtype: "m.text", body: "fixed" }, "m.relates_to": { rel_type: "m.replace", event_id: first } });
    const root = send(one, { msgtype: "m.text", body: "a thread" });
    const inThread = (sender: string, body: string, extra: Record<string, unknown> = {}) =>
      send(sender, { msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root }, ...extra });
    inThread(two, "in the thread");
    const mid = inThread(admin, "lunch in the thread", { "m.mentions": { user_ids: [users[5]!] } });

    // Receipts of several kinds, at several points.
    receipt(users[5]!, mid, root);
    receipt(users[6]!, first);
    receipt(users[7]!, mid);
    receipt(users[8]!, root, MAIN_THREAD);
    receipt(users[20]!, first);

    // A leave, a late join (after an invite), a display name change and an invite that stays one.
    membership(users[9]!, users[9]!, "leave");
    membership(admin, users[MEMBERS]!, "invite");
    membership(users[MEMBERS]!, users[MEMBERS]!, "join");
    setProfileField(hs, users[10]!, users[10]!, "displayname", "Renamed Ten");
    membership(admin, users[MEMBERS + 1]!, "invite");
    send(two, { msgtype: "m.text", body: "renamed ten and ümit, member9?" });
    inThread(one, "the thread goes on");
    send(one, { msgtype: "m.text", body: "last words for Member 30", "m.mentions": {} });
    receipt(users[11]!, mid);
    receipt(users[12]!, mid, root);
    send(two, { msgtype: "m.text", body: "after the receipts" });

    for (const userId of users) {
      const expected = expectedCounts(userId);
      if (hs.store.state.joinedMembers(roomId).has(userId)) {
        const perThread = unreadNotifications(hs, roomId, userId, true);
        const main = expected[MAIN_THREAD] ?? { notification_count: 0, highlight_count: 0 };
        const threads = Object.fromEntries(Object.entries(expected).filter(([thread, counts]) => thread !== MAIN_THREAD && counts.notification_count > 0));
        expect({ userId, ...perThread }).toEqual({ userId, unread_notifications: main, unread_thread_notifications: threads });
        const total = Object.values(expected).reduce((sum, c) => ({ notification_count: sum.notification_count + c.notification_count, highlight_count: sum.highlight_count + c.highlight_count }), { notification_count: 0, highlight_count: 0 });
        expect({ userId, ...unreadNotifications(hs, roomId, userId, false) }).toEqual({ userId, unread_notifications: total });
      }
      // GET /notifications: newest first, in pages of 7.
      const want = [...(reference.get(userId) ?? [])].reverse();
      const got: { eventId: string; highlight: boolean; actions: unknown[] }[] = [];
      let from: string | undefined;
      do {
        const page = listNotifications(hs, userId, { limit: 7, ...(from ? { from } : {}) });
        got.push(...page.notifications.map((n) => ({ eventId: n.event.event_id as string, highlight: n.actions.some((a) => typeof a === "object" && (a as { set_tweak?: string }).set_tweak === "highlight"), actions: n.actions })));
        from = page.next_token;
      } while (from);
      // The invitee who joined keeps their invite among their notifications (it was before the join).
      const invite = userId === users[MEMBERS] ? got.filter((n) => loadEvent(hs, n.eventId)!.pdu.type === "m.room.member") : [];
      expect({ userId, got: got.filter((n) => !invite.includes(n)).map((n) => [n.eventId, n.actions]) }).toEqual({ userId, got: want.map((n) => [n.eventId, n.actions]) });
      const highlights = listNotifications(hs, userId, { limit: 100, only: "highlight" }).notifications.map((n) => n.event.event_id);
      expect({ userId, highlights }).toEqual({ userId, highlights: want.filter((n) => n.highlight).map((n) => n.eventId) });
    }
    // The left member's counts stopped at the leave.
    const left = hs.store.pushActions.counts(users[9]!, roomId, false);
    expect(left.reduce((sum, row) => sum + row.notifications, 0)).toBe(Object.values(expectedCounts(users[9]!)).reduce((sum, c) => sum + c.notification_count, 0));
    // Most of it was recorded once per event, not once per member.
    const shared = hs.store.sqlite.query("SELECT COUNT(*) AS n FROM room_push_actions").get() as { n: number };
    const own = hs.store.sqlite.query("SELECT COUNT(*) AS n FROM event_push_actions").get() as { n: number };
    expect(shared.n).toBeGreaterThan(10);
    expect(own.n).toBeLessThan(shared.n * 15);
  });
});

describe("leaving and joining again", () => {
  test("counts start again at the new join; GET /notifications keeps both spans but not the time away", () => {
    const [owner, other, away] = [users[0]!, users[1]!, users[30]!];
    const room = createRoom(hs, owner, { preset: "public_chat" } as never).room_id;
    for (const userId of users.slice(1, 6).concat(away)) joinRoom(hs, userId, room, "join");
    const message = (body: string) => appendEvent(hs, { roomId: room, sender: other, type: "m.room.message", content: { msgtype: "m.text", body } }).eventId;
    const before = [message("one"), message("two")];
    expect(unreadNotifications(hs, room, away, false).unread_notifications.notification_count).toBe(2);
    changeMembership(hs, { roomId: room, sender: away, target: away, membership: "leave" });
    message("while away");
    // Frozen at the leave.
    expect(hs.store.pushActions.counts(away, room, false)).toEqual([{ threadId: MAIN_THREAD, notifications: 2, highlights: 0 }]);
    joinRoom(hs, away, room, "join");
    const after = message("back again");
    expect(unreadNotifications(hs, room, away, false).unread_notifications).toEqual({ notification_count: 1, highlight_count: 0 });
    const listed = listNotifications(hs, away, { limit: 100 }).notifications.filter((n) => n.room_id === room).map((n) => n.event.event_id);
    expect(listed).toEqual([after, ...before.reverse()]);
    // The shared outcome was used here (the room has seven members).
    expect(hs.store.sqlite.query("SELECT COUNT(*) AS n FROM room_push_actions WHERE room_id = ?").get(room)).toEqual({ n: 4 });
  });
});
