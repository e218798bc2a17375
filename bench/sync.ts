// Sync benchmarks (issue: sync):
//  (a) fan-out: N long-polling clients joined to one room, one message sent: time
//      until every client has it; then messages at a steady rate with every client
//      syncing in a loop: do they all keep up (every message, bounded lag)? The
//      first --warmup seconds of the steady rate are not counted.
//  (b) initial sync of a user in 500 rooms of 50 events each, lazy-loading filter,
//      timeline limit 10;
//  (c) incremental sync with nothing new: requests/s, against a Bun.serve hello
//      world under the same concurrency;
//  (d) server memory (RSS) with the N clients of (a) connected and waiting.
//
//   bun run bench/sync.ts [--clients 1000] [--rate 100] [--seconds 10] [--warmup 5] [--rooms 500]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client, cpuMs, helloWorldCeiling, machine, percentile, removeDataDir, startServerProcess, withManyConnections, quickUser, inBatches } from "./lib";

await withManyConnections(import.meta.path);

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    clients: { type: "string", default: "1000" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "5" },
    rooms: { type: "string", default: "500" },
    "events-per-room": { type: "string", default: "50" },
  },
});
const CLIENTS = Number(values.clients);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const ROOMS = Number(values.rooms);
const EVENTS_PER_ROOM = Number(values["events-per-room"]);

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? +(Number(match[1]) / 1024).toFixed(1) : NaN;
}



// ---------- (a) fan-out and (d) memory ----------
async function fanOut() {
  const server = await startServerProcess();
  const rssIdle = rssMiB(server.proc.pid);
  const sender = await quickUser(server.base, "announcer");
  const roomId = (await sender.call("POST", "/createRoom", { preset: "public_chat" })).room_id as string;
  const room = encodeURIComponent(roomId);
  const clients = await inBatches(CLIENTS, 50, (i) => quickUser(server.base, `listener${i}`));
  await inBatches(CLIENTS, 50, (i) => clients[i]!.call("POST", `/join/${room}`, {}));
  // The initial sync only fetches a token; the long-polls take up to 100 events at
  // a time, so a client that falls behind catches up without paginating.
  const initialFilter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } }, presence: { types: [] } }));
  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 100 }, state: { lazy_load_members: true } }, presence: { types: [] } }));
  const tokens = await inBatches(CLIENTS, 50, async (i) => (await clients[i]!.call("GET", `/sync?filter=${initialFilter}&set_presence=offline`)).next_batch as string);

  // Messages are numbered: 0 is the single message, then the warm-up ones, then
  // the measured ones; their body is "msg-<n>". Every client long-polls in a loop
  // and notes when each message arrives (kept in typed arrays: a Map per client
  // with every body cost the load generator a sixth of its time).
  const warmCount = RATE * WARMUP;
  const total = 1 + warmCount + RATE * SECONDS;
  const sentAt = new Float64Array(total);
  const received = clients.map(() => new Float64Array(total)); // 0: not (yet) received
  let running = true;
  let responses = 0;
  const loops = clients.map(async (client, i) => {
    let since = tokens[i]!;
    const arrivals = received[i]!;
    while (running) {
      const response = await client.call("GET", `/sync?since=${since}&timeout=30000&filter=${filter}&set_presence=offline`).catch(() => null);
      if (!response) continue;
      responses++;
      since = response.next_batch;
      const now = performance.now();
      for (const event of response.rooms?.join?.[roomId]?.timeline?.events ?? []) {
        const body = event.type === "m.room.message" ? event.content.body : undefined;
        if (typeof body !== "string" || !body.startsWith("msg-")) continue;
        const n = Number(body.slice(4));
        if (arrivals[n] === 0) arrivals[n] = now;
      }
    }
  });
  await Bun.sleep(2000); // let every long-poll reach the server
  const rssWaiting = rssMiB(server.proc.pid);

  const send = async (n: number) => {
    sentAt[n] = performance.now();
    await sender.call("PUT", `/rooms/${room}/send/m.room.message/msg-${n}`, { msgtype: "m.text", body: `msg-${n}` });
  };
  /** Until every client has messages [from, to) or the timeout passes. */
  const waitFor = async (from: number, to: number, timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    const allThere = () => received.every((arrivals) => arrivals.subarray(from, to).every((at) => at > 0));
    while (performance.now() < deadline && !allThere()) await Bun.sleep(20);
  };

  // One message to everyone.
  await send(0);
  await waitFor(0, 1, 30_000);
  const single = received.map((arrivals) => (arrivals[0]! > 0 ? arrivals[0]! - sentAt[0]! : Infinity)).sort((a, b) => a - b);

  // A steady rate: the first WARMUP seconds (the server's JIT compiling the hot
  // paths) are not counted; the measured messages follow without a pause.
  const firstMeasured = 1 + warmCount;
  let serverCpuBefore = 0;
  let loadCpuBefore = 0;
  let measuredFrom = 0;
  let responsesBefore = 0;
  const started = performance.now();
  for (let n = 0; n < warmCount + RATE * SECONDS; n++) {
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    if (n === warmCount) {
      serverCpuBefore = cpuMs(server.proc.pid);
      responsesBefore = responses;
      loadCpuBefore = cpuMs(process.pid);
      measuredFrom = performance.now();
    }
    void send(1 + n);
  }
  const sendSeconds = (performance.now() - measuredFrom) / 1000;
  const steadyResponses = responses - responsesBefore;
  // Where the two cores went while the messages were sent: the server, or the
  // load generator (1,000 clients parsing their responses).
  const serverCpuMs = cpuMs(server.proc.pid) - serverCpuBefore;
  const serverCpuShare = serverCpuMs / (sendSeconds * 1000);
  const loadCpuShare = (cpuMs(process.pid) - loadCpuBefore) / (sendSeconds * 1000);
  await waitFor(firstMeasured, total, 60_000);
  const lags: number[] = [];
  let missing = 0;
  for (const arrivals of received) {
    for (let n = firstMeasured; n < total; n++) {
      if (arrivals[n] === 0) missing++;
      else lags.push(arrivals[n]! - sentAt[n]!);
    }
  }
  lags.sort((a, b) => a - b);
  const rssAfter = rssMiB(server.proc.pid);
  running = false;
  await server.stop();
  await Promise.race([Promise.all(loops), Bun.sleep(5000)]);
  removeDataDir(server.dataDir);
  return {
    clients: CLIENTS,
    oneMessage: { p50Ms: +percentile(single, 0.5).toFixed(1), p99Ms: +percentile(single, 0.99).toFixed(1), maxMs: +single.at(-1)!.toFixed(1) },
    steady: {
      warmUpSeconds: WARMUP,
      messages: total - firstMeasured,
      targetPerSecond: RATE,
      achievedPerSecond: Math.round((total - firstMeasured) / sendSeconds),
      deliveries: lags.length,
      missing,
      lagP50Ms: +percentile(lags, 0.5).toFixed(1),
      lagP99Ms: +percentile(lags, 0.99).toFixed(1),
      // How many /sync answers the clients got while the messages were sent, and
      // the server's CPU time per answer (answers carry more events when fewer).
      responsesPerSecond: Math.round(steadyResponses / sendSeconds),
      serverCpuMsPerResponse: +(serverCpuMs / steadyResponses).toFixed(3),
      serverCpuShare: +serverCpuShare.toFixed(2),
      loadGeneratorCpuShare: +loadCpuShare.toFixed(2),
    },
    memory: { rssIdleMiB: rssIdle, rssWithClientsWaitingMiB: rssWaiting, rssAfterSteadyLoadMiB: rssAfter },
  };
}

// ---------- (b) initial sync in many rooms and (c) idle incremental sync ----------
async function manyRooms() {
  const server = await startServerProcess();
  const user = await quickUser(server.base, "busy");
  const friend = await quickUser(server.base, "friend");
  const roomIds = await inBatches(ROOMS, 20, async (i) => {
    const roomId = (await user.call("POST", "/createRoom", { preset: "public_chat", name: `Room ${i}` })).room_id as string;
    await friend.call("POST", `/join/${encodeURIComponent(roomId)}`, {});
    return roomId;
  });
  // createRoom + a join make 8 events; fill each room up to EVENTS_PER_ROOM.
  await inBatches(ROOMS, 20, async (i) => {
    const room = encodeURIComponent(roomIds[i]!);
    for (let n = 8; n < EVENTS_PER_ROOM; n++) {
      const who = n % 2 === 0 ? user : friend;
      await who.call("PUT", `/rooms/${room}/send/m.room.message/fill-${i}-${n}`, { msgtype: "m.text", body: `message ${n}` });
    }
  });
  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 10 }, state: { lazy_load_members: true } } }));
  const initial: number[] = [];
  let nextBatch = "";
  let joined = 0;
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    const response = await user.call("GET", `/sync?filter=${filter}`);
    initial.push(performance.now() - t0);
    nextBatch = response.next_batch;
    joined = Object.keys(response.rooms.join).length;
  }
  initial.sort((a, b) => a - b);

  // (c) nothing new: timeout=0 incremental syncs, 50 at a time.
  const concurrency = 50;
  const total = 5000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = 0; n < total / concurrency; n++) await user.call("GET", `/sync?since=${nextBatch}&timeout=0&filter=${filter}`);
    }),
  );
  const idlePerSecond = Math.round(total / ((performance.now() - started) / 1000));
  await server.stop();
  removeDataDir(server.dataDir);
  const ceiling = Math.round(await helloWorldCeiling(concurrency, total));
  return {
    initialSync: { rooms: joined, eventsPerRoom: EVENTS_PER_ROOM, medianMs: +percentile(initial, 0.5).toFixed(1), minMs: +initial[0]!.toFixed(1), maxMs: +initial.at(-1)!.toFixed(1) },
    idleIncrementalSync: { requestsPerSecond: idlePerSecond, helloWorldRequestsPerSecond: ceiling, ratio: +(idlePerSecond / ceiling).toFixed(2) },
  };
}

const rooms = await manyRooms();
const fan = await fanOut();
console.log(JSON.stringify({ machine: machine(), ...rooms, fanOut: fan }, null, 2));
