// The command line, run as a real process: serve, register-user,
// registration-token, generate-config, version; configuration precedence and errors.
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { DEFAULT_CONFIG } from "../src/config";

const MAIN = resolve(import.meta.dir, "../src/main.ts");
const ROOT = resolve(import.meta.dir, "..");
const TIMEOUT_MS = 15_000;
// Each test starts one or more real processes; leave room on slow machines (a Raspberry Pi).
setDefaultTimeout(60_000);

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hs-cli-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The environment of this process without any HOMESERVER_* setting, plus `extra`. */
function envWith(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("HOMESERVER_") && value !== undefined) env[name] = value;
  return { ...env, ...extra };
}

interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Runs a command that finishes by itself. */
async function run(args: string[], options: RunOptions = {}) {
  const proc = Bun.spawn([process.execPath, "run", MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: envWith(options.env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Collects a stream's text as it arrives, so tests can wait for a line. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  let wake: (() => void) | undefined;
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      wake?.();
    }
    wake?.();
  })();
  return {
    get text() {
      return text;
    },
    done,
    async waitFor(pattern: RegExp, timeoutMs = TIMEOUT_MS): Promise<RegExpMatchArray> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got:\n${text}`);
        await Promise.race([new Promise<void>((r) => (wake = r)), Bun.sleep(50)]);
      }
    },
  };
}

const running = new Set<ReturnType<typeof Bun.spawn>>();
afterEach(async () => {
  // Only the processes this file started, by their handle (their PID).
  for (const proc of running) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
  running.clear();
});

/** Starts `serve` and waits for the line with the base URL. */
async function serve(args: string[], options: RunOptions = {}) {
  const proc = Bun.spawn([process.execPath, "run", MAIN, "serve", ...args], {
    cwd: options.cwd ?? ROOT,
    env: envWith(options.env),
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  const stdout = collect(proc.stdout);
  const stderr = collect(proc.stderr);
  let baseUrl: string;
  try {
    baseUrl = (await Promise.race([
      stdout.waitFor(/http:\/\/[^\s)]+/),
      proc.exited.then((code) => {
        throw new Error(`serve exited with ${code} before listening:\n${stderr.text}`);
      }),
    ]))[0];
  } catch (error) {
    throw new Error(`${(error as Error).message}\nstderr:\n${stderr.text}`);
  }
  const request = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  /** SIGTERM, then the exit code. */
  const stop = async () => {
    proc.kill("SIGTERM");
    const code = await proc.exited;
    running.delete(proc);
    await Promise.all([stdout.done, stderr.done]);
    return code;
  };
  return { proc, baseUrl, stdout, stderr, request, stop };
}

type Served = Awaited<ReturnType<typeof serve>>;

function login(server: Served, user: string, password: string) {
  return server.request("POST", "/_matrix/client/v3/login", {
    type: "m.login.password",
    identifier: { type: "m.id.user", user },
    password,
  });
}

function registerOpen(server: Served, username: string) {
  return server.request("POST", "/_matrix/client/v3/register", {
    username,
    password: "pw",
    auth: { type: "m.login.dummy" },
  });
}

async function registerWithToken(server: Served, username: string, token: string) {
  const start = await server.request("POST", "/_matrix/client/v3/register", { username, password: "pw" });
  if (start.status !== 401) return start;
  return server.request("POST", "/_matrix/client/v3/register", {
    username,
    password: "pw",
    auth: { type: "m.login.registration_token", token, session: start.body.session },
  });
}

describe("version, help, generate-config", () => {
  test("version prints the package version", async () => {
    const result = await run(["version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  test("an unknown command exits 2 with the usage", async () => {
    const result = await run(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command: frobnicate");
    expect(result.stderr).toContain("Usage:");
  });

  test("generate-config prints every top-level key, as YAML of the defaults", async () => {
    const result = await run(["generate-config"]);
    expect(result.code).toBe(0);
    for (const key of Object.keys(DEFAULT_CONFIG)) expect(result.stdout).toMatch(new RegExp(`^${key}:`, "m"));
    expect(Bun.YAML.parse(result.stdout)).toEqual(DEFAULT_CONFIG as never);
  });
});

describe("serve", () => {
  test("prints one line with the real base URL, answers on it, and exits 0 on SIGTERM", async () => {
    const server = await serve(["--ephemeral", "--listen", "127.0.0.1:0"]);
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.baseUrl).not.toEndWith(":0");
    const versions = await server.request("GET", "/_matrix/client/versions");
    expect(versions.status).toBe(200);
    expect(versions.body.versions).toContain("v1.11");
    expect(await server.stop()).toBe(0);
    const lines = server.stdout.text.split("\n").filter((line) => line.trim() !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(server.baseUrl);
    expect(server.stderr.text).toContain("SIGTERM");
  });

  test("--ephemeral writes nothing into the working directory, and registration is open", async () => {
    const cwd = tempDir();
    const server = await serve(["--ephemeral", "--listen", "127.0.0.1:0"], { cwd });
    const registered = await registerOpen(server, "ephemeral-user");
    expect(registered.status).toBe(200);
    expect(registered.body.user_id).toBe("@ephemeral-user:localhost");
    expect(await server.stop()).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("a user made by register-user --admin logs in over HTTP and is an admin", async () => {
    const dataDir = tempDir();
    const made = await run(["register-user", "--data-dir", dataDir, "--username", "Alice", "--password", "s3cret!", "--admin"]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("@alice:localhost");
    expect(made.stdout).toContain("admin");

    const again = await run(["register-user", "--data-dir", dataDir, "--username", "alice", "--password", "other"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("M_USER_IN_USE");

    const server = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    const wrong = await login(server, "alice", "other");
    expect(wrong.status).toBe(403);
    const ok = await login(server, "alice", "s3cret!");
    expect(ok.status).toBe(200);
    expect(ok.body.user_id).toBe("@alice:localhost");
    const me = await server.request("GET", "/_synapse/admin/v2/users/@alice:localhost", undefined, ok.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body.admin).toBe(true);
    // A user already exists, so no first-start token is offered.
    expect(server.stderr.text).not.toContain("one-time registration token");
    expect(await server.stop()).toBe(0);
  });

  test("register-user without --admin makes an ordinary user; without a password it is a usage error", async () => {
    const dataDir = tempDir();
    const made = await run(["register-user", "--data-dir", dataDir, "--username", "bob", "--password", "pw"]);
    expect(made.code).toBe(0);
    expect(made.stdout).not.toContain("admin");
    const usage = await run(["register-user", "--data-dir", dataDir, "--username", "carol"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--password");

    const server = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    const ok = await login(server, "bob", "pw");
    expect(ok.status).toBe(200);
    const admin = await server.request("GET", "/_synapse/admin/v2/users", undefined, ok.body.access_token);
    expect(admin.status).toBe(403);
    expect((await login(server, "carol", "pw")).status).toBe(403);
    await server.stop();
  });

  test("the data survives a restart", async () => {
    const dataDir = tempDir();
    const first = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0", "--registration", "open"]);
    const registered = await registerOpen(first, "persistent");
    expect(registered.status).toBe(200);
    expect(await first.stop()).toBe(0);
    expect(readdirSync(dataDir)).toContain("homeserver.db");
    expect(readdirSync(dataDir)).toContain("signing.key");

    const second = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    expect((await login(second, "persistent", "pw")).status).toBe(200);
    const me = await second.request("GET", "/_matrix/client/v3/account/whoami", undefined, registered.body.access_token);
    expect(me.status).toBe(200);
    await second.stop();
  });
});

describe("invalid configuration exits 2 and names the key", () => {
  test("a --listen that is not HOST:PORT", async () => {
    const result = await run(["serve", "--ephemeral", "--listen", "nonsense"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("listen");
    expect(result.stdout).not.toContain("http://");
  });

  test("a --listen port above 65535", async () => {
    const result = await run(["serve", "--ephemeral", "--listen", "127.0.0.1:99999"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("listen");
    expect(result.stdout).not.toContain("http://");
  });

  test("an unknown key in a YAML config file", async () => {
    const dir = tempDir();
    const path = join(dir, "config.yaml");
    writeFileSync(path, "server_name: example.org\nregistraton: open\n");
    const result = await run(["serve", "--ephemeral", "--config", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("registraton");
    expect(result.stderr).toContain("unknown");
  });

  test("an unknown nested key in a YAML config file", async () => {
    const dir = tempDir();
    const path = join(dir, "config.yaml");
    writeFileSync(path, "rate_limits:\n  login:\n    brust: 3\n");
    const result = await run(["serve", "--ephemeral", "--config", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("rate_limits.login.brust");
  });

  test("a bad HOMESERVER_REGISTRATION", async () => {
    const result = await run(["serve", "--ephemeral"], { env: { HOMESERVER_REGISTRATION: "sometimes" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("registration");
    expect(result.stderr).toContain("sometimes");
  });

  test("a missing config file", async () => {
    const result = await run(["serve", "--ephemeral", "--config", join(tempDir(), "nope.yaml")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("nope.yaml");
  });

  test("--ephemeral with --data-dir, and a bad --rate-limits", async () => {
    const both = await run(["serve", "--ephemeral", "--data-dir", tempDir()]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--ephemeral");
    const limits = await run(["serve", "--ephemeral", "--rate-limits", "maybe"]);
    expect(limits.code).toBe(2);
    expect(limits.stderr).toContain("rate_limits");
  });

  test("an unknown flag", async () => {
    const result = await run(["serve", "--ephemeral", "--colour"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--colour");
  });
});

describe("configuration precedence: defaults < file < environment < flags", () => {
  test("each layer overrides the one below, key by key", async () => {
    const dir = tempDir();
    const path = join(dir, "homeserver.yaml");
    writeFileSync(
      path,
      [
        "server_name: file.test",
        "public_baseurl: https://file.test",
        "serve_server_wellknown: file.test:443",
        "registration: closed",
        "ephemeral: true",
      ].join("\n"),
    );
    const server = await serve(["--config", path, "--server-name", "flag.test", "--listen", "127.0.0.1:0"], {
      env: { HOMESERVER_SERVER_NAME: "env.test", HOMESERVER_PUBLIC_BASEURL: "https://env.test", HOMESERVER_REGISTRATION: "open" },
    });
    // File only: the server well-known.
    const server_wk = await server.request("GET", "/.well-known/matrix/server");
    expect(server_wk.body).toEqual({ "m.server": "file.test:443" });
    // File and environment: the environment wins.
    const client_wk = await server.request("GET", "/.well-known/matrix/client");
    expect(client_wk.body).toEqual({ "m.homeserver": { base_url: "https://env.test" } });
    const registered = await registerOpen(server, "layered");
    expect(registered.status).toBe(200);
    // File, environment and flag: the flag wins.
    expect(registered.body.user_id).toBe("@layered:flag.test");
    expect(server.stdout.text).toContain("flag.test");
    await server.stop();
  });

  test("without a file setting, the default holds; the environment alone also works", async () => {
    const server = await serve(["--ephemeral", "--listen", "127.0.0.1:0"], { env: { HOMESERVER_SERVER_NAME: "env-only.test" } });
    expect((await server.request("GET", "/.well-known/matrix/server")).status).toBe(404);
    const client_wk = await server.request("GET", "/.well-known/matrix/client");
    // No public_baseurl by default: the address the request came in on.
    expect(client_wk.body["m.homeserver"].base_url).toBe(server.baseUrl);
    expect((await registerOpen(server, "envuser")).body.user_id).toBe("@envuser:env-only.test");
    await server.stop();
  });

  test("a TOML config file works", async () => {
    const dir = tempDir();
    const path = join(dir, "homeserver.toml");
    writeFileSync(
      path,
      ['server_name = "toml.test"', "ephemeral = true", 'registration = "open"', 'public_baseurl = "https://toml.test"', "", "[rate_limits]", "enabled = false"].join(
        "\n",
      ),
    );
    const server = await serve(["--config", path, "--listen", "127.0.0.1:0"]);
    expect((await server.request("GET", "/.well-known/matrix/client")).body).toEqual({ "m.homeserver": { base_url: "https://toml.test" } });
    expect((await registerOpen(server, "tomluser")).body.user_id).toBe("@tomluser:toml.test");
    await server.stop();
  });
});

describe("registration bootstrap and tokens", () => {
  test("a first start with closed registration prints a one-time token that registers an admin", async () => {
    const dataDir = tempDir();
    const server = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    const token = (await server.stderr.waitFor(/one-time registration token: (\S+)/))[1]!;

    // Without the token, registration is refused; the token stage is what is asked for.
    const open = await registerOpen(server, "intruder");
    expect(open.status).toBeGreaterThanOrEqual(400);
    expect(open.status).toBeLessThan(500);
    const challenge = await server.request("POST", "/_matrix/client/v3/register", { username: "intruder", password: "pw" });
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ["m.login.registration_token"] }]);

    const first = await registerWithToken(server, "founder", token);
    expect(first.status).toBe(200);
    expect(first.body.user_id).toBe("@founder:localhost");
    const me = await server.request("GET", "/_synapse/admin/v2/users/@founder:localhost", undefined, first.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body.admin).toBe(true);

    // One use only, and registration is closed from now on.
    const second = await registerWithToken(server, "latecomer", token);
    expect(second.status).toBe(403);
    expect(second.body.errcode).toBe("M_FORBIDDEN");
    expect(await server.stop()).toBe(0);

    // A restart with an account present prints no token.
    const again = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    await again.stop();
    expect(again.stderr.text).not.toContain("one-time registration token");
  });

  test("an unused first-start token is printed again on the next start", async () => {
    const dataDir = tempDir();
    const first = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    const token = (await first.stderr.waitFor(/one-time registration token: (\S+)/))[1];
    await first.stop();
    const second = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0"]);
    expect((await second.stderr.waitFor(/one-time registration token: (\S+)/))[1]).toBe(token);
    await second.stop();
  });

  test("open or token registration prints no first-start token", async () => {
    const server = await serve(["--ephemeral", "--listen", "127.0.0.1:0"]);
    await server.stop();
    expect(server.stderr.text).not.toContain("one-time registration token");
  });

  test("registration-token create --uses 1 prints a token that registers exactly one account", async () => {
    const dataDir = tempDir();
    const created = await run(["registration-token", "create", "--data-dir", dataDir, "--uses", "1"]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9._~-]{8,64}$/);

    const listed = await run(["registration-token", "list", "--data-dir", dataDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(token);
    expect(listed.stdout).toContain("uses 0/1");

    const server = await serve(["--data-dir", dataDir, "--listen", "127.0.0.1:0", "--registration", "token"]);
    const wrong = await registerWithToken(server, "guesser", "not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.body.errcode).toBe("M_FORBIDDEN");
    const ok = await registerWithToken(server, "invited", token);
    expect(ok.status).toBe(200);
    expect(ok.body.user_id).toBe("@invited:localhost");
    // Not an admin: only the first-start token grants that.
    const admin = await server.request("GET", "/_synapse/admin/v2/users", undefined, ok.body.access_token);
    expect(admin.status).toBe(403);
    const used = await registerWithToken(server, "second", token);
    expect(used.status).toBe(401);
    expect(used.body.errcode).toBe("M_FORBIDDEN");
    await server.stop();

    const after = await run(["registration-token", "list", "--data-dir", dataDir]);
    expect(after.stdout).toContain("uses 1/1");
  });

  test("registration-token create rejects a bad --uses and needs a data folder", async () => {
    const bad = await run(["registration-token", "create", "--data-dir", tempDir(), "--uses", "-3"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--uses");
    const ephemeral = await run(["registration-token", "create"], { env: { HOMESERVER_EPHEMERAL: "true" } });
    expect(ephemeral.code).toBe(2);
    expect(ephemeral.stderr).toContain("ephemeral");
  });
});
