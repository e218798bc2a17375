// Makes thumbnails one at a time: decoding holds up to max_image_pixels x 4
// bytes, and two decodes at once would double that. A thumbnail already being
// made is not made twice; later requests share the first one's result.
//
// The work runs on the request thread (see docs/architecture.md, "Media", for
// the measured cost and why not in a worker thread yet).
import { renderThumbnail, type RenderJob } from "./render";

/** Files remembered as undecodable, at most this many (forgotten all at once beyond). */
const MAX_UNDECODABLE = 10_000;

export class Thumbnailer {
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

  /** Decodes, resizes and encodes; CorruptImageError when the image cannot be decoded. */
  render(job: RenderJob): Promise<Uint8Array> {
    return renderThumbnail(job);
  }

  close(): void {}
}
