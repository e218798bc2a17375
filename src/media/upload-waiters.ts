// Downloads of a created but not yet uploaded mxc URI wait (up to the client's
// timeout_ms) for the upload (spec: GET .../download, `timeout_ms`, v1.7). This
// is in memory: only this process completes uploads.

export class UploadWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();
  /** Set at shutdown: nothing waits any more. */
  closed = false;

  /** Resolves when `mediaId` is uploaded, after `timeoutMs`, or at shutdown, whichever is first. */
  wait(mediaId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      let waiters = this.waiting.get(mediaId);
      if (!waiters) this.waiting.set(mediaId, (waiters = new Set()));
      const done = () => {
        clearTimeout(timer);
        waiters!.delete(done);
        if (waiters!.size === 0 && this.waiting.get(mediaId) === waiters) this.waiting.delete(mediaId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
    });
  }

  uploaded(mediaId: string): void {
    for (const done of [...(this.waiting.get(mediaId) ?? [])]) done();
  }

  close(): void {
    this.closed = true;
    for (const waiters of [...this.waiting.values()]) for (const done of [...waiters]) done();
  }
}
