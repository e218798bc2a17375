// Thumbnails are made one at a time: decoding a large image holds up to
// max_image_pixels x 4 bytes, and two at once would double that. A thumbnail
// already being made is not made twice: later requests share the first one's result.

export class ThumbnailJobs {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly running = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    const job = this.tail.then(work, work);
    this.tail = job.catch(() => {});
    const tracked = job.finally(() => this.running.delete(key));
    this.running.set(key, tracked);
    return tracked;
  }
}
