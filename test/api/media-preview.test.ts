// GET /_matrix/client/v1/media/preview_url against a local web server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isBlockedAddress } from "../../src/media/address-filter";
import { openGraphOf } from "../../src/media/open-graph";
import { pngImage } from "../helpers/images";
import { makePrivateCa } from "../helpers/private-ca";
import { startTestServer, type TestServer } from "../helpers/server";

const image = pngImage(60, 40);
const origin = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/page")
      return new Response(
        `<html><head><title>Fallback title</title>
         <meta property="og:title" content="Tom &amp; Jerry &#x2764;">
         <meta content='A "quoted" description' property='og:description'>
         <meta property="og:image" content="/image.png"></head><body>hi</body></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      );
    if (path === "/plain") return new Response("<html><head><title> Just   a title </title><meta name=description content=plain></head></html>", { headers: { "content-type": "text/html" } });
    if (path === "/image.png") return new Response(image, { headers: { "content-type": "image/png" } });
    if (path === "/redirect") return Response.redirect("/page", 302);
    if (path === "/loop") return Response.redirect("/loop", 302);
    if (path === "/big") return new Response("x".repeat(300_000), { headers: { "content-type": "text/html" } });
    if (path === "/slow") {
      await Bun.sleep(2000);
      return new Response("late", { headers: { "content-type": "text/html" } });
    }
    return new Response("missing", { status: 404 });
  },
});
const base = `http://127.0.0.1:${origin.port}`;

let open: TestServer;
let guarded: TestServer;
let disabled: TestServer;
let tokens: Map<TestServer, string>;

beforeAll(async () => {
  open = await startTestServer({ media: { url_preview: { enabled: true, allow_private_addresses: true, max_bytes: 100_000, timeout_ms: 500 } } });
  guarded = await startTestServer({ media: { url_preview: { enabled: true } } });
  disabled = await startTestServer();
  tokens = new Map();
  for (const server of [open, guarded, disabled]) tokens.set(server, (await server.register("alice")).access_token);
});
afterAll(async () => {
  await Promise.all([open.stop(), guarded.stop(), disabled.stop()]);
  origin.stop(true);
});

const preview = (server: TestServer, url: string) =>
  server.request("GET", `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`, { token: tokens.get(server) });

describe("preview_url", () => {
  test("off by default: 403 M_FORBIDDEN", async () => {
    const response = await preview(disabled, `${base}/page`);
    expect(response.status).toBe(403);
    expect(response.body.errcode).toBe("M_FORBIDDEN");
  });

  test("Open Graph tags, with the image stored as media", async () => {
    const response = await preview(open, `${base}/page`);
    expect(response.status).toBe(200);
    expect(response.body["og:title"]).toBe("Tom & Jerry \u2764");
    expect(response.body["og:description"]).toBe('A "quoted" description');
    expect(response.body["og:image"]).toMatch(/^mxc:\/\/localhost\//);
    expect(response.body["og:image:type"]).toBe("image/png");
    expect(response.body["og:image:width"]).toBe(60);
    expect(response.body["og:image:height"]).toBe(40);
    expect(response.body["matrix:image:size"]).toBe(image.byteLength);
    const stored = await fetch(`${open.baseUrl}/_matrix/client/v1/media/download/${response.body["og:image"].slice(6)}`, {
      headers: { authorization: `Bearer ${tokens.get(open)}` },
    });
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(new Uint8Array(image));
  });

  test("title and description fall back to <title> and meta description; redirects are followed", async () => {
    expect((await preview(open, `${base}/plain`)).body).toEqual({ "og:title": "Just a title", "og:description": "plain" });
    expect((await preview(open, `${base}/redirect`)).body["og:title"]).toBe("Tom & Jerry \u2764");
  });

  test("an image URL is previewed as the image", async () => {
    const response = await preview(open, `${base}/image.png`);
    expect(response.body["og:image:type"]).toBe("image/png");
  });

  test("size, time and redirect limits; bad URLs", async () => {
    expect((await preview(open, `${base}/big`)).body.errcode).toBe("M_TOO_LARGE");
    const slow = await preview(open, `${base}/slow`);
    expect(slow.status).toBe(504);
    expect((await preview(open, `${base}/loop`)).status).toBe(502);
    expect((await preview(open, `${base}/missing`)).status).toBe(502);
    expect((await preview(open, "ftp://127.0.0.1/file")).body.errcode).toBe("M_INVALID_PARAM");
    expect((await preview(open, "not a url")).body.errcode).toBe("M_INVALID_PARAM");
    expect((await open.request("GET", "/_matrix/client/v1/media/preview_url", { token: tokens.get(open) })).body.errcode).toBe("M_MISSING_PARAM");
  });

  test("private, loopback and link-local addresses are refused unless allowed", async () => {
    for (const url of [`${base}/page`, `http://localhost:${origin.port}/page`, "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/"]) {
      const response = await preview(guarded, url);
      expect([url, response.status, response.body.errcode]).toEqual([url, 403, "M_FORBIDDEN"]);
    }
  });
});

describe("address filter and Open Graph scanner", () => {
  test("blocked ranges", () => {
    for (const address of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "ff02::1", "nonsense"]) {
      expect([address, isBlockedAddress(address)]).toEqual([address, true]);
    }
    for (const address of ["8.8.8.8", "1.1.1.1", "172.15.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect([address, isBlockedAddress(address)]).toEqual([address, false]);
    }
  });

  test("only attribute values are read", () => {
    expect(openGraphOf(`<meta property="og:title" content="<script>alert(1)</script>">`)).toEqual({ "og:title": "<script>alert(1)</script>" });
    expect(openGraphOf("no tags here")).toEqual({});
  });
});

describe("preview_url over HTTPS", () => {
  test("a site whose CA is only in outbound_extra_ca_file is previewed when that CA is configured", async () => {
    const ca = await makePrivateCa();
    const site = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: ca.tls,
      fetch: () => new Response('<html><head><meta property="og:title" content="Private site"></head></html>', { headers: { "content-type": "text/html" } }),
    });
    const settings = { enabled: true, allow_private_addresses: true, timeout_ms: 2000 };
    const trusting = await startTestServer({ outbound_extra_ca_file: ca.caFile, media: { url_preview: settings } });
    const untrusting = await startTestServer({ media: { url_preview: settings } });
    try {
      const url = `https://127.0.0.1:${site.port}/`;
      for (const [server, trusted] of [[trusting, true], [untrusting, false]] as const) {
        const token = (await server.register("https-previewer")).access_token;
        const response = await server.request("GET", `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`, { token });
        if (trusted) expect(response.body["og:title"]).toBe("Private site");
        else expect(response.status).toBeGreaterThanOrEqual(400);
      }
    } finally {
      site.stop(true);
      await Promise.all([trusting.stop(), untrusting.stop()]);
      ca.remove();
    }
  });
});
