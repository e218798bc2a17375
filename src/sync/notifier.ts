// Tells whoever waits for changes (long-polling /sync) that something was
// committed. Waiters register per user; a change names the users it concerns, so
// the cost of a message is O(members of its room), never O(all waiters).
//
// Every write that a user's sync would show calls notify() with that user, so the
// notifier also knows the last stream position (and typing serial) that concerned
// each user. A sync whose token is at or past both has nothing to show and can
// answer without looking at the user's rooms.

export type Wake = (position: number) => void;

/**
 * What the rest of the server needs from the broadcaster. This in-memory one
 * serves one process; a multi-process deployment would implement the same
 * interface over PostgreSQL LISTEN/NOTIFY or Redis pub/sub.
 */
export interface Broadcaster {
  readonly closing: boolean;
  wait(userId: string, wake: Wake): () => void;
  notify(userIds: Iterable<string>, position: number): void;
  notifyCoalesced(userIds: ReadonlySet<string>, position: number): void;
  notifyTyping(userIds: Iterable<string>, serial: number): void;
  nothingSince(userId: string, position: number, typing: number): boolean;
  recordQuiet(userId: string, position: number): void;
  shutdown(): void;
}

export class Notifier implements Broadcaster {
  private readonly waiters = new Map<string, Set<Wake>>();
  /** The last stream position that concerned each user (since this process started). */
  private readonly lastPosition = new Map<string, number>();
  /** The last typing serial that concerned each user. */
  private readonly lastTyping = new Map<string, number>();
  /** Users known to have had nothing since the position given (learned from an empty sync). */
  private readonly quietFrom = new Map<string, number>();
  private closed = false;
  /** notifyCoalesced's pending sets, each with the highest position given for it. */
  private coalesced = new Map<ReadonlySet<string>, number>();

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

  /** Records a committed change at `position` for each user in `userIds` and wakes their waiters. */
  notify(userIds: Iterable<string>, position: number): void {
    for (const userId of userIds) {
      if ((this.lastPosition.get(userId) ?? 0) < position) this.lastPosition.set(userId, position);
      this.quietFrom.delete(userId);
      this.wakeUser(userId, position);
    }
  }

  /**
   * notify(), once per set of users for all the calls made in one synchronous
   * run (one commit's effects): a group commit of forty messages into one room
   * then walks its members once, at the last position, instead of forty times.
   * Runs in a microtask, before anything woken can build.
   */
  notifyCoalesced(userIds: ReadonlySet<string>, position: number): void {
    if (this.coalesced.size === 0) queueMicrotask(() => this.flushCoalesced());
    const pending = this.coalesced.get(userIds);
    if (pending === undefined || pending < position) this.coalesced.set(userIds, position);
  }

  private flushCoalesced(): void {
    const pending = this.coalesced;
    this.coalesced = new Map();
    for (const [userIds, position] of pending) this.notify(userIds, position);
  }

  /** The same for a typing change, which is counted by the typing serial, not the stream. */
  notifyTyping(userIds: Iterable<string>, serial: number): void {
    for (const userId of userIds) {
      this.lastTyping.set(userId, serial);
      this.wakeUser(userId, serial);
    }
  }

  /**
   * True when nothing concerned the user after the token: no change at a later
   * stream position and no later typing serial. Unknown (nothing recorded since
   * start, and no empty sync seen yet) counts as "maybe".
   */
  nothingSince(userId: string, position: number, typing: number): boolean {
    if ((this.lastTyping.get(userId) ?? 0) > typing) return false;
    const last = this.lastPosition.get(userId);
    if (last !== undefined) return last <= position;
    const quiet = this.quietFrom.get(userId);
    return quiet !== undefined && quiet <= position;
  }

  /** A full sync from `position` found nothing: later tokens need not look again until notify(). */
  recordQuiet(userId: string, position: number): void {
    if (this.lastPosition.has(userId)) return;
    const known = this.quietFrom.get(userId);
    if (known === undefined || position < known) this.quietFrom.set(userId, position);
  }

  private wakeUser(userId: string, position: number): void {
    const set = this.waiters.get(userId);
    if (!set) return;
    for (const wake of [...set]) wake(position);
  }
}

/**
 * Long-poll deadlines share one timer per slot of SLOT_MS: under fan-out every
 * woken client comes back with a new long-poll, and a timer each (set, then
 * cleared at the next wake) showed in profiles. A wait may end up to SLOT_MS
 * after its timeout, never before.
 */
const SLOT_MS = 50;
const slots = new Map<number, Set<() => void>>();

function atDeadline(deadline: number, fire: () => void): () => void {
  const slot = Math.ceil(deadline / SLOT_MS) * SLOT_MS;
  let due = slots.get(slot);
  if (!due) {
    const fires = (due = new Set());
    slots.set(slot, fires);
    // Unref'd: a slot whose waiters all left must not keep a stopping process alive.
    setTimeout(() => {
      slots.delete(slot);
      for (const fireOne of fires) fireOne();
    }, Math.max(0, slot - Date.now())).unref();
  }
  due.add(fire);
  const set = due;
  return () => set.delete(fire);
}

/**
 * Resolves when a commit concerning `userId` wakes the broadcaster (with the
 * position or typing serial it named), when `timeoutMs` passes or when the
 * request is aborted (with 0): one wait of a long-poll (/sync and sliding sync).
 * Registering happens synchronously, so a caller that built its answer in the
 * same turn misses no commit.
 */
export function waitForChange(notifier: Broadcaster, userId: string, timeoutMs: number, signal: AbortSignal): Promise<number> {
  return new Promise<number>((resolve) => {
    const done = (position = 0) => {
      unregister();
      cancelDeadline();
      signal.removeEventListener("abort", abort);
      resolve(position);
    };
    const abort = () => done(0);
    const unregister = notifier.wait(userId, done);
    const cancelDeadline = atDeadline(Date.now() + Math.max(0, timeoutMs), abort);
    signal.addEventListener("abort", abort);
  });
}
