// Send throughput (issue: rooms and the event timeline): many concurrent senders
// through the HTTP API into one room and into many rooms, on a file-backed SQLite
// in WAL mode; p50/p99 send latency; the raw Bun.serve hello-world requests/s in
// the same run as the ceiling; and durability: kill -9 in the middle of a load,
// restart, and check that every event that got a 200 is there.
//
//   bun run bench/send.ts [--senders 50] [--messages 100] [--warmup 300] [--client keep-alive|fetch] [--skip-kill]
//
// The measured rounds follow `--warmup` messages per sender into each kind of
// room (reported apart): the JIT compiles the send path for the first ten to
// fifteen thousand requests, and a homeserver runs for much longer than that
// (300 per sender: 30,000 sends with the default 50 senders).
//
// Each sender is an HTTP/1.1 client with a keep-alive connection of its own
// (bench/keep-alive.ts, as wrk does); `--client fetch` uses Bun's fetch instead,
// which costs the shared cores about twice the CPU per request. The hello-world
// ceiling is measured with the same client.
import { parseArgs } from "node:util";
import { Client, cpuMs, helloWorldCeiling, machine, percentile, removeDataDir, startServerProcess } from "./lib";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    senders: { type: "string", default: "50" },
    messages: { type: "string", default: "100" },
    warmup: { type: "string", default: "300" },
    client: { type: "string", default: "keep-alive" },
    "skip-kill": { type: "boolean", default: false },
  },
});
const SENDERS = Number(values.senders);
const PER_SENDER = Number(values.messages);
const WARMUP = Number(values.warmup);
if (values.client !== "keep-alive" && values.client !== "fetch") throw new Error("--client is keep-alive or fetch");
const CLIENT = values.client;

async function sendLoad(clients: (Client & { userId: string })[], roomOf: (i: number) => string, perSender: number, acked?: { roomId: string; eventId: string }[], serverPid?: number) {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const cpuBefore = serverPid === undefined ? 0 : cpuMs(serverPid);
  await Promise.all(
    clients.map(async (client, i) => {
      const roomId = encodeURIComponent(roomOf(i));
      for (let j = 0; j < perSender; j++) {
        const t0 = performance.now();
        try {
          const { event_id } = await client.call("PUT", `/rooms/${roomId}/send/m.room.message/b${i}-${j}-${Date.now()}`, { msgtype: "m.text", body: `message ${j} from ${i}` });
          latencies.push(performance.now() - t0);
          acked?.push({ roomId: roomOf(i), eventId: event_id });
        } catch {
          failures++;
          if (acked) return; // the server is gone (kill test)
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // The server's CPU (all its threads, user and system) per message sent: on two
  // shared cores the rate alone mixes in the load generator and the VM's noise.
  const serverCpuMsPerMessage = serverPid === undefined ? undefined : +((cpuMs(serverPid) - cpuBefore) / Math.max(1, latencies.length)).toFixed(3);
  latencies.sort((a, b) => a - b);
  return {
    messages: latencies.length,
    failures,
    seconds: +seconds.toFixed(2),
    perSecond: Math.round(latencies.length / seconds),
    p50Ms: +percentile(latencies, 0.5).toFixed(1),
    p99Ms: +percentile(latencies, 0.99).toFixed(1),
    serverCpuMsPerMessage,
  };
}

async function setup(base: string, prefix: string) {
  const clients = [];
  for (let i = 0; i < SENDERS; i++) clients.push(await Client.register(base, `${prefix}${i}`));
  if (CLIENT === "keep-alive") for (const client of clients) await client.keepAlive();
  const shared = (await clients[0]!.call("POST", "/createRoom", { preset: "public_chat" })).room_id as string;
  for (const client of clients.slice(1)) await client.call("POST", `/join/${encodeURIComponent(shared)}`, {});
  const own: string[] = [];
  for (const client of clients) own.push((await client.call("POST", "/createRoom", { preset: "private_chat" })).room_id);
  return { clients, shared, own };
}

const server = await startServerProcess();
const { clients, shared, own } = await setup(server.base, "sender");
const warmUp = {
  oneRoom: await sendLoad(clients, () => shared, WARMUP, undefined, server.proc.pid),
  manyRooms: await sendLoad(clients, (i) => own[i]!, WARMUP, undefined, server.proc.pid),
};
const oneRoom = await sendLoad(clients, () => shared, PER_SENDER, undefined, server.proc.pid);
const manyRooms = await sendLoad(clients, (i) => own[i]!, PER_SENDER, undefined, server.proc.pid);
for (const client of clients) client.close();
await server.stop();
removeDataDir(server.dataDir);

const ceiling = Math.round(await helloWorldCeiling(SENDERS, SENDERS * PER_SENDER, CLIENT));

let durability: Record<string, unknown> = { skipped: true };
if (!values["skip-kill"]) {
  const victim = await startServerProcess();
  const setupKill = await setup(victim.base, "durable");
  const acked: { roomId: string; eventId: string }[] = [];
  const load = sendLoad(setupKill.clients, () => setupKill.shared, 100_000, acked);
  await Bun.sleep(1500);
  await victim.kill9();
  await load;
  const revived = await startServerProcess({ dataDir: victim.dataDir });
  const reader = new Client(revived.base, setupKill.clients[0]!.token);
  let missing = 0;
  for (const { roomId, eventId } of acked) {
    try {
      await reader.call("GET", `/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`);
    } catch {
      missing++;
    }
  }
  await revived.stop();
  removeDataDir(victim.dataDir);
  durability = { ackedBeforeKill: acked.length, missingAfterRestart: missing };
}

const report = { machine: machine(), client: CLIENT, senders: SENDERS, messagesPerSender: PER_SENDER, warmUp, oneRoom, manyRooms, helloWorldRequestsPerSecond: ceiling, durability };
console.log(JSON.stringify(report, null, 2));
