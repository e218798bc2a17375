// Thumbnailing a 4000x3000 JPEG: time and peak memory.
//
//   bun run bench/thumbnail.ts                 # library: decode + resize + encode, each run in a fresh process
//   bun run bench/thumbnail.ts --server        # through dist/homeserver: upload, then GET .../thumbnail 800x600,
//                                              # pinging /versions meanwhile; RSS again once the worker idled out
//   bun run bench/thumbnail.ts --runs 5 --binary dist/homeserver
//
// The picture is made here (a gradient with noise, JPEG quality 85, about 3-4 MB),
// so nothing large is committed. Bounded: a few runs, loopback only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage, encodeJpeg, type Rgba } from "../src/media/codecs";
import { probeImage } from "../src/media/image-probe";
import { resizeImage } from "../src/media/resize";
import { targetSize } from "../src/media/thumbnails";
import { Client, machine, startServerProcess } from "./lib";

const WIDTH = 4000;
const HEIGHT = 3000;
const PRESET = { width: 800, height: 600, method: "scale" as const };

/** Peak and current resident memory of a process, in MiB (Linux /proc). */
async function memoryOf(pid: number | "self"): Promise<{ rss: number; peak: number }> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

async function makePhoto(path: string): Promise<void> {
  const data = new Uint8Array(WIDTH * HEIGHT * 4);
  let seed = 12345;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) % 32;
      const i = (y * WIDTH + x) * 4;
      data[i] = ((x * 255) / WIDTH + noise) & 255;
      data[i + 1] = ((y * 255) / HEIGHT + noise) & 255;
      data[i + 2] = (((x + y) * 128) / (WIDTH + HEIGHT) + noise) & 255;
      data[i + 3] = 255;
    }
  }
  await Bun.write(path, await encodeJpeg({ width: WIDTH, height: HEIGHT, data }, 85));
}

/** One run in this (fresh) process: what thumbnails.ts does, timed step by step. */
async function child(path: string): Promise<void> {
  const before = await memoryOf("self");
  const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
  const t0 = performance.now();
  const header = probeImage(bytes)!;
  const image: Rgba = await decodeImage(bytes, header.format, 32_000_000);
  const t1 = performance.now();
  const size = targetSize(header, PRESET)!;
  const small = resizeImage(image, size.width, size.height);
  const t2 = performance.now();
  const out = await encodeJpeg(small);
  const t3 = performance.now();
  const after = await memoryOf("self");
  console.log(JSON.stringify({ decodeMs: t1 - t0, resizeMs: t2 - t1, encodeMs: t3 - t2, totalMs: t3 - t0, rssBeforeMiB: before.rss, peakMiB: after.peak, outBytes: out.length }));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (n: number) => n.toFixed(0);

async function libraryRuns(path: string, runs: number): Promise<void> {
  const results: Record<string, number>[] = [];
  for (let run = 0; run < runs; run++) {
    const proc = Bun.spawn([process.execPath, "run", import.meta.path, "--child", path], { stdout: "pipe", stderr: "inherit" });
    const line = (await new Response(proc.stdout).text()).trim();
    if ((await proc.exited) !== 0) throw new Error("child run failed");
    const result = JSON.parse(line) as Record<string, number>;
    results.push(result);
    console.log(`run ${run + 1}: decode ${fmt(result.decodeMs!)} ms, resize ${fmt(result.resizeMs!)} ms, encode ${fmt(result.encodeMs!)} ms, total ${fmt(result.totalMs!)} ms; RSS before ${fmt(result.rssBeforeMiB!)} MiB, peak ${fmt(result.peakMiB!)} MiB`);
  }
  const m = (key: string) => fmt(median(results.map((r) => r[key]!)));
  console.log(`median of ${runs}: decode ${m("decodeMs")} ms, resize ${m("resizeMs")} ms, encode ${m("encodeMs")} ms, total ${m("totalMs")} ms, peak RSS ${m("peakMiB")} MiB (RSS before ${m("rssBeforeMiB")} MiB)`);
}

async function serverRuns(path: string, runs: number, binary: string | undefined): Promise<void> {
  const server = await startServerProcess({ binary });
  try {
    const token = (await Client.register(server.base, `bench${Date.now()}`)).token;
    const start = await memoryOf(server.proc.pid);
    console.log(`server RSS after start ${fmt(start.rss)} MiB`);
    for (let run = 0; run < runs; run++) {
      // A new media id each run: its thumbnail is not cached yet (the file itself is shared).
      const uploaded = (await (
        await fetch(`${server.base}/_matrix/media/v3/upload`, { method: "POST", body: Bun.file(path), headers: { authorization: `Bearer ${token}`, "content-type": "image/jpeg" } })
      ).json()) as { content_uri: string };
      const t0 = performance.now();
      let done = false;
      const thumbnail = fetch(`${server.base}/_matrix/client/v1/media/thumbnail/${uploaded.content_uri.slice(6)}?width=800&height=600&method=scale`, {
        headers: { authorization: `Bearer ${token}` },
      }).finally(() => (done = true));
      // Meanwhile: does the server still answer other requests? (Thumbnails are made in a worker thread.)
      let slowestPing = 0;
      while (!done) {
        const p0 = performance.now();
        await fetch(`${server.base}/_matrix/client/versions`);
        slowestPing = Math.max(slowestPing, performance.now() - p0);
        await Bun.sleep(10);
      }
      const response = await thumbnail;
      const bytes = await response.arrayBuffer();
      const elapsed = performance.now() - t0;
      if (response.status !== 200) throw new Error(`thumbnail: ${response.status}`);
      const memory = await memoryOf(server.proc.pid);
      console.log(
        `run ${run + 1}: GET thumbnail 800x600 ${fmt(elapsed)} ms (${bytes.byteLength} bytes); slowest /versions meanwhile ${fmt(slowestPing)} ms; ` +
          `server RSS ${fmt(memory.rss)} MiB, peak ${fmt(memory.peak)} MiB`,
      );
    }
    // The worker is ended after 30 s without work (src/media/thumbnailer.ts), returning its memory.
    await Bun.sleep(35_000);
    const idle = await memoryOf(server.proc.pid);
    console.log(`35 s later (thumbnail worker stopped): server RSS ${fmt(idle.rss)} MiB`);
  } finally {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { child: { type: "string" }, server: { type: "boolean" }, runs: { type: "string" }, binary: { type: "string" } },
});
if (values.child) {
  await child(values.child);
} else {
  const dir = mkdtempSync(join(tmpdir(), "thumbnail-bench-"));
  try {
    const path = join(dir, "photo.jpg");
    await makePhoto(path);
    const runs = Number(values.runs ?? 3);
    console.log(`${WIDTH}x${HEIGHT} JPEG, ${(Bun.file(path).size / 1e6).toFixed(1)} MB; ${JSON.stringify(machine())}`);
    if (values.server) await serverRuns(path, runs, values.binary);
    else await libraryRuns(path, runs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
