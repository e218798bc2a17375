// Typing notifications (spec: Client-Server API, "Typing Notifications"): kept in
// memory only, each with its own expiry; every change bumps a serial that sync
// tokens carry, and wakes the room's members.
import type { Homeserver } from "../homeserver";

const MAX_TIMEOUT_MS = 120_000;

export class TypingTracker {
  private readonly typing = new Map<string, Map<string, { until: number; timer: Timer }>>();
  /** Serial of the last change in each room. */
  private readonly changedAt = new Map<string, number>();
  private serialValue = 0;

  constructor(private readonly wake: (roomId: string, serial: number) => void) {}

  get serial(): number {
    return this.serialValue;
  }

  set(roomId: string, userId: string, typing: boolean, timeoutMs = 30_000): void {
    let room = this.typing.get(roomId);
    const existing = room?.get(userId);
    if (existing) clearTimeout(existing.timer);
    if (typing) {
      if (!room) this.typing.set(roomId, (room = new Map()));
      const duration = Math.min(Math.max(timeoutMs, 0), MAX_TIMEOUT_MS);
      const timer = setTimeout(() => this.set(roomId, userId, false), duration);
      timer.unref?.();
      room.set(userId, { until: Date.now() + duration, timer });
      // Renewing an ongoing notification changes nothing a client can see.
      if (existing) return;
    } else {
      if (!existing) return;
      room!.delete(userId);
      if (room!.size === 0) this.typing.delete(roomId);
    }
    this.changedAt.set(roomId, ++this.serialValue);
    this.wake(roomId, this.serialValue);
  }

  /** The users typing in a room now. */
  usersIn(roomId: string): string[] {
    return [...(this.typing.get(roomId)?.keys() ?? [])];
  }

  /** Whether the room's typing list changed after `serial`. */
  changedSince(roomId: string, serial: number): boolean {
    return (this.changedAt.get(roomId) ?? 0) > serial;
  }

  /** Stops every expiry timer (server shutdown). */
  close(): void {
    for (const room of this.typing.values()) for (const { timer } of room.values()) clearTimeout(timer);
    this.typing.clear();
  }
}

export function createTypingTracker(hs: Pick<Homeserver, "notifier" | "store">): TypingTracker {
  return new TypingTracker((roomId, serial) => hs.notifier.notifyTyping(hs.store.state.joinedMembers(roomId), serial));
}
