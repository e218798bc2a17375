import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { probeImage } from "../../src/media/image-probe";
import { gifImage, jpegImage, pngImage, webpImage } from "../helpers/images";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: { user_id: string; access_token: string };
let bob: { user_id: string; access_token: string };

beforeAll(async () => {
  server = await startTestServer({ media: { max_upload_bytes: 200_000, max_image_pixels: 4_000_000 } });
  alice = await server.register("alice");
  bob = await server.register("bob");
});
afterAll(() => server.stop());

/** Raw request: the body is bytes, not JSON. */
async function raw(method: string, path: string, options: { body?: Uint8Array | string; token?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return fetch(server.baseUrl + path, { method, headers, body: options.body as never });
}

async function upload(bytes: Uint8Array | string, contentType = "application/octet-stream", filename?: string, token = alice.access_token) {
  const query = filename === undefined ? "" : `?filename=${encodeURIComponent(filename)}`;
  const response = await raw("POST", `/_matrix/media/v3/upload${query}`, { body: bytes, token, headers: { "content-type": contentType } });
  const body = (await response.json()) as { content_uri: string; errcode?: string };
  return { status: response.status, body, mediaPath: body.content_uri?.slice("mxc://".length) };
}

const download = (mediaPath: string, options: { token?: string; headers?: Record<string, string>; suffix?: string } = {}) =>
  raw("GET", `/_matrix/client/v1/media/download/${mediaPath}${options.suffix ?? ""}`, { token: options.token ?? alice.access_token, headers: options.headers });

const thumbnail = (mediaPath: string, query: string, token = alice.access_token) =>
  raw("GET", `/_matrix/client/v1/media/thumbnail/${mediaPath}?${query}`, { token });

/** A WebP whose VP8 header says 100x100 and whose data is garbage. */
function brokenWebp(): Uint8Array {
  const bytes = new Uint8Array(64).fill(0x5a);
  bytes.set(new TextEncoder().encode("RIFF"), 0);
  new DataView(bytes.buffer).setUint32(4, 56, true);
  bytes.set(new TextEncoder().encode("WEBPVP8 "), 8);
  new DataView(bytes.buffer).setUint32(16, 44, true);
  bytes.set([0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 100, 0, 100, 0], 20);
  return bytes;
}

async function imageOf(response: Response) {
  return probeImage(new Uint8Array(await response.arrayBuffer()));
}

describe("upload and download", () => {
  test("round trip with content type, file name and security headers", async () => {
    const { status, body, mediaPath } = await upload("hello media", "text/plain", "greeting.txt");
    expect(status).toBe(200);
    expect(body.content_uri).toMatch(/^mxc:\/\/localhost\/[A-Za-z0-9_-]+$/);
    const response = await download(mediaPath!);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello media");
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(response.headers.get("content-disposition")).toBe('inline; filename="greeting.txt"');
    expect(response.headers.get("content-security-policy")).toBe(
      "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
    );
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(response.headers.get("cache-control")).toContain("max-age");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
  });

  test("types outside the spec's inline list are attachments; no content type is octet-stream", async () => {
    const html = await upload("<script>alert(1)</script>", "text/html", "page.html");
    const response = await download(html.mediaPath!);
    expect(response.headers.get("content-type")).toBe("text/html");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="page.html"');

    const bare = await raw("POST", "/_matrix/media/v3/upload", { body: new Uint8Array([1, 2, 3]), token: alice.access_token });
    const uri = ((await bare.json()) as { content_uri: string }).content_uri;
    const got = await download(uri.slice(6));
    expect(got.headers.get("content-type")).toBe("application/octet-stream");
    expect(got.headers.get("content-disposition")).toBe("attachment");
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  test("non-ASCII and hostile file names are encoded per RFC 5987", async () => {
    const { mediaPath } = await upload("x", "text/plain", 'résumé "final".txt');
    const response = await download(mediaPath!);
    expect(response.headers.get("content-disposition")).toBe("inline; filename*=utf-8''r%C3%A9sum%C3%A9%20%22final%22.txt");
    const injected = await download(mediaPath!, { suffix: `/${encodeURIComponent("a\r\nSet-Cookie: x=1.txt")}` });
    expect(injected.status).toBe(200);
    expect(injected.headers.get("set-cookie")).toBeNull();
    expect(injected.headers.get("content-disposition")).toBe("inline; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x%3D1.txt");
  });

  test("the file name in the path overrides the uploaded one", async () => {
    const { mediaPath } = await upload("x", "image/png", "a.png");
    const response = await download(mediaPath!, { suffix: "/other%20name.png" });
    expect(response.headers.get("content-disposition")).toBe('inline; filename="other name.png"');
  });

  test("identical uploads get distinct ids and share one file", async () => {
    const a = await upload("same bytes", "text/plain");
    const b = await upload("same bytes", "text/plain");
    expect(a.mediaPath).not.toBe(b.mediaPath);
    expect(await (await download(a.mediaPath!)).text()).toBe("same bytes");
    expect(await (await download(b.mediaPath!)).text()).toBe("same bytes");
  });

  test("an empty upload is stored", async () => {
    const { status, mediaPath } = await upload("", "text/plain");
    expect(status).toBe(200);
    const response = await download(mediaPath!);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  test("uploads larger than the limit are 413 M_TOO_LARGE, with or without Content-Length", async () => {
    const big = new Uint8Array(200_001);
    const declared = await upload(big);
    expect(declared.status).toBe(413);
    expect(declared.body.errcode).toBe("M_TOO_LARGE");
    // A streamed body has no Content-Length: it is counted as it arrives.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(50_000));
        controller.close();
      },
    });
    const streamed = await fetch(`${server.baseUrl}/_matrix/media/v3/upload`, {
      method: "POST",
      body: stream,
      headers: { authorization: `Bearer ${alice.access_token}`, "content-type": "application/octet-stream" },
    });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { errcode: string }).errcode).toBe("M_TOO_LARGE");
    const exact = await upload(new Uint8Array(200_000));
    expect(exact.status).toBe(200);
  });

  test("upload needs an access token", async () => {
    const response = await raw("POST", "/_matrix/media/v3/upload", { body: "x" });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { errcode: string }).errcode).toBe("M_MISSING_TOKEN");
  });

  test("the r0 upload path still works", async () => {
    const response = await raw("POST", "/_matrix/media/r0/upload", { body: "old", token: alice.access_token, headers: { "content-type": "text/plain" } });
    expect(response.status).toBe(200);
  });

  test("authenticated endpoints refuse requests without a token", async () => {
    const { mediaPath } = await upload("secret", "text/plain");
    for (const path of [`download/${mediaPath}`, `download/${mediaPath}/x.txt`, `thumbnail/${mediaPath}?width=32&height=32`, "config", "preview_url?url=https://example.org"]) {
      const response = await raw("GET", `/_matrix/client/v1/media/${path}`);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { errcode: string }).errcode).toBe("M_MISSING_TOKEN");
    }
    const bad = await raw("GET", `/_matrix/client/v1/media/download/${mediaPath}`, { token: "nonsense" });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { errcode: string }).errcode).toBe("M_UNKNOWN_TOKEN");
  });

  test("the deprecated unauthenticated download works by default", async () => {
    const { mediaPath } = await upload("legacy", "text/plain");
    const response = await raw("GET", `/_matrix/media/v3/download/${mediaPath}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("legacy");
    expect(response.headers.get("content-security-policy")).toContain("sandbox");
    const r0 = await raw("GET", `/_matrix/media/r0/download/${mediaPath}/name.txt`);
    expect(r0.status).toBe(200);
    expect(r0.headers.get("content-disposition")).toBe('inline; filename="name.txt"');
  });

  test("unknown, remote and malformed media ids", async () => {
    const unknown = await download("localhost/doesNotExist");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errcode: string }).errcode).toBe("M_NOT_FOUND");
    const remote = await download("matrix.org/abcdef");
    expect(remote.status).toBe(404);
    expect(((await remote.json()) as { errcode: string }).errcode).toBe("M_NOT_FOUND");
    for (const traversal of ["localhost/..%2F..%2Fhomeserver.db", "localhost/a.b", "..%2F..%2Fetc/passwd", "localhost/%00"]) {
      const response = await download(traversal);
      expect([traversal, response.status]).toEqual([traversal, 400]);
      expect(((await response.json()) as { errcode: string }).errcode).toBe("M_INVALID_PARAM");
    }
    const plain = await raw("GET", "/_matrix/client/v1/media/download/localhost/../../etc/passwd", { token: alice.access_token });
    expect(plain.status).toBeGreaterThanOrEqual(400);
    expect(plain.status).toBeLessThan(500);
  });

  test("config reports the upload limit", async () => {
    const response = await server.request("GET", "/_matrix/client/v1/media/config", { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ "m.upload.size": 200_000 });
    const legacy = await server.request("GET", "/_matrix/media/v3/config", { token: alice.access_token });
    expect(legacy.body).toEqual({ "m.upload.size": 200_000 });
  });
});

describe("Range requests", () => {
  let mediaPath: string;
  beforeAll(async () => {
    mediaPath = (await upload("0123456789", "text/plain")).mediaPath!;
  });

  const ranged = (range: string) => download(mediaPath, { headers: { range } });

  test("a byte range is 206 with Content-Range", async () => {
    const response = await ranged("bytes=2-5");
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(response.headers.get("content-length")).toBe("4");
    expect(await response.text()).toBe("2345");
  });

  test("open-ended and suffix ranges", async () => {
    const open = await ranged("bytes=7-");
    expect(open.status).toBe(206);
    expect(await open.text()).toBe("789");
    const suffix = await ranged("bytes=-3");
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe("789");
    const past = await ranged("bytes=8-100");
    expect(past.headers.get("content-range")).toBe("bytes 8-9/10");
    expect(await past.text()).toBe("89");
  });

  test("an unsatisfiable range is 416", async () => {
    const response = await ranged("bytes=10-20");
    expect(response.status).toBe(416);
    expect(response.headers.get("content-range")).toBe("bytes */10");
  });

  test("malformed or multiple ranges get the whole file", async () => {
    for (const range of ["bytes=5-2", "items=0-1", "bytes=0-1,3-4", "bytes=abc"]) {
      const response = await ranged(range);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("0123456789");
    }
  });
});

describe("async upload (create + PUT)", () => {
  test("create, then download waits for the PUT", async () => {
    const created = await server.request("POST", "/_matrix/media/v1/create", { token: alice.access_token });
    expect(created.status).toBe(200);
    expect(created.body.content_uri).toMatch(/^mxc:\/\/localhost\//);
    expect(created.body.unused_expires_at).toBeGreaterThan(Date.now());
    const mediaPath = created.body.content_uri.slice(6);

    const early = await download(mediaPath, { suffix: "?timeout_ms=0" });
    expect(early.status).toBe(504);
    expect(((await early.json()) as { errcode: string }).errcode).toBe("M_NOT_YET_UPLOADED");

    const waiting = download(mediaPath, { suffix: "?timeout_ms=5000" });
    await Bun.sleep(100);
    const put = await raw("PUT", `/_matrix/media/v3/upload/${mediaPath}?filename=late.txt`, {
      body: "arrived",
      token: alice.access_token,
      headers: { "content-type": "text/plain" },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({});
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("arrived");
    expect(response.headers.get("content-disposition")).toBe('inline; filename="late.txt"');

    const again = await raw("PUT", `/_matrix/media/v3/upload/${mediaPath}`, { body: "again", token: alice.access_token });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { errcode: string }).errcode).toBe("M_CANNOT_OVERWRITE_MEDIA");
  });

  test("only the creator may upload; unknown ids are 404", async () => {
    const created = await server.request("POST", "/_matrix/media/v1/create", { token: alice.access_token });
    const mediaPath = created.body.content_uri.slice(6);
    const byBob = await raw("PUT", `/_matrix/media/v3/upload/${mediaPath}`, { body: "x", token: bob.access_token });
    expect(byBob.status).toBe(403);
    expect(((await byBob.json()) as { errcode: string }).errcode).toBe("M_FORBIDDEN");
    const unknown = await raw("PUT", "/_matrix/media/v3/upload/localhost/nope", { body: "x", token: alice.access_token });
    expect(unknown.status).toBe(404);
    const uploaded = (await upload("direct")).mediaPath!;
    const overwrite = await raw("PUT", `/_matrix/media/v3/upload/${uploaded}`, { body: "x", token: alice.access_token });
    expect(overwrite.status).toBe(409);
    const traversal = await raw("PUT", "/_matrix/media/v3/upload/localhost/..%2Fx", { body: "x", token: alice.access_token });
    expect(traversal.status).toBe(400);
  });

  test("a user holds at most max_pending_uploads created ids", async () => {
    const carol = await server.register("carol");
    for (let i = 0; i < 5; i++) expect((await server.request("POST", "/_matrix/media/v1/create", { token: carol.access_token })).status).toBe(200);
    const refused = await server.request("POST", "/_matrix/media/v1/create", { token: carol.access_token });
    expect(refused.status).toBe(429);
    expect(refused.body.errcode).toBe("M_LIMIT_EXCEEDED");
  });
});

describe("thumbnails", () => {
  test("JPEG: scaled to the smallest preset that is large enough, as JPEG", async () => {
    const { mediaPath } = await upload(await jpegImage(1000, 500), "image/jpeg");
    const response = await thumbnail(mediaPath!, "width=300&height=200&method=scale");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/jpeg");
    expect(response.headers.get("content-disposition")).toBe('inline; filename="thumbnail.jpeg"');
    expect(response.headers.get("content-security-policy")).toContain("sandbox");
    // 320x240 scale: fits inside, keeps 2:1.
    expect(await imageOf(response)).toEqual({ format: "jpeg", width: 320, height: 160 });
  });

  test("crop gives the preset's exact size; a second request is served from the cache", async () => {
    const { mediaPath } = await upload(pngImage(400, 300), "image/png");
    const first = await thumbnail(mediaPath!, "width=90&height=90&method=crop");
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("image/png");
    const bytes = new Uint8Array(await first.arrayBuffer());
    expect(probeImage(bytes)).toEqual({ format: "png", width: 96, height: 96 });
    const second = await thumbnail(mediaPath!, "width=96&height=96&method=crop");
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes);
    const tiny = await thumbnail(mediaPath!, "width=10&height=10&method=crop");
    expect(await imageOf(tiny)).toEqual({ format: "png", width: 32, height: 32 });
  });

  test("GIF: the first frame, as a static PNG", async () => {
    const { mediaPath } = await upload(gifImage(500, 400), "image/gif");
    const response = await thumbnail(mediaPath!, "width=320&height=240");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(await imageOf(response)).toEqual({ format: "png", width: 300, height: 240 });
  });

  test("a small GIF is not returned as is unless animation is welcome", async () => {
    const { mediaPath } = await upload(gifImage(20, 20), "image/gif");
    const still = await thumbnail(mediaPath!, "width=32&height=32&method=crop");
    expect(still.headers.get("content-type")).toBe("image/png");
    const animated = await thumbnail(mediaPath!, "width=32&height=32&method=crop&animated=true");
    expect(animated.headers.get("content-type")).toBe("image/gif");
  });

  test("WebP thumbnails", async () => {
    const { mediaPath } = await upload(await webpImage(640, 480), "image/webp");
    const response = await thumbnail(mediaPath!, "width=320&height=240&method=scale");
    expect(response.status).toBe(200);
    expect(await imageOf(response)).toEqual({ format: "png", width: 320, height: 240 });
  });

  test("an image smaller than the request is returned as it is", async () => {
    const original = pngImage(50, 40);
    const { mediaPath } = await upload(original, "image/png");
    const response = await thumbnail(mediaPath!, "width=800&height=600");
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(original));
  });

  test("requests larger than every preset get the original, never an upscale or a smaller image", async () => {
    const { mediaPath } = await upload(await jpegImage(1600, 1200), "image/jpeg");
    const huge = await thumbnail(mediaPath!, "width=100000&height=100000&method=crop");
    expect(huge.status).toBe(200);
    expect(await imageOf(huge)).toEqual({ format: "jpeg", width: 1600, height: 1200 });
    const between = await thumbnail(mediaPath!, "width=1000&height=1000&method=scale");
    expect(await imageOf(between)).toEqual({ format: "jpeg", width: 1600, height: 1200 });
    const largest = await thumbnail(mediaPath!, "width=700&height=500&method=crop");
    expect(await imageOf(largest)).toEqual({ format: "jpeg", width: 800, height: 600 });
  });

  test("an animated GIF larger than every preset becomes a static PNG of full size", async () => {
    const { mediaPath } = await upload(gifImage(900, 700), "image/gif");
    const response = await thumbnail(mediaPath!, "width=1000&height=1000");
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(await imageOf(response)).toEqual({ format: "png", width: 900, height: 700 });
  });

  test("bad dimensions and methods are 400", async () => {
    const { mediaPath } = await upload(pngImage(100, 100), "image/png");
    for (const [query, errcode] of [
      ["height=32", "M_MISSING_PARAM"],
      ["width=0&height=32", "M_INVALID_PARAM"],
      ["width=-5&height=32", "M_INVALID_PARAM"],
      ["width=1.5&height=32", "M_INVALID_PARAM"],
      ["width=1e400&height=32", "M_INVALID_PARAM"],
      ["width=99999999999999999999&height=32", "M_INVALID_PARAM"],
      ["width=32&height=32&method=stretch", "M_INVALID_PARAM"],
      ["width=32&height=32&animated=maybe", "M_INVALID_PARAM"],
    ] as const) {
      const response = await thumbnail(mediaPath!, query);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errcode: string }).errcode).toBe(errcode);
    }
  });

  test("corrupt images and non-images get the spec's 400, not a 500", async () => {
    const good = await jpegImage(200, 200);
    const damaged = good.slice();
    for (let i = 200; i < damaged.length; i += 3) damaged[i] = 0x55;
    const truncatedPng = pngImage(200, 200).slice(0, 60);
    const gifHeaderOnly = gifImage(200, 200).slice(0, 13);
    const cases: [Uint8Array | string, string][] = [
      [damaged, "image/jpeg"],
      [truncatedPng, "image/png"],
      [gifHeaderOnly, "image/gif"],
      [brokenWebp(), "image/webp"],
      ["not an image at all", "image/png"],
    ];
    for (const [bytes, type] of cases) {
      const { mediaPath } = await upload(bytes, type);
      const response = await thumbnail(mediaPath!, "width=8&height=8&method=crop");
      expect([type, response.status]).toEqual([type, 400]);
      expect(((await response.json()) as { errcode: string }).errcode).toBe("M_UNKNOWN");
      // Asked again (other size), it is refused from memory of the failure, the same way.
      const again = await thumbnail(mediaPath!, "width=90&height=90&method=crop");
      expect([type, again.status]).toEqual([type, 400]);
    }
  });

  test("images above the pixel limit are refused with 413 M_TOO_LARGE before decoding", async () => {
    // A PNG header claiming 100000 x 100000 pixels (10 gigapixels), with no data behind it.
    const header = pngImage(1, 1);
    new DataView(header.buffer, header.byteOffset).setUint32(16, 100_000);
    new DataView(header.buffer, header.byteOffset).setUint32(20, 100_000);
    const { mediaPath } = await upload(header, "image/png");
    const response = await thumbnail(mediaPath!, "width=32&height=32");
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errcode: string }).errcode).toBe("M_TOO_LARGE");
  });

  test("the deprecated unauthenticated thumbnail", async () => {
    const { mediaPath } = await upload(pngImage(200, 200), "image/png");
    const response = await raw("GET", `/_matrix/media/v3/thumbnail/${mediaPath}?width=32&height=32&method=crop`);
    expect(response.status).toBe(200);
    expect(await imageOf(response)).toEqual({ format: "png", width: 32, height: 32 });
  });
});

describe("media.serve_unauthenticated: false", () => {
  test("the deprecated download and thumbnail are gone; the authenticated ones stay", async () => {
    const strict = await startTestServer({ media: { serve_unauthenticated: false } });
    try {
      const user = await strict.register("dana");
      const uploaded = await fetch(`${strict.baseUrl}/_matrix/media/v3/upload`, {
        method: "POST",
        body: "private",
        headers: { authorization: `Bearer ${user.access_token}`, "content-type": "text/plain" },
      });
      const mediaPath = ((await uploaded.json()) as { content_uri: string }).content_uri.slice(6);
      for (const path of [`/_matrix/media/v3/download/${mediaPath}`, `/_matrix/media/r0/download/${mediaPath}`, `/_matrix/media/v3/thumbnail/${mediaPath}?width=32&height=32`]) {
        const response = await fetch(strict.baseUrl + path);
        expect([path, response.status]).toEqual([path, 404]);
        expect(((await response.json()) as { errcode: string }).errcode).toBe("M_UNRECOGNIZED");
      }
      const authed = await fetch(`${strict.baseUrl}/_matrix/client/v1/media/download/${mediaPath}`, { headers: { authorization: `Bearer ${user.access_token}` } });
      expect(await authed.text()).toBe("private");
    } finally {
      await strict.stop();
    }
  });

  test("a request with the wrong method on a media path is 405", async () => {
    const response = await raw("GET", "/_matrix/media/v3/upload", { token: alice.access_token });
    expect(response.status).toBe(405);
    expect(((await response.json()) as { errcode: string }).errcode).toBe("M_UNRECOGNIZED");
  });
});
