// Key query and claim latency (issue: end-to-end encryption): one client asking
// for the keys of
//  (a) one user with 50 devices: POST /keys/query for the user, and POST
//      /keys/claim of one one-time key from every device in one request;
//  (b) 200 users with one device each: the same, all 200 users in one request.
// Requests go one after another (latency, not throughput), on a file-backed
// SQLite in WAL mode. Every device has uploaded enough one-time keys that every
// measured claim hands out one-time keys, never the fallback key.
//
//   bun run bench/keys.ts [--devices 50] [--users 200] [--iterations 200]
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Client, machine, percentile, removeDataDir, startServerProcess } from "./lib";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    devices: { type: "string", default: "50" },
    users: { type: "string", default: "200" },
    iterations: { type: "string", default: "200" },
  },
});
const DEVICES = Number(values.devices);
const USERS = Number(values.users);
const ITERATIONS = Number(values.iterations);
const WARMUP = 10;
const PASSWORD = "bench-password";

type Device = Client & { userId: string; deviceId: string };

async function login(base: string, username: string): Promise<Device> {
  const client = new Client(base) as Device;
  const body = await client.call("POST", "/login", { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: PASSWORD });
  Object.assign(client, { token: body.access_token, userId: body.user_id, deviceId: body.device_id });
  return client;
}

/** Registers without a password (no argon2id): hundreds of accounts take seconds. */
async function registerWithoutPassword(base: string, username: string): Promise<Device> {
  const client = new Client(base) as Device;
  const body = await client.call("POST", "/register", { username, auth: { type: "m.login.dummy" } });
  Object.assign(client, { token: body.access_token, userId: body.user_id, deviceId: body.device_id });
  return client;
}

/** Device keys, `count` one-time keys and a fallback key, in one /keys/upload (what a new client sends). */
async function uploadKeys(device: Device, count: number): Promise<void> {
  const { userId, deviceId } = device;
  const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64").replace(/=+$/, "");
  const signed = () => ({ key: random(), signatures: { [userId]: { [`ed25519:${deviceId}`]: random() + random() } } });
  const oneTimeKeys: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) oneTimeKeys[`signed_curve25519:AAAA${i.toString(36).padStart(4, "0")}`] = signed();
  await device.call("POST", "/keys/upload", {
    device_keys: {
      user_id: userId,
      device_id: deviceId,
      algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: { [`curve25519:${deviceId}`]: random(), [`ed25519:${deviceId}`]: random() },
      signatures: { [userId]: { [`ed25519:${deviceId}`]: random() + random() } },
    },
    one_time_keys: oneTimeKeys,
    fallback_keys: { "signed_curve25519:FALLBACK": { ...signed(), fallback: true } },
  });
}

/** Runs `request` WARMUP times unmeasured, then ITERATIONS times one after another: p50/p99 in ms. */
async function measure(request: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await request();
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await request();
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: ITERATIONS, perSecond: Math.round(ITERATIONS / seconds), p50Ms: +percentile(latencies, 0.5).toFixed(2), p99Ms: +percentile(latencies, 0.99).toFixed(2) };
}

/** Query and claim for `devices` (all must be answered in full, or the run is void). */
async function scenario(asker: Client, devices: Device[]) {
  const users = [...new Set(devices.map((d) => d.userId))];
  const queryBody = { device_keys: Object.fromEntries(users.map((u) => [u, []])) };
  const claimBody: { one_time_keys: Record<string, Record<string, string>> } = { one_time_keys: {} };
  for (const d of devices) (claimBody.one_time_keys[d.userId] ??= {})[d.deviceId] = "signed_curve25519";

  const query = await measure(async () => {
    const body = await asker.call("POST", "/keys/query", queryBody);
    const found = users.reduce((n, u) => n + Object.keys(body.device_keys[u] ?? {}).length, 0);
    if (found !== devices.length) throw new Error(`/keys/query returned ${found} of ${devices.length} devices`);
  });
  const claim = await measure(async () => {
    const body = await asker.call("POST", "/keys/claim", claimBody);
    for (const d of devices) {
      const keyId = Object.keys(body.one_time_keys[d.userId]?.[d.deviceId] ?? {})[0];
      if (!keyId || keyId === "signed_curve25519:FALLBACK") throw new Error(`no one-time key claimed for ${d.userId} ${d.deviceId}`);
    }
  });
  return { users: users.length, devices: devices.length, query, claim };
}

const server = await startServerProcess();
const keysPerDevice = WARMUP + ITERATIONS;
const asker = await Client.register(server.base, "asker");

// (a) one user, DEVICES devices.
await new Client(server.base).call("POST", "/register", { username: "many", password: PASSWORD, auth: { type: "m.login.dummy" } });
const manyDevices: Device[] = [];
for (let i = 0; i < DEVICES; i++) manyDevices.push(await login(server.base, "many"));
for (const device of manyDevices) await uploadKeys(device, keysPerDevice);

// (b) USERS users, one device each.
const oneEach: Device[] = [];
for (let i = 0; i < USERS; i++) oneEach.push(await registerWithoutPassword(server.base, `user${i}`));
for (const device of oneEach) await uploadKeys(device, keysPerDevice);

const loadBefore = +loadavg()[0]!.toFixed(2);
const oneUserManyDevices = await scenario(asker, manyDevices);
const manyUsers = await scenario(asker, oneEach);
const loadAfter = +loadavg()[0]!.toFixed(2);
await server.stop();
removeDataDir(server.dataDir);

const report = { machine: machine(), loadAverage1m: { before: loadBefore, after: loadAfter }, oneTimeKeysPerDevice: keysPerDevice, iterations: ITERATIONS, oneUserManyDevices, manyUsers };
console.log(JSON.stringify(report, null, 2));
