// Tells whoever waits for changes (long-polling /sync) that something was
// committed. Waiters register per user; a change names the users it concerns, so
// the cost of a message is O(members of its room), never O(all waiters).

export type Wake = (position: number) => void;

export class Notifier {
  private readonly waiters = new Map<string, Set<Wake>>();
  private closed = false;

  /** True once the server is shutting down: long-polls answer at once. */
  get closing(): boolean {
    return this.closed;
  }

  /** Wakes every waiter for good (graceful shutdown must not wait out long-polls). */
  shutdown(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of [...set]) wake(0);
  }

  /** Registers `wake` for changes concerning `userId`; returns the function that unregisters it. */
  wait(userId: string, wake: Wake): () => void {
    if (this.closed) {
      queueMicrotask(() => wake(0));
      return () => {};
    }
    let set = this.waiters.get(userId);
    if (!set) this.waiters.set(userId, (set = new Set()));
    set.add(wake);
    return () => {
      set!.delete(wake);
      if (set!.size === 0) this.waiters.delete(userId);
    };
  }

  /** Wakes the waiters of each user in `userIds` (call after commit). */
  notify(userIds: Iterable<string>, position: number): void {
    for (const userId of userIds) {
      const set = this.waiters.get(userId);
      if (!set) continue;
      for (const wake of [...set]) wake(position);
    }
  }
}
