// /messages pagination (issue: rooms and the event timeline): a room filled with
// many events, read back from the newest to the oldest page by page, and forwards
// again; latency per page and events read per second.
//
//   bun run bench/messages.ts [--events 5000] [--limit 100]
import { parseArgs } from "node:util";
import { Client, machine, percentile, removeDataDir, startServerProcess } from "./lib";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { events: { type: "string", default: "5000" }, limit: { type: "string", default: "100" } },
});
const EVENTS = Number(values.events);
const LIMIT = Number(values.limit);
const WRITERS = 20;

const server = await startServerProcess();
const owner = await Client.register(server.base, "pager");
const roomId = (await owner.call("POST", "/createRoom", { preset: "public_chat", name: "History" })).room_id as string;
const room = encodeURIComponent(roomId);
const writers = [owner];
for (let i = 1; i < WRITERS; i++) {
  const writer = await Client.register(server.base, `writer${i}`);
  await writer.call("POST", `/join/${room}`, {});
  writers.push(writer);
}
const perWriter = Math.ceil(EVENTS / WRITERS);
await Promise.all(
  writers.map(async (writer, w) => {
    for (let i = 0; i < perWriter; i++) await writer.call("PUT", `/rooms/${room}/send/m.room.message/fill-${w}-${i}`, { msgtype: "m.text", body: `history ${w}/${i}` });
  }),
);

async function walk(dir: "b" | "f") {
  const latencies: number[] = [];
  let from: string | undefined;
  let events = 0;
  const started = performance.now();
  for (;;) {
    const query = new URLSearchParams({ dir, limit: String(LIMIT), ...(from ? { from } : {}) });
    const t0 = performance.now();
    const page = await owner.call("GET", `/rooms/${room}/messages?${query}`);
    latencies.push(performance.now() - t0);
    events += page.chunk.length;
    if (!page.end) break;
    from = page.end;
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { pages: latencies.length, events, eventsPerSecond: Math.round(events / seconds), p50Ms: +percentile(latencies, 0.5).toFixed(1), p99Ms: +percentile(latencies, 0.99).toFixed(1) };
}

const backwards = await walk("b");
const forwards = await walk("f");
await server.stop();
removeDataDir(server.dataDir);
console.log(JSON.stringify({ machine: machine(), eventsInRoom: WRITERS * perWriter, pageLimit: LIMIT, backwards, forwards }, null, 2));
