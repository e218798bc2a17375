// Startup benchmark: how long the single binary takes from spawn to its first
// 200 on GET /_matrix/client/versions, and how much memory it holds then and
// after a batch of requests. Only loopback traffic; every run is bounded.
//
//   bun run bench/startup.ts                      # dist/homeserver, 10 runs, 200 requests
//   bun run bench/startup.ts --runs 20 --requests 500
//   bun run bench/startup.ts --binary dist/homeserver-linux-arm64 \
//       --wrapper "qemu-aarch64 -L /usr/aarch64-linux-gnu" --runs 3
//
// If the binary is missing it is built first (`bun run build native`).
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    binary: { type: "string", default: "dist/homeserver" },
    wrapper: { type: "string", default: "" },
    runs: { type: "string", default: "10" },
    requests: { type: "string", default: "200" },
    "timeout-ms": { type: "string", default: "60000" },
    json: { type: "boolean", default: false },
  },
});

const binary = values.binary!;
const wrapper = values.wrapper!.split(" ").filter(Boolean);
const runs = positiveInt(values.runs!, "--runs");
const requestCount = positiveInt(values.requests!, "--requests");
const timeoutMs = positiveInt(values["timeout-ms"]!, "--timeout-ms");

function positiveInt(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive whole number (got ${raw})`);
  return n;
}

if (!existsSync(binary)) {
  if (binary !== "dist/homeserver") throw new Error(`${binary} not found`);
  console.error("dist/homeserver not found: building it (bun run build native)");
  const build = Bun.spawnSync(["bun", "run", "build", "native"], { stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) throw new Error("build failed");
}

/** A loopback port nobody listens on right now. */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/** Resident memory of a process in KiB (VmRSS), or null once it has gone. */
function rssKiB(pid: number, field = "VmRSS"): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

async function statusOf(url: string, init?: RequestInit): Promise<number> {
  try {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0; // not listening yet
  }
}

interface RunResult {
  startupMs: number;
  rssAfterStartKiB: number;
  rssAfterRequestsKiB: number;
  peakRssKiB: number;
  requestsMs: number;
  exitCode: number;
}

async function runOnce(index: number): Promise<RunResult> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = Bun.spawn([...wrapper, binary, "serve", "--ephemeral", "--listen", `127.0.0.1:${port}`, "--rate-limits", "off"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    // Spawn to first 200, polling every 2 ms.
    let startupMs = -1;
    while (performance.now() - started < timeoutMs) {
      if ((await statusOf(`${base}/_matrix/client/versions`)) === 200) {
        startupMs = performance.now() - started;
        break;
      }
      if (child.exitCode !== null) break;
      await Bun.sleep(2);
    }
    if (startupMs < 0) {
      const stderr = await new Response(child.stderr).text().catch(() => "");
      throw new Error(`run ${index}: no 200 from /versions within ${timeoutMs} ms (exit ${child.exitCode})\n${stderr}`);
    }
    const rssAfterStartKiB = rssKiB(child.pid) ?? 0;

    // A batch of requests a client makes early on: one registration (argon2id
    // hash with the default cost), then /versions, whoami and capabilities.
    const requestsStarted = performance.now();
    const register = await fetch(`${base}/_matrix/client/v3/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: `bench${index}`, password: "bench password", auth: { type: "m.login.dummy" } }),
    });
    const { access_token: token } = (await register.json()) as { access_token?: string };
    if (register.status !== 200 || !token) throw new Error(`run ${index}: register answered ${register.status}`);
    const paths = ["/_matrix/client/versions", "/_matrix/client/v3/account/whoami", "/_matrix/client/v3/capabilities"];
    for (let i = 1; i < requestCount; i++) {
      const path = paths[i % paths.length]!;
      const status = await statusOf(base + path, { headers: { authorization: `Bearer ${token}` } });
      if (status !== 200) throw new Error(`run ${index}: ${path} answered ${status}`);
    }
    const requestsMs = performance.now() - requestsStarted;
    const rssAfterRequestsKiB = rssKiB(child.pid) ?? 0;
    const peakRssKiB = rssKiB(child.pid, "VmHWM") ?? 0;

    child.kill("SIGTERM");
    let timer: Timer | undefined;
    const exitCode = await Promise.race([
      child.exited,
      new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (exitCode === -1) throw new Error(`run ${index}: did not stop within ${timeoutMs} ms of SIGTERM`);
    return { startupMs, rssAfterStartKiB, rssAfterRequestsKiB, peakRssKiB, requestsMs, exitCode };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summary(xs: number[]) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

const loadBefore = loadavg()[0]!;
const results: RunResult[] = [];
for (let i = 0; i < runs; i++) {
  const result = await runOnce(i);
  results.push(result);
  if (!values.json) {
    console.error(
      `run ${i + 1}/${runs}: ${result.startupMs.toFixed(1)} ms to first 200, RSS ${(result.rssAfterStartKiB / 1024).toFixed(1)} MiB, ` +
        `${(result.rssAfterRequestsKiB / 1024).toFixed(1)} MiB after ${requestCount} requests, exit ${result.exitCode}`,
    );
  }
}

const mib = (kib: number) => kib / 1024;
const report = {
  binary,
  wrapper: wrapper.join(" ") || null,
  binaryMiB: statSync(binary).size / 1024 / 1024,
  runs,
  requests: requestCount,
  machine: {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: totalmem() / 1024 ** 3,
    bun: Bun.version,
    /** 1-minute load average before and after the runs: other work on the machine skews the figures. */
    loadAverage: [loadBefore, loadavg()[0]!],
  },
  date: new Date().toISOString(),
  startupMs: summary(results.map((r) => r.startupMs)),
  rssAfterStartMiB: summary(results.map((r) => mib(r.rssAfterStartKiB))),
  rssAfterRequestsMiB: summary(results.map((r) => mib(r.rssAfterRequestsKiB))),
  peakRssMiB: summary(results.map((r) => mib(r.peakRssKiB))),
  requestsMs: summary(results.map((r) => r.requestsMs)),
  allExitedZero: results.every((r) => r.exitCode === 0),
};

if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const row = (label: string, s: { median: number; min: number; max: number }, unit: string, digits = 1) =>
    `${label.padEnd(34)} ${s.median.toFixed(digits).padStart(8)} ${s.min.toFixed(digits).padStart(8)} ${s.max.toFixed(digits).padStart(8)}  ${unit}`;
  console.log(`${binary}${report.wrapper ? ` under ${report.wrapper}` : ""} (${report.binaryMiB.toFixed(1)} MiB), ${runs} runs`);
  console.log(`machine: ${report.machine.nproc} x ${report.machine.cpu}, ${report.machine.memoryGiB.toFixed(1)} GiB RAM; bun ${report.machine.bun}; load ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(" -> ")}; ${report.date}`);
  console.log(`${"".padEnd(34)} ${"median".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`);
  console.log(row("spawn to first 200 on /versions", report.startupMs, "ms"));
  console.log(row("RSS after start", report.rssAfterStartMiB, "MiB"));
  console.log(row(`RSS after ${requestCount} requests`, report.rssAfterRequestsMiB, "MiB"));
  console.log(row("peak RSS (VmHWM)", report.peakRssMiB, "MiB"));
  console.log(row(`time for the ${requestCount} requests`, report.requestsMs, "ms"));
  console.log(`all runs exited 0 after SIGTERM: ${report.allExitedZero ? "yes" : "no"}`);
}
if (!report.allExitedZero) process.exitCode = 1;
