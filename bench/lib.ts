// Shared pieces of the load generators: a server process on a loopback port with
// a file-backed data folder, a small Matrix client, and percentiles.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { KeepAliveConnection } from "./keep-alive";

export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

export interface ServerProcess {
  base: string;
  dataDir: string;
  proc: Bun.Subprocess<"ignore", "pipe", "inherit">;
  /** SIGTERM and wait. */
  stop(): Promise<number>;
  /** SIGKILL: no chance to flush anything. */
  kill9(): Promise<void>;
}

/** Starts `dist/homeserver` if built, else the sources through bun; on a file-backed data folder. */
export async function startServerProcess(options: { dataDir?: string; binary?: string; args?: string[] } = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "homeserver-bench-"));
  const port = freePort();
  const binary = options.binary ?? ((await Bun.file("dist/homeserver").exists()) ? "dist/homeserver" : "src");
  const command = binary === "src" ? ["bun", "run", "src/main.ts"] : [binary];
  const proc = Bun.spawn(
    [...command, "serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--registration", "open", "--rate-limits", "off", ...(options.args ?? [])],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = proc.stdout.getReader();
  let seen = "";
  while (!seen.includes("http://")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited before it was ready");
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    base: `http://127.0.0.1:${port}`,
    dataDir,
    proc,
    stop: async () => {
      proc.kill("SIGTERM");
      return proc.exited;
    },
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export class Client {
  /** Set by keepAlive(): requests go over this connection instead of fetch. */
  private connection: KeepAliveConnection | undefined;

  constructor(
    readonly base: string,
    public token = "",
  ) {}

  /** From now on, requests go over one keep-alive connection of the client's own (see keep-alive.ts). */
  async keepAlive(): Promise<this> {
    this.connection = await KeepAliveConnection.open(this.base);
    return this;
  }

  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  async call(method: string, path: string, body?: unknown): Promise<any> {
    if (this.connection) {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const response = await this.connection.request(method, `/_matrix/client/v3${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
      const json = JSON.parse(response.text);
      if (response.status < 200 || response.status > 299) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
      return json;
    }
    const response = await fetch(`${this.base}/_matrix/client/v3${path}`, {
      method,
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  static async register(base: string, username: string): Promise<Client & { userId: string }> {
    const client = new Client(base) as Client & { userId: string };
    const body = await client.call("POST", "/register", { username, password: "bench-password", auth: { type: "m.login.dummy" } });
    client.token = body.access_token;
    client.userId = body.user_id;
    return client;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export function machine() {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    bun: Bun.version,
    date: new Date().toISOString(),
  };
}

/**
 * Requests/s of a bare Bun.serve hello world in a child process, under the same
 * concurrency and with the same HTTP client (fetch, or keep-alive connections
 * of the load generator's own): the ceiling.
 */
export async function helloWorldCeiling(concurrency: number, total: number, client: "fetch" | "keep-alive" = "fetch"): Promise<number> {
  const port = freePort();
  const proc = Bun.spawn(["bun", "-e", `Bun.serve({hostname:"127.0.0.1",port:${port},fetch:()=>new Response('{"ok":true}',{headers:{"content-type":"application/json"}})});console.log("up")`], {
    stdout: "pipe",
  });
  await proc.stdout.getReader().read();
  const url = `http://127.0.0.1:${port}/`;
  const body = '{"msgtype":"m.text","body":"hello"}';
  const perWorker = Math.ceil(total / concurrency);
  const connections = client === "keep-alive" ? await Promise.all(Array.from({ length: concurrency }, () => KeepAliveConnection.open(url))) : [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; i < perWorker; i++) {
        if (client === "keep-alive") await connections[worker]!.request("PUT", "/", { "Content-Type": "application/json" }, body);
        else await (await fetch(url, { method: "PUT", body })).text();
      }
    }),
  );
  for (const connection of connections) connection.close();
  const seconds = (performance.now() - started) / 1000;
  proc.kill();
  await proc.exited;
  return (perWorker * concurrency) / seconds;
}

/**
 * fetch keeps at most 256 connections per host unless told otherwise; a load
 * generator whose clients each hold a long-poll open re-runs itself with a
 * higher limit. Call first; returns only in the re-run.
 */
export async function withManyConnections(scriptPath: string): Promise<void> {
  if (process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) return;
  const child = Bun.spawn(["bun", "run", scriptPath, ...Bun.argv.slice(2)], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" },
    stdout: "inherit",
    stderr: "inherit",
  });
  process.exit(await child.exited);
}

/** Registers without a password: no argon2id, so a thousand accounts take seconds. */
export async function quickUser(base: string, name: string): Promise<Client & { userId: string }> {
  const client = new Client(base) as Client & { userId: string };
  const body = await client.call("POST", "/register", { username: name, auth: { type: "m.login.dummy" } });
  client.token = body.access_token;
  client.userId = body.user_id;
  return client;
}

/** Runs `make(0..count-1)`, `size` at a time. */
export async function inBatches<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => make(start + k)))));
  }
  return out;
}

/** CPU time (user + system) the process has used, in ms; the load generator shares the cores, so wall time alone says little. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
}
