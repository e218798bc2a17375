// Shared pieces of the end-to-end encryption tests: a homeserver in its own
// process (as users run it, on a temporary data folder), and matrix-js-sdk
// clients with the Rust crypto stack talking to it over loopback HTTP.
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type AuthDict, createClient, type MatrixClient, type MatrixError, type MatrixEvent } from "matrix-js-sdk";
import type { CryptoCallbacks } from "matrix-js-sdk/lib/crypto-api";
import { type Logger, logger as sdkGlobalLogger } from "matrix-js-sdk/lib/logger";

export const PASSWORD = "correct horse battery staple";
const SERVER_START_TIMEOUT_MS = 20_000;

export interface E2eServer {
  baseUrl: string;
  /** The running server process's id. */
  readonly pid: number;
  /** What the server wrote on stderr so far (its log), for failure messages. */
  readonly log: string;
  /** Stops the server (SIGTERM) and starts it again on the same port and data folder. */
  restart(): Promise<void>;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

type ServerChild = Subprocess<"ignore", "pipe", "pipe">;

/**
 * Runs `src/main.ts serve` in a child process on a free loopback port with a
 * temporary data folder. A child process rather than the in-process test server:
 * the crypto library does long synchronous work on the event loop, and the
 * server must not share it (nor its module state) with the clients.
 */
/**
 * One server process for a test file: started before its tests; after them,
 * every client the file put in `clients` stops, then the server.
 */
export function e2eSuite(): { readonly server: E2eServer; readonly clients: CryptoClient[] } {
  let server: E2eServer | undefined;
  const clients: CryptoClient[] = [];
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    for (const client of clients) client.stop();
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error("the suite's server is not started yet");
      return server;
    },
    clients,
  };
}

export async function startServerProcess(): Promise<E2eServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "homeserver-e2e-"));
  let log = "";
  let child: ServerChild | undefined;
  // If the test process ends without afterAll (an uncaught error, a signal
  // Bun handles), the server must not outlive it.
  const killOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const launch = async (listen: string): Promise<string> => {
    child = spawnServer(dataDir, listen);
    const decoder = new TextDecoder();
    const stderr = child.stderr;
    void (async () => {
      for await (const chunk of stderr) log += decoder.decode(chunk);
    })();
    return readListeningUrl(child);
  };
  const terminate = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      child.kill("SIGKILL");
      await child.exited;
    }
  };

  const server: E2eServer = {
    baseUrl: "",
    get pid() {
      return child?.pid ?? 0;
    },
    get log() {
      return log;
    },
    async restart() {
      await terminate();
      // The clients keep their base URL, so the new process takes the same port;
      // should the port not be free again at once, the new process exits and is retried.
      let url = "";
      for (let attempt = 1; !url; attempt++) {
        try {
          url = await launch(new URL(server.baseUrl).host);
        } catch (error) {
          await terminate();
          if (attempt >= 5) throw new Error(`${(error as Error).message}\nserver stderr:\n${log}`);
          await Bun.sleep(500);
        }
      }
      if (url !== server.baseUrl) throw new Error(`the restarted server listens on ${url}, not ${server.baseUrl}`);
    },
    async stop() {
      process.off("exit", killOnExit);
      await terminate();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    server.baseUrl = await launch("127.0.0.1:0");
    return server;
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\nserver stderr:\n${log}`);
  }
}

function spawnServer(dataDir: string, listen: string): ServerChild {
  const root = join(import.meta.dir, "..", "..");
  return Bun.spawn(
    [process.execPath, "run", "src/main.ts", "serve", "--listen", listen, "--data-dir", dataDir, "--registration", "open", "--rate-limits", "off"],
    {
      cwd: root,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: {
        // The test decides the configuration: HOMESERVER_* variables of the
        // surrounding shell (a data folder, --ephemeral) would clash with it.
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("HOMESERVER_"))),
        // The default argon2id cost makes every login take a noticeable time on a shared machine.
        HOMESERVER_PASSWORD_HASHING__MEMORY_KIB: "1024",
        HOMESERVER_PASSWORD_HASHING__ITERATIONS: "1",
        HOMESERVER_LOG_LEVEL: "warn",
      },
    },
  );
}

/** Reads stdout up to the "listening on" line, then keeps draining it so that the pipe never fills. */
async function readListeningUrl(child: ServerChild): Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  let found: string | undefined;
  try {
    while (!found && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
      if (chunk === undefined) break;
      if (chunk.done) throw new Error(`the server exited before listening (status ${await child.exited})`);
      out += decoder.decode(chunk.value);
      found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    }
  } catch (error) {
    reader.releaseLock();
    throw error;
  }
  if (!found) {
    reader.releaseLock();
    throw new Error(`the server did not print its URL within ${SERVER_START_TIMEOUT_MS} ms; stdout: ${out}`);
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return found;
}

/** A request the SDK made that the server refused, kept for the failure message. */
export interface FailedRequest {
  method: string;
  path: string;
  status: number;
  body: string;
}

/**
 * Holds a client's /sync requests while paused, so that a test can keep a device
 * "offline" (messages for it wait on the server) while its crypto state stays in
 * memory, which stopping the client would throw away.
 */
export class SyncGate {
  private held: (() => void)[] = [];
  private paused = false;
  /** /sync requests answered so far. */
  completed = 0;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const release of this.held.splice(0)) release();
  }

  async pass(): Promise<void> {
    if (this.paused) await new Promise<void>((resolve) => this.held.push(resolve));
  }
}

/** Everything the SDK sends goes through this: it stays on loopback, and refusals are recorded. */
function loopbackFetch(baseUrl: string, failures: FailedRequest[], gate: SyncGate): typeof fetch {
  const origin = new URL(baseUrl).origin;
  const wrapped = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.origin !== origin) throw new Error(`refusing a request outside the test server: ${url.origin}`);
    const method = init?.method ?? "GET";
    const isSync = url.pathname.endsWith("/sync");
    if (isSync) await gate.pass();
    const response = await fetch(input, init);
    if (isSync && response.ok) gate.completed++;
    if (!response.ok) {
      const body = await response.clone().text();
      failures.push({ method, path: url.pathname, status: response.status, body: body.slice(0, 300) });
    }
    return response;
  };
  return wrapped as typeof fetch;
}

/** A logger that drops everything: the SDK and the crypto library are chatty at info level. */
const quietLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild: () => quietLogger,
};

/** E2E_DEBUG=1 shows the SDK's warnings and errors, to investigate a failure. */
const debugLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn: (...args: unknown[]) => console.warn("[sdk warn]", ...args),
  error: (...args: unknown[]) => console.error("[sdk error]", ...args),
  getChild: () => debugLogger,
};
const sdkLogger = process.env.E2E_DEBUG ? debugLogger : quietLogger;

// Parts of the SDK (rooms, the scheduler, MatrixRTC) log through its global
// loglevel logger rather than the client's. Its child loggers copy its method
// factory when they are made, so a no-op factory silences those created later too.
if (!process.env.E2E_DEBUG) {
  const global = sdkGlobalLogger as unknown as { methodFactory: unknown; rebuild(): void };
  global.methodFactory = () => () => {};
  global.rebuild();
}

export interface Account {
  userId: string;
  deviceId: string;
  accessToken: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: await response.json() };
}

/** Registers through the open registration (m.login.dummy). */
export async function register(server: E2eServer, username: string): Promise<Account> {
  const response = await postJson(`${server.baseUrl}/_matrix/client/v3/register`, {
    username,
    password: PASSWORD,
    initial_device_display_name: `${username}'s first device`,
    auth: { type: "m.login.dummy" },
  });
  if (response.status !== 200) throw new Error(`register ${username}: ${response.status} ${JSON.stringify(response.body)}`);
  return { userId: response.body.user_id, deviceId: response.body.device_id, accessToken: response.body.access_token };
}

/** A password login, which creates a new device. */
export async function login(server: E2eServer, username: string, deviceName: string): Promise<Account> {
  const response = await postJson(`${server.baseUrl}/_matrix/client/v3/login`, {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: username },
    password: PASSWORD,
    initial_device_display_name: deviceName,
  });
  if (response.status !== 200) throw new Error(`login ${username}: ${response.status} ${JSON.stringify(response.body)}`);
  return { userId: response.body.user_id, deviceId: response.body.device_id, accessToken: response.body.access_token };
}

export interface CryptoClient {
  client: MatrixClient;
  account: Account;
  failures: FailedRequest[];
  syncGate: SyncGate;
  stop(): void;
}

/** A matrix-js-sdk client with Rust crypto (in-memory store), syncing. */
export async function startCryptoClient(server: E2eServer, account: Account, cryptoCallbacks?: CryptoCallbacks): Promise<CryptoClient> {
  return startSdkClient(server, account, { crypto: true, cryptoCallbacks });
}

export interface SdkClientOptions {
  /** Rust crypto with an in-memory store; without it the client only reads unencrypted rooms. */
  crypto: boolean;
  cryptoCallbacks?: CryptoCallbacks;
  /** Threads as Element shows them: thread replies leave the main timeline for their Thread. */
  threadSupport?: boolean;
}

/** A matrix-js-sdk client, syncing, with or without crypto. */
export async function startSdkClient(server: E2eServer, account: Account, options: SdkClientOptions): Promise<CryptoClient> {
  const { cryptoCallbacks } = options;
  const failures: FailedRequest[] = [];
  const syncGate = new SyncGate();
  const client = createClient({
    baseUrl: server.baseUrl,
    userId: account.userId,
    deviceId: account.deviceId,
    accessToken: account.accessToken,
    fetchFn: loopbackFetch(server.baseUrl, failures, syncGate),
    logger: sdkLogger,
    cryptoCallbacks,
  });
  // No IndexedDB outside a browser: the crypto store lives in memory.
  if (options.crypto) await client.initRustCrypto({ useIndexedDB: false });
  // Lazy-loaded members, as Element runs it: the crypto stack then fetches the
  // member list (/rooms/{id}/members?at=...) before it shares a room key.
  await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true, threadSupport: options.threadSupport ?? false });
  await waitFor(`${account.userId}'s first sync`, () => client.isInitialSyncComplete(), 20_000);
  return {
    client,
    account,
    failures,
    syncGate,
    stop() {
      client.stopClient();
      syncGate.resume();
    },
  };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, condition: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The event with this id in the room's live timeline, once it is there. */
export function findEvent(client: MatrixClient, roomId: string, eventId: string): MatrixEvent | undefined {
  return client.getRoom(roomId)?.findEventById(eventId);
}

/**
 * Waits until the event is in the client's timeline and decrypted, and returns
 * its cleartext body. A decryption failure (as opposed to "not yet") fails at
 * the deadline with the failure's reason.
 */
export async function decryptedBody(client: MatrixClient, roomId: string, eventId: string, timeoutMs = 15_000): Promise<string> {
  let last = "the event never arrived";
  try {
    return await waitFor(
      `event ${eventId} to be decrypted by ${client.getUserId()}/${client.getDeviceId()}`,
      () => {
        const event = findEvent(client, roomId, eventId);
        if (!event) return undefined;
        if (event.isBeingDecrypted()) return undefined;
        if (event.isDecryptionFailure()) {
          last = `decryption failure: ${event.decryptionFailureReason} (${event.getContent().body})`;
          return undefined;
        }
        if (!event.isEncrypted()) {
          last = `the event is not encrypted (type ${event.getType()})`;
          return undefined;
        }
        const body = event.getContent().body;
        return typeof body === "string" ? body : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${last}`);
  }
}

/** A readable list of the requests the server refused, for failure messages. */
export function describeFailures(...clients: CryptoClient[]): string {
  return clients
    .flatMap((c) => c.failures.map((f) => `${c.account.userId}/${c.account.deviceId}: ${f.method} ${f.path} -> ${f.status} ${f.body}`))
    .join("\n");
}

/**
 * User-interactive auth with the account password: tries without auth (the
 * server may not ask for it) and answers a 401 that lists flows with
 * m.login.password in the session the server started.
 */
export async function withPasswordAuth<T>(user: string, makeRequest: (auth: AuthDict | null) => Promise<T>): Promise<T> {
  try {
    return await makeRequest(null);
  } catch (error) {
    const { httpStatus, data } = error as MatrixError;
    if (httpStatus !== 401 || !Array.isArray(data?.flows)) throw error;
    return await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user }, password: PASSWORD, session: data.session });
  }
}
