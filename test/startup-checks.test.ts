// What the server refuses at start-up, and the data folder's permissions.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount } from "../src/accounts/registration";
import { ConfigError } from "../src/config";
import { openHomeserver } from "../src/homeserver";
import { startTestServer, testConfig } from "./helpers/server";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "hs-start-")), "data");
  dirs.push(dir);
  return dir;
}

describe("start-up checks", () => {
  test("a data folder with users cannot be served under another server name", async () => {
    const dir = dataDir();
    const first = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir, server_name: "one.example" }));
    await createAccount(first, { localpart: "alice", password: "pw" });
    first.close();
    const error = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir, server_name: "two.example" })).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("server_name");
    const again = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir, server_name: "one.example" }));
    expect(again.store.users.count()).toBe(1);
    again.close();
  });

  test("a database from a newer server version is refused as a configuration error", async () => {
    const dir = dataDir();
    const hs = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir }));
    hs.store.sqlite.run("PRAGMA user_version = 999");
    hs.close();
    const error = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir })).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("data_dir");
  });

  test("the data folder is created readable by its owner only", async () => {
    const dir = dataDir();
    const hs = await openHomeserver(testConfig({ ephemeral: false, data_dir: dir }));
    hs.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe(".well-known behind a TLS proxy", () => {
  test("reports https when the trusted proxy says so, and ignores the header otherwise", async () => {
    const trusting = await startTestServer({ x_forwarded: true });
    const plain = await startTestServer();
    try {
      const headers = { "x-forwarded-proto": "https", host: "matrix.example.org" };
      const behind = await trusting.request("GET", "/.well-known/matrix/client", { headers });
      expect(behind.body["m.homeserver"].base_url).toBe("https://matrix.example.org");
      const direct = await plain.request("GET", "/.well-known/matrix/client", { headers });
      expect(direct.body["m.homeserver"].base_url).toBe("http://matrix.example.org");
    } finally {
      await trusting.stop();
      await plain.stop();
    }
  });
});
