// Simplified sliding sync (MSC4186) benchmarks (issue: sliding sync), with the
// request shapes of matrix-rust-sdk's room list (list "all_rooms", timeline 1,
// $LAZY/$ME required_state, not_room_types m.space):
//  (a) first room-list response for a user in N rooms (range [0,19]): on a
//      new connection of a running server, and the very first request after a
//      restart (nothing cached); plus the whole list at once ([0,N-1]);
//  (b) incremental update latency: C clients, each in its own rooms and all in
//      one shared room, long-poll their room-list connection; a message in the
//      shared room (wakes all C) and messages in one client's own room (wakes
//      one): time from the send to its arrival at each client. The first
//      --warmup rounds are reported apart, not in the percentiles: the
//      server's JIT is still compiling the hot paths then (with the JIT's
//      compile times logged, about 1.5 s of compiling fell in rounds 40 to 120,
//      one optimizing compile of the response builder alone taking 0.3 s).
//
//   bun run bench/sliding.ts [--rooms 1000] [--clients 200] [--messages 40] [--warmup 100]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client, cpuMs, machine, percentile, removeDataDir, startServerProcess, type ServerProcess, withManyConnections, quickUser, inBatches } from "./lib";

await withManyConnections(import.meta.path);

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rooms: { type: "string", default: "1000" },
    clients: { type: "string", default: "200" },
    messages: { type: "string", default: "40" },
    warmup: { type: "string", default: "100" },
  },
});
const ROOMS = Number(values.rooms);
const CLIENTS = Number(values.clients);
const MESSAGES = Number(values.messages);
const WARMUP = Number(values.warmup);
const SLIDING = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

/** The all_rooms list of matrix-rust-sdk's room list service. */
const allRooms = (range: [number, number]) => ({
  ranges: [range],
  timeline_limit: 1,
  required_state: [
    ["m.room.encryption", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"], ["m.room.name", ""], ["m.room.topic", ""],
    ["m.room.avatar", ""], ["m.room.canonical_alias", ""], ["m.room.power_levels", ""], ["m.room.join_rules", ""],
    ["m.room.tombstone", ""], ["m.room.create", ""], ["m.room.history_visibility", ""], ["org.matrix.msc3401.call.member", "*"], ["m.space.parent", "*"],
  ],
  filters: { not_room_types: ["m.space"] },
});
const roomListBody = (connId: string, range: [number, number]) => ({
  conn_id: connId,
  lists: { all_rooms: allRooms(range) },
  extensions: { account_data: { enabled: true }, receipts: { enabled: true, rooms: ["*"] }, typing: { enabled: true } },
});

/** `body` may be given as JSON text: a long-polling client sends the same body each time. */
async function slidingSync(client: Client, body: unknown, pos?: string, timeout = 0): Promise<any> {
  const query = new URLSearchParams({ timeout: String(timeout) });
  if (pos) query.set("pos", pos);
  const response = await fetch(`${client.base}${SLIDING}?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${client.token}` },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`sliding sync: ${response.status} ${JSON.stringify(json)}`);
  return json;
}




const round = (n: number) => +n.toFixed(1);
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)), maxMs: round(sorted.at(-1)!) };
};

// ---------- (a) first room-list response ----------
async function firstResponse() {
  let server: ServerProcess = await startServerProcess();
  const user = await quickUser(server.base, "busy");
  const friend = await quickUser(server.base, "friend");
  await inBatches(ROOMS, 25, async (i) => {
    const roomId = (await user.call("POST", "/createRoom", { preset: "public_chat", name: `Room ${i}` })).room_id as string;
    const room = encodeURIComponent(roomId);
    await friend.call("POST", `/join/${room}`, {});
    await friend.call("PUT", `/rooms/${room}/send/m.room.message/m-${i}`, { msgtype: "m.text", body: `hello ${i}` });
  });

  let client: Client = user;
  const time = async (body: unknown) => {
    const t0 = performance.now();
    const response = await slidingSync(client, body);
    return { ms: performance.now() - t0, rooms: Object.keys(response.rooms).length, count: response.lists.all_rooms.count };
  };
  // A running server: each run is a new connection (a fresh app start).
  const warm: number[] = [];
  let shape = { rooms: 0, count: 0 };
  await time(roomListBody("warm-up", [0, 19]));
  const warmCpu = cpuMs(server.proc.pid);
  for (let run = 0; run < 7; run++) {
    const result = await time(roomListBody(`warm-${run}`, [0, 19]));
    warm.push(result.ms);
    shape = result;
  }
  const warmCpuPerRequest = (cpuMs(server.proc.pid) - warmCpu) / warm.length;
  const whole: number[] = [];
  const wholeCpu = cpuMs(server.proc.pid);
  for (let run = 0; run < 3; run++) whole.push((await time(roomListBody(`whole-${run}`, [0, ROOMS - 1]))).ms);
  const wholeCpuPerRequest = (cpuMs(server.proc.pid) - wholeCpu) / whole.length;

  // The first request after a restart: no cache holds anything yet.
  const cold: number[] = [];
  for (let run = 0; run < 3; run++) {
    await server.stop();
    server = await startServerProcess({ dataDir: server.dataDir });
    client = new Client(server.base, user.token);
    cold.push((await time(roomListBody(`cold-${run}`, [0, 19]))).ms);
  }
  await server.stop();
  removeDataDir(server.dataDir);
  return {
    rooms: ROOMS,
    listCount: shape.count,
    roomsInFirstResponse: shape.rooms,
    newConnection: { ...summary(warm), serverCpuMsPerRequest: round(warmCpuPerRequest) },
    afterRestart: summary(cold),
    wholeList: { ...summary(whole), serverCpuMsPerRequest: round(wholeCpuPerRequest) },
  };
}

// ---------- (b) incremental update latency ----------
async function incrementalLatency() {
  const server = await startServerProcess();
  const sender = await quickUser(server.base, "announcer");
  const shared = (await sender.call("POST", "/createRoom", { preset: "public_chat", name: "Shared" })).room_id as string;
  const clients = await inBatches(CLIENTS, 50, (i) => quickUser(server.base, `client${i}`));
  // Each client: the shared room and four rooms of its own (a message in each).
  const own = await inBatches(CLIENTS, 25, async (i) => {
    const client = clients[i]!;
    await client.call("POST", `/join/${encodeURIComponent(shared)}`, {});
    const mine: string[] = [];
    for (let r = 0; r < 4; r++) {
      const roomId = (await client.call("POST", "/createRoom", { name: `own ${i}-${r}` })).room_id as string;
      await client.call("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/setup-${r}`, { msgtype: "m.text", body: "mine" });
      mine.push(roomId);
    }
    return mine;
  });

  const received: Map<string, number>[] = clients.map(() => new Map());
  let running = true;
  const loops = clients.map(async (client, i) => {
    const body = JSON.stringify(roomListBody("room-list", [0, 19]));
    let pos = (await slidingSync(client, body)).pos as string;
    while (running) {
      const response = await slidingSync(client, body, pos, 30_000).catch((error) => {
        if (running) console.error(String(error).slice(0, 300));
        return null;
      });
      if (!response) continue;
      pos = response.pos;
      const now = performance.now();
      for (const room of Object.values(response.rooms ?? {}) as any[]) {
        for (const event of room.timeline ?? []) {
          if (event.type === "m.room.message" && !received[i]!.has(event.content.body)) received[i]!.set(event.content.body, now);
        }
      }
    }
  });
  await Bun.sleep(2000); // every long-poll waiting

  const waitFor = async (body: string, who: number[], timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && !who.every((i) => received[i]!.has(body))) await Bun.sleep(5);
  };
  const everyone = clients.map((_, i) => i);
  const fanOut: number[] = [];
  const single: number[] = [];
  let missing = 0;
  let fanOutCpu = 0;
  const warmFanOut: number[] = [];
  let warmCpu = 0;
  for (let n = -WARMUP; n < MESSAGES; n++) {
    const counted = n >= 0;
    // One message in the shared room: all clients wake.
    const body = `shared-${n}`;
    const cpuBefore = cpuMs(server.proc.pid);
    const sentAt = performance.now();
    await sender.call("PUT", `/rooms/${encodeURIComponent(shared)}/send/m.room.message/${body}`, { msgtype: "m.text", body });
    await waitFor(body, everyone, 10_000);
    await Bun.sleep(50); // the clients' next long-polls reach the server
    const cpu = cpuMs(server.proc.pid) - cpuBefore;
    if (counted) fanOutCpu += cpu;
    else warmCpu += cpu;
    for (const map of received) {
      const at = map.get(body);
      if (at === undefined) missing++;
      else (counted ? fanOut : warmFanOut).push(at - sentAt);
    }
    // One message in one client's own room: that client wakes.
    const target = (((n * 37) % CLIENTS) + CLIENTS) % CLIENTS;
    const mine = `own-${n}`;
    const sentMine = performance.now();
    await clients[target]!.call("PUT", `/rooms/${encodeURIComponent(own[target]![(n + WARMUP) % 4]!)}/send/m.room.message/${mine}`, { msgtype: "m.text", body: mine });
    await waitFor(mine, [target], 10_000);
    const at = received[target]!.get(mine);
    if (at === undefined) missing++;
    else if (counted) single.push(at - sentMine);
    await Bun.sleep(100);
  }
  running = false;
  await server.stop();
  await Promise.race([Promise.all(loops), Bun.sleep(1000)]);
  removeDataDir(server.dataDir);
  return {
    clients: CLIENTS,
    messages: MESSAGES,
    missing,
    warmUp: { messages: WARMUP, sharedRoomAllClients: WARMUP > 0 ? { ...summary(warmFanOut), serverCpuMsPerMessage: round(warmCpu / WARMUP) } : null },
    sharedRoomAllClients: { ...summary(fanOut), serverCpuMsPerMessage: round(fanOutCpu / MESSAGES), serverCpuMsPerClient: +(fanOutCpu / MESSAGES / CLIENTS).toFixed(2) },
    ownRoomOneClient: summary(single),
  };
}

const first = await firstResponse();
const incremental = await incrementalLatency();
console.log(JSON.stringify({ machine: machine(), firstRoomListResponse: first, incrementalUpdate: incremental }, null, 2));
