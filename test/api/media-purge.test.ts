// `homeserver media purge` and the per-user quota.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { purgeMedia } from "../../src/media/purge";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: { user_id: string; access_token: string };

beforeAll(async () => {
  server = await startTestServer({ media: { user_quota_bytes: 1000 } });
  alice = await server.register("alice");
});
afterAll(() => server.stop());

async function upload(bytes: string | Uint8Array, token = alice.access_token) {
  const response = await fetch(`${server.baseUrl}/_matrix/media/v3/upload`, {
    method: "POST",
    body: bytes as never,
    headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
  });
  return { status: response.status, body: (await response.json()) as { content_uri: string; errcode?: string } };
}

const fileOf = (uri: string) => {
  const row = server.hs.store.media.get(uri.split("/").pop()!)!;
  return server.hs.media.files.path(row.sha256!);
};

describe("quota", () => {
  test("uploads past the user's quota are 403 M_FORBIDDEN", async () => {
    const bob = await server.register("bob");
    expect((await upload(new Uint8Array(600), bob.access_token)).status).toBe(200);
    const over = await upload(new Uint8Array(500), bob.access_token);
    expect(over.status).toBe(403);
    expect(over.body.errcode).toBe("M_FORBIDDEN");
    expect((await upload(new Uint8Array(400), bob.access_token)).status).toBe(200);
  });
});

describe("media purge", () => {
  test("removes old unreferenced media and keeps what events and avatars use", async () => {
    const inEvent = (await upload("in an event")).body.content_uri;
    const asAvatar = (await upload("an avatar")).body.content_uri;
    const unused = (await upload("nobody uses this")).body.content_uri;
    const room = await server.request("POST", "/_matrix/client/v3/createRoom", { token: alice.access_token, body: {} });
    const sent = await server.request("PUT", `/_matrix/client/v3/rooms/${room.body.room_id}/send/m.room.message/t1`, {
      token: alice.access_token,
      body: { msgtype: "m.file", body: "file", url: inEvent },
    });
    expect(sent.status).toBe(200);
    const avatar = await server.request("PUT", `/_matrix/client/v3/profile/${alice.user_id}/avatar_url`, { token: alice.access_token, body: { avatar_url: asAvatar } });
    expect(avatar.status).toBe(200);
    const unusedFile = fileOf(unused);

    const recent = await purgeMedia(server.hs, { olderThanDays: 1, includeReferenced: false, dryRun: false });
    expect(recent.mediaIds).toEqual([]);

    const dry = await purgeMedia(server.hs, { olderThanDays: 0, includeReferenced: false, dryRun: true }, Date.now() + 1000);
    expect(dry.mediaIds).toContain(unused.split("/").pop()!);
    expect(existsSync(unusedFile)).toBe(true);

    const report = await purgeMedia(server.hs, { olderThanDays: 0, includeReferenced: false, dryRun: false }, Date.now() + 1000);
    expect(report.mediaIds).toContain(unused.split("/").pop()!);
    expect(report.mediaIds).not.toContain(inEvent.split("/").pop()!);
    expect(report.mediaIds).not.toContain(asAvatar.split("/").pop()!);
    expect(existsSync(unusedFile)).toBe(false);
    const gone = await fetch(`${server.baseUrl}/_matrix/client/v1/media/download/${unused.slice(6)}`, { headers: { authorization: `Bearer ${alice.access_token}` } });
    expect(gone.status).toBe(404);
    const kept = await fetch(`${server.baseUrl}/_matrix/client/v1/media/download/${inEvent.slice(6)}`, { headers: { authorization: `Bearer ${alice.access_token}` } });
    expect(await kept.text()).toBe("in an event");
  });

  test("a file two media ids share stays until the last one goes", async () => {
    const first = (await upload("shared content")).body.content_uri;
    const second = (await upload("shared content")).body.content_uri;
    const file = fileOf(first);
    server.hs.store.transaction(() => server.hs.store.media.delete(first.split("/").pop()!));
    expect(server.hs.store.media.blobInUse(server.hs.store.media.get(second.split("/").pop()!)!.sha256!)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  test("expired /create URIs are removed", async () => {
    const created = await server.request("POST", "/_matrix/media/v1/create", { token: alice.access_token });
    const report = await purgeMedia(server.hs, { olderThanDays: 365, includeReferenced: false, dryRun: false }, created.body.unused_expires_at + 1);
    expect(report.expiredPending).toBe(1);
    expect(server.hs.store.media.get(created.body.content_uri.split("/").pop())).toBeUndefined();
  });
});

describe("the media purge command", () => {
  const dir = mkdtempSync(join(tmpdir(), "hs-media-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("runs against a data folder and reports", async () => {
    const main = resolve(import.meta.dir, "../../src/main.ts");
    const run = async (...args: string[]) => {
      const proc = Bun.spawn([process.execPath, "run", main, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOMESERVER_LOG_LEVEL: "error" } });
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      return { stdout, stderr, code };
    };
    const usage = await run("media", "purge", "--data-dir", dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--older-than-days");
    const result = await run("media", "purge", "--older-than-days", "30", "--dry-run", "--data-dir", dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("would remove 0 media (0 bytes), 0 expired pending uploads");
    expect(existsSync(join(dir, "media", "tmp"))).toBe(true);
  });
});
