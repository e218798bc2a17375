// Boots a real homeserver on a real loopback port with an in-memory SQLite
// database, and a small client for talking to it over HTTP.
import { DEFAULT_CONFIG, validateConfig, type Config } from "../../src/config";
import { startServer, type RunningServer } from "../../src/server";
import { createLogger } from "../../src/util/log";

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestServer extends RunningServer {
  /** Sends a request; `body` objects are JSON-encoded, strings sent as they are. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Registers (open registration, m.login.dummy) and returns the credentials. */
  register(username: string, password?: string): Promise<{ user_id: string; access_token: string; device_id: string }>;
}

export interface RequestOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export function testConfig(overrides: DeepPartial<Config> = {}): Config {
  const base: Config = {
    ...structuredClone(DEFAULT_CONFIG),
    ephemeral: true,
    listen: "127.0.0.1:0",
    registration: "open",
    log_level: "error",
  };
  base.rate_limits.enabled = false;
  // Real argon2id, at a cost that keeps the suites fast.
  base.password_hashing = { memory_kib: 1024, iterations: 1 };
  return validateConfig(merge(base, overrides) as Record<string, unknown>);
}

function merge(base: any, over: any): any {
  if (typeof over !== "object" || over === null || Array.isArray(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out && typeof out[k] === "object" && out[k] !== null ? merge(out[k], v) : v;
  return out;
}

export async function startTestServer(overrides: DeepPartial<Config> = {}): Promise<TestServer> {
  const config = testConfig(overrides);
  const running = await startServer(config, createLogger(config.log_level));
  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(running.baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {}
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    ...running,
    request,
    async register(username, password = "correct horse battery staple") {
      const response = await request("POST", "/_matrix/client/v3/register", {
        body: { username, password, auth: { type: "m.login.dummy" } },
      });
      if (response.status !== 200) throw new Error(`register ${username}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    },
  };
}
