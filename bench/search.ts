// POST /search latency (Server Side Search over the FTS5 index): rooms filled
// with many messages through the ordinary send API by several concurrent
// senders, then searched for common, rare, multi-word and prefix terms in both
// orders; latency percentiles per kind of query.
//
//   bun run bench/search.ts [--messages 100000] [--rooms 5] [--writers 20] [--queries 40]
import { parseArgs } from "node:util";
import { statSync } from "node:fs";
import { join } from "node:path";
import { Client, machine, percentile, removeDataDir, startServerProcess } from "./lib";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    messages: { type: "string", default: "100000" },
    rooms: { type: "string", default: "5" },
    writers: { type: "string", default: "20" },
    queries: { type: "string", default: "40" },
  },
});
const MESSAGES = Number(values.messages);
const ROOMS = Number(values.rooms);
const WRITERS = Number(values.writers);
const QUERIES = Number(values.queries);

// Deterministic text: a vocabulary of 5000 made-up words, drawn with a skew so
// that a few words are very common (like "the") and most are rare.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zen", "qua", "dor", "pel", "fin", "gar", "hux", "jub"];
const vocabulary = Array.from({ length: 5000 }, (_, i) => {
  let word = "";
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length];
  return word;
});
const wordAt = () => vocabulary[Math.floor(vocabulary.length * random() ** 3)]!;
const sentence = () => Array.from({ length: 6 + Math.floor(random() * 10) }, wordAt).join(" ");

const server = await startServerProcess();
const owner = await Client.register(server.base, "searcher");
const rooms: string[] = [];
for (let r = 0; r < ROOMS; r++) rooms.push((await owner.call("POST", "/createRoom", { preset: "public_chat", name: `Room ${r}` })).room_id);
const writers = [owner];
for (let i = 1; i < WRITERS; i++) {
  const writer = await Client.register(server.base, `writer${i}`);
  for (const roomId of rooms) await writer.call("POST", `/join/${encodeURIComponent(roomId)}`, {});
  writers.push(writer);
}

const perWriter = Math.ceil(MESSAGES / WRITERS);
const fillStarted = performance.now();
await Promise.all(
  writers.map(async (writer, w) => {
    for (let i = 0; i < perWriter; i++) {
      const room = encodeURIComponent(rooms[(w + i) % rooms.length]!);
      await writer.call("PUT", `/rooms/${room}/send/m.room.message/fill-${w}-${i}`, { msgtype: "m.text", body: sentence() });
    }
  }),
);
const fillSeconds = (performance.now() - fillStarted) / 1000;

async function measure({ nextBatch, ...criteria }: Record<string, unknown>) {
  const latencies: number[] = [];
  let results = 0;
  let count = 0;
  // The second page: with the first page's next_batch.
  const query = nextBatch
    ? `?next_batch=${encodeURIComponent((await owner.call("POST", "/search", { search_categories: { room_events: criteria } })).search_categories.room_events.next_batch)}`
    : "";
  for (let i = 0; i < QUERIES; i++) {
    const t0 = performance.now();
    const body = await owner.call("POST", `/search${query}`, { search_categories: { room_events: criteria } });
    latencies.push(performance.now() - t0);
    results = body.search_categories.room_events.results.length;
    count = body.search_categories.room_events.count;
  }
  latencies.sort((a, b) => a - b);
  return { results, count, p50Ms: +percentile(latencies, 0.5).toFixed(1), p99Ms: +percentile(latencies, 0.99).toFixed(1) };
}

const common = vocabulary[0]!;
const middling = vocabulary[200]!;
const rare = vocabulary[4500]!;
const queries: Record<string, Record<string, unknown>> = {
  [`common word (${common}), rank`]: { search_term: common },
  [`common word (${common}), recent`]: { search_term: common, order_by: "recent" },
  [`middling word (${middling}), rank`]: { search_term: middling },
  [`rare word (${rare}), rank`]: { search_term: rare },
  [`two words (${common} ${middling}), rank`]: { search_term: `${common} ${middling}` },
  [`prefix (${middling.slice(0, 4)}), rank`]: { search_term: middling.slice(0, 4) },
  [`common word (${common}), recent, page 2`]: { search_term: common, order_by: "recent", nextBatch: true },
  [`common word, recent, event_context 5/5 + profiles`]: { search_term: common, order_by: "recent", event_context: { before_limit: 5, after_limit: 5, include_profile: true } },
  [`common word, rank, one room (filter.rooms)`]: { search_term: common, filter: { rooms: [rooms[0]] } },
  [`no match`]: { search_term: "xyzzyplugh" },
};
const latency: Record<string, unknown> = {};
for (const [name, criteria] of Object.entries(queries)) latency[name] = await measure(criteria);

const databaseBytes = statSync(join(server.dataDir, "homeserver.db")).size + (() => {
  try {
    return statSync(join(server.dataDir, "homeserver.db-wal")).size;
  } catch {
    return 0;
  }
})();
await server.stop();
removeDataDir(server.dataDir);
console.log(
  JSON.stringify(
    {
      machine: machine(),
      messages: WRITERS * perWriter,
      rooms: ROOMS,
      writers: WRITERS,
      fill: { seconds: +fillSeconds.toFixed(1), messagesPerSecond: Math.round((WRITERS * perWriter) / fillSeconds) },
      databaseMiB: +(databaseBytes / 2 ** 20).toFixed(1),
      queriesPerKind: QUERIES,
      latency,
    },
    null,
    2,
  ),
);
