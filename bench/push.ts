// Cost of push rules per message: appendEvent (auth, hashing, signing, storage,
// push rule evaluation for every member, push action rows, commit) in a room of
// --members members, against the same in a 2-member room, and the rule
// evaluation alone. In-process, on a file-backed SQLite in WAL mode, as the
// server runs it; no HTTP, so that the figures are the write path's own.
//
//   bun run bench/push.ts [--members 1000] [--messages 200]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createAccount } from "../src/accounts/registration";
import { DEFAULT_CONFIG, validateConfig } from "../src/config";
import { openHomeserver } from "../src/homeserver";
import { evaluateRecipients } from "../src/push/actions";
import { unreadNotifications } from "../src/push/counts";
import { sendReceipt } from "../src/sync/receipts";
import { appendEvent } from "../src/rooms/append";
import { createRoom } from "../src/rooms/create-room";
import { joinRoom } from "../src/rooms/join";
import { createLogger } from "../src/util/log";
import { machine, percentile, removeDataDir } from "./lib";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { members: { type: "string", default: "1000" }, messages: { type: "string", default: "200" } },
});
const MEMBERS = Number(values.members);
const MESSAGES = Number(values.messages);

const dataDir = mkdtempSync(join(tmpdir(), "homeserver-push-bench-"));
const config = validateConfig({ ...structuredClone(DEFAULT_CONFIG), data_dir: dataDir, log_level: "error" } as never);
const hs = await openHomeserver(config, createLogger("error"), { checkpointInBackground: true });
if (process.env.CACHE_KIB) hs.store.sqlite.run(`PRAGMA cache_size = -${process.env.CACHE_KIB}`);

const users: string[] = [];
for (let i = 0; i < MEMBERS; i++) users.push(await createAccount(hs, { localpart: `member${i}`, displayName: `Member ${i}` }));
const big = createRoom(hs, users[0]!, { preset: "public_chat" } as never).room_id;
for (const userId of users.slice(1)) joinRoom(hs, userId, big, "join");
const small = createRoom(hs, users[0]!, { preset: "public_chat" } as never).room_id;
joinRoom(hs, users[1]!, small, "join");
await hs.store.settled();

/** Per-message time of appendEvent plus its commit, in ms. */
async function sendTimes(roomId: string, content: (i: number) => Record<string, unknown>): Promise<{ p50: number; p99: number; mean: number; cpuMean: number }> {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < MESSAGES; i++) {
    const t0 = performance.now();
    // Two senders in turn, so that each member has both as others.
    appendEvent(hs, { roomId, sender: users[i % 2]!, type: "m.room.message", content: content(i) });
    await hs.store.settled();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  times.sort((a, b) => a - b);
  // CPU time (user + system) of this process per message: what contention on a shared machine does not inflate.
  const cpuMean = (cpu.user + cpu.system) / 1000 / times.length;
  return { p50: +percentile(times, 0.5).toFixed(3), p99: +percentile(times, 0.99).toFixed(3), mean: +mean.toFixed(3), cpuMean: +cpuMean.toFixed(3) };
}

/**
 * Per-message time when `burst` messages arrive in one event-loop turn and share
 * one commit, as concurrent senders' do (group commit, see docs/architecture.md).
 */
async function burstTimes(roomId: string, burst: number): Promise<{ mean: number; cpuMean: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let round = 0; round < MESSAGES / burst; round++) {
    for (let i = 0; i < burst; i++) appendEvent(hs, { roomId, sender: users[i % 2]!, type: "m.room.message", content: { msgtype: "m.text", body: `burst ${round}.${i}` } });
    await hs.store.settled();
  }
  const cpu = process.cpuUsage(cpu0);
  return { mean: +((performance.now() - t0) / MESSAGES).toFixed(3), cpuMean: +((cpu.user + cpu.system) / 1000 / MESSAGES).toFixed(3) };
}

const plain = (i: number) => ({ msgtype: "m.text", body: `message ${i} about lunch` });
// Warm-up: caches (compiled rules, display names, prepared statements) and the JIT.
await sendTimes(big, plain);
const results = {
  [`${MEMBERS}-member room, plain message (notifies ${MEMBERS - 1})`]: await sendTimes(big, plain),
  [`${MEMBERS}-member room, message mentioning one member`]: await sendTimes(big, (i) => ({ ...plain(i), "m.mentions": { user_ids: [users[10]!] } })),
  [`${MEMBERS}-member room, m.notice (evaluated, nothing recorded)`]: await sendTimes(big, (i) => ({ msgtype: "m.notice", body: `notice ${i}` })),
  ["2-member room, plain message"]: await sendTimes(small, plain),
};
const burstMeanMs = {
  [`${MEMBERS}-member room, 20 messages per commit`]: await burstTimes(big, 20),
  ["2-member room, 20 messages per commit"]: await burstTimes(small, 20),
};

// The rules alone: every member's (the default ones shared) against one event, as appendEvent runs them.
const rounds = 50;
const t0 = performance.now();
const cpuEval0 = process.cpuUsage();
let notified = 0;
for (let r = 0; r < rounds; r++) {
  const pdu = { type: "m.room.message", sender: users[1]!, room_id: big, content: { msgtype: "m.text", body: `Member 5 said hello to member7 (${r})` } } as never;
  for (const [outcome, userIds] of evaluateRecipients(hs, pdu).groups) if (outcome?.notify) notified += userIds.length;
}
const evaluationMs = +((performance.now() - t0) / rounds).toFixed(3);
const cpuEval = process.cpuUsage(cpuEval0);
const evaluationCpuMs = +((cpuEval.user + cpuEval.system) / 1000 / rounds).toFixed(3);

// The read side: every member's unread counts for the room (what a /sync of each member after a message reads),
// then read receipts (each recounts the member's counters from the recorded outcomes after it).
for (const userId of users) unreadNotifications(hs, big, userId, true); // warm-up
const r0 = performance.now();
for (const userId of users) unreadNotifications(hs, big, userId, true);
const countsReadUs = +(((performance.now() - r0) * 1000) / users.length).toFixed(1);
const latest = appendEvent(hs, { roomId: big, sender: users[0]!, type: "m.room.message", content: { msgtype: "m.text", body: "read me" } }).eventId;
await hs.store.settled();
const receiptUsers = users.slice(100, 150);
const c0 = performance.now();
for (const userId of receiptUsers) {
  sendReceipt(hs, userId, big, "m.read", latest);
  await hs.store.settled();
}
const receiptMs = +((performance.now() - c0) / receiptUsers.length).toFixed(3);

const rows = (hs.store.sqlite.query("SELECT COUNT(*) AS n FROM event_push_actions").get() as { n: number }).n;
const sharedRows = (hs.store.sqlite.query("SELECT COUNT(*) AS n FROM room_push_actions").get() as { n: number }).n;
hs.close();
removeDataDir(dataDir);
console.log(JSON.stringify({ machine: machine(), members: MEMBERS, messagesPerCase: MESSAGES, appendPlusCommitMs: results, burstMeanMs, evaluationOnlyMsPerEvent: { wall: evaluationMs, cpu: evaluationCpuMs }, notifiedPerEvent: notified / rounds, countsReadUsPerMember: countsReadUs, receiptMsAfterUnread: receiptMs, ownPushActionRows: rows, sharedPushActionRows: sharedRows }, null, 2));
