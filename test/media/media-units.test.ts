// The media repository's pure parts: header probing, ranges, dispositions,
// preset choice, resizing, and the file store's atomic writes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRange } from "../../src/http/file-response";
import { contentDisposition, isInlineSafe } from "../../src/media/disposition";
import { FileTooLargeError, MediaFiles } from "../../src/media/files";
import { localMediaId } from "../../src/media/ids";
import { probeImage } from "../../src/media/image-probe";
import { cropAndResize, resizeImage } from "../../src/media/resize";
import { choosePreset, targetSize } from "../../src/media/thumbnails";
import { gifImage, jpegImage, pngImage, testPixels, webpImage } from "../helpers/images";

describe("probeImage", () => {
  test("reads the size of each format without decoding", async () => {
    expect(probeImage(await jpegImage(123, 45))).toEqual({ format: "jpeg", width: 123, height: 45 });
    expect(probeImage(pngImage(7, 9))).toEqual({ format: "png", width: 7, height: 9 });
    expect(probeImage(gifImage(30, 20))).toEqual({ format: "gif", width: 30, height: 20 });
    expect(probeImage(await webpImage(64, 48))).toEqual({ format: "webp", width: 64, height: 48 });
  });

  test("anything else, or too little of it, is null", () => {
    expect(probeImage(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"))).toBeNull();
    expect(probeImage(new Uint8Array([0xff, 0xd8, 0xff]))).toBeNull();
    expect(probeImage(pngImage(5, 5).slice(0, 20))).toBeNull();
    expect(probeImage(new Uint8Array(0))).toBeNull();
  });
});

describe("parseRange", () => {
  test("single ranges", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange("bytes=3-", 10)).toEqual({ start: 3, end: 9 });
    expect(parseRange("bytes=-4", 10)).toEqual({ start: 6, end: 9 });
    expect(parseRange("bytes=-40", 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=5-400", 10)).toEqual({ start: 5, end: 9 });
  });

  test("unsatisfiable and ignored ranges", () => {
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-", 0)).toBe("unsatisfiable");
    expect(parseRange("bytes=4-2", 10)).toBeNull();
    expect(parseRange("bytes=0-1,4-5", 10)).toBeNull();
    expect(parseRange("lines=0-1", 10)).toBeNull();
    expect(parseRange("bytes=-", 10)).toBeNull();
  });
});

describe("Content-Disposition", () => {
  test("inline only for the spec's safe types", () => {
    expect(isInlineSafe("image/png")).toBe(true);
    expect(isInlineSafe("Text/Plain; charset=utf-8")).toBe(true);
    expect(isInlineSafe("text/html")).toBe(false);
    expect(isInlineSafe("image/svg+xml")).toBe(false);
    expect(isInlineSafe("application/octet-stream")).toBe(false);
  });

  test("file names: quoted when plain, RFC 5987 otherwise", () => {
    expect(contentDisposition("image/png", null)).toBe("inline");
    expect(contentDisposition("text/html", "a.html")).toBe('attachment; filename="a.html"');
    expect(contentDisposition("text/plain", "naïve.txt")).toBe("inline; filename*=utf-8''na%C3%AFve.txt");
    expect(contentDisposition("text/plain", 'a"b\\c')).toBe("inline; filename*=utf-8''a%22b%5Cc");
    expect(contentDisposition("text/plain", "it's (1).txt")).toBe(`inline; filename="it's (1).txt"`);
    expect(contentDisposition("text/plain", "ça (1).txt")).toBe("inline; filename*=utf-8''%C3%A7a%20%281%29.txt");
  });
});

describe("media ids", () => {
  test("only the spec's characters, and only this server", () => {
    expect(localMediaId("example.org", "example.org", "abc_DEF-123")).toBe("abc_DEF-123");
    expect(() => localMediaId("example.org", "example.org", "../x")).toThrow("Invalid media id");
    expect(() => localMediaId("example.org", "example.org", "")).toThrow("Invalid media id");
    expect(() => localMediaId("example.org", "exa mple", "abc")).toThrow("Invalid server name");
    expect(() => localMediaId("example.org", "other.org", "abc")).toThrow("Remote media");
    expect(localMediaId("[::1]:8448", "[::1]:8448", "abc")).toBe("abc");
  });
});

describe("presets and sizes", () => {
  test("the smallest preset at least as large as asked, preferring the method", () => {
    expect(choosePreset(10, 10, "crop")).toEqual({ width: 32, height: 32, method: "crop" });
    expect(choosePreset(50, 50, "crop")).toEqual({ width: 96, height: 96, method: "crop" });
    expect(choosePreset(100, 100, "crop")).toEqual({ width: 320, height: 240, method: "scale" });
    expect(choosePreset(10, 10, "scale")).toEqual({ width: 320, height: 240, method: "scale" });
    expect(choosePreset(700, 500, "scale")).toEqual({ width: 800, height: 600, method: "scale" });
    expect(choosePreset(801, 10, "scale")).toBeNull();
  });

  test("scale keeps the aspect ratio, crop the preset's; neither enlarges", () => {
    const scale = { width: 320, height: 240, method: "scale" as const };
    const crop = { width: 96, height: 96, method: "crop" as const };
    expect(targetSize({ width: 1000, height: 500 }, scale)).toEqual({ width: 320, height: 160, crop: false });
    expect(targetSize({ width: 300, height: 200 }, scale)).toBeNull();
    expect(targetSize({ width: 400, height: 300 }, crop)).toEqual({ width: 96, height: 96, crop: true });
    expect(targetSize({ width: 200, height: 50 }, crop)).toEqual({ width: 50, height: 50, crop: true });
    expect(targetSize({ width: 60, height: 60 }, crop)).toBeNull();
  });

  test("resize and crop produce the requested dimensions and keep colours", () => {
    const image = testPixels(400, 300);
    const small = resizeImage(image, 40, 30);
    expect([small.width, small.height, small.data.length]).toEqual([40, 30, 40 * 30 * 4]);
    // The red square in the middle stays red.
    const centre = (15 * 40 + 20) * 4;
    expect(small.data[centre]).toBe(255);
    expect(small.data[centre + 1]).toBe(0);
    const cropped = cropAndResize(image, 32, 32);
    expect([cropped.width, cropped.height]).toEqual([32, 32]);
    const transparent = resizeImage(testPixels(10, 10, 0), 5, 5);
    expect(transparent.data[3]).toBe(0);
  });
});

describe("MediaFiles", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "media-files-"));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("content-addressed, and half-written files of a previous run are removed at open", async () => {
    const dir = dataDir();
    mkdirSync(join(dir, "media", "tmp"), { recursive: true });
    writeFileSync(join(dir, "media", "tmp", "leftover"), "half a file");
    const files = MediaFiles.open(dir);
    expect(readdirSync(join(dir, "media", "tmp"))).toEqual([]);
    const stored = await files.storeBytes(new TextEncoder().encode("hello"));
    expect(stored).toEqual({ sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", size: 5 });
    expect(await Bun.file(files.path(stored.sha256)).text()).toBe("hello");
    expect(files.path(stored.sha256)).toBe(join(dir, "media", "2c", "f2", stored.sha256));
    expect(() => files.path("../../etc/passwd")).toThrow();
  });

  test("a body over the limit leaves nothing behind", async () => {
    const dir = dataDir();
    const files = MediaFiles.open(dir);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(1000));
        controller.close();
      },
    });
    await expect(files.storeStream(body, 2500)).rejects.toBeInstanceOf(FileTooLargeError);
    expect(readdirSync(join(dir, "media", "tmp"))).toEqual([]);
    expect(readdirSync(join(dir, "media")).filter((name) => name !== "tmp")).toEqual([]);
  });

  test("an ephemeral store lives in a temporary folder removed at close", () => {
    const files = MediaFiles.open(null);
    expect(existsSync(files.root)).toBe(true);
    files.close();
    expect(existsSync(files.root)).toBe(false);
  });
});
