// Hands thumbnail jobs to a worker thread (thumbnail-worker.ts), one at a time:
// decoding holds up to max_image_pixels x 4 bytes, and two decodes at once would
// double that. A thumbnail already being made is not made twice; later requests
// share the first one's result. The worker starts with the first job and is
// ended after IDLE_MS without work, which returns its memory.
import { CorruptImageError } from "./corrupt-image";
import type { RenderJob } from "./render";
import type { WorkerReply } from "./thumbnail-worker";
import type { Logger } from "../util/log";

const IDLE_MS = 30_000;
/** Files remembered as undecodable, at most this many (forgotten all at once beyond). */
const MAX_UNDECODABLE = 10_000;

/**
 * The worker's module. Inside the executable (scripts/build.ts builds it in as
 * an extra entry point) it is named by its path relative to the main entry's
 * folder, src/; import.meta.url there still names the source tree, so the
 * executable is recognised by its main module living in Bun's embedded file system.
 */
function workerSpecifier(): string {
  return Bun.main.includes("/$bunfs/") ? "./media/thumbnail-worker.ts" : new URL("./thumbnail-worker.ts", import.meta.url).href;
}

/**
 * The fallback when there is no worker: the same rendering on this thread. The
 * codecs are imported only then, so that the request thread does not load them
 * (pngjs pulls in node:zlib and node:stream) when the worker is there.
 */
async function renderHere(job: RenderJob): Promise<Uint8Array> {
  const { renderThumbnail } = await import("./render");
  return renderThumbnail(job);
}

export class Thumbnailer {
  constructor(private readonly log?: Logger) {}

  private worker: Worker | undefined;
  /** Set when the worker's module could not be loaded (an executable built without it): render here instead. */
  private workerUnavailable = false;
  private workerAnswered = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly undecodable = new Set<string>();

  knownUndecodable(sha256: string): boolean {
    return this.undecodable.has(sha256);
  }

  rememberUndecodable(sha256: string): void {
    if (this.undecodable.size >= MAX_UNDECODABLE) this.undecodable.clear();
    this.undecodable.add(sha256);
  }

  /** Runs `work` after every job queued before it; a second call with a running key gets the first call's result. */
  once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    const job = this.tail.then(work, work);
    this.tail = job.catch(() => {});
    const tracked = job.finally(() => this.running.delete(key));
    this.running.set(key, tracked);
    return tracked;
  }

  /** Decodes, resizes and encodes in the worker; CorruptImageError when the image cannot be decoded. */
  async render(job: RenderJob): Promise<Uint8Array> {
    if (this.workerUnavailable) return renderHere(job);
    try {
      return await this.renderInWorker(job);
    } catch (error) {
      if (this.workerUnavailable) return renderHere(job);
      throw error;
    }
  }

  private renderInWorker(job: RenderJob): Promise<Uint8Array> {
    const worker = this.ensureWorker();
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...job });
    }).finally(() => {
      if (this.pending.size === 0 && this.worker) this.idleTimer = setTimeout(() => this.stopWorker(), IDLE_MS);
    });
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.stopWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerSpecifier());
    worker.onmessage = (message: MessageEvent<WorkerReply>) => {
      this.workerAnswered = true;
      const reply = message.data;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.bytes);
      else waiter.reject(reply.corrupt ? new CorruptImageError(reply.message) : new Error(reply.message));
    };
    worker.onerror = (event) => {
      // A worker that never answered could not load: from now on, render on this thread.
      if (!this.workerAnswered && !this.workerUnavailable) {
        this.workerUnavailable = true;
        this.log?.warn(`thumbnail worker could not start (${event.message}); making thumbnails on the request thread`);
      }
      // A failed worker (e.g. out of memory) fails its jobs; the next job starts a new one.
      this.failAll(new Error(`thumbnail worker failed: ${event.message}`));
      if (this.worker === worker) this.worker = undefined;
      // Terminated outside its own error callback (terminating from inside it crashed Bun).
      setTimeout(() => worker.terminate(), 0);
    };
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private stopWorker(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.failAll(new Error("thumbnail worker stopped"));
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
