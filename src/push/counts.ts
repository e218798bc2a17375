// Unread notification counts (spec: Client-Server API, "Receiving notifications",
// "Marking notifications as read"): the recorded push actions after the user's
// read position. The later of m.read and m.read.private counts; an unthreaded
// receipt covers every thread, a threaded one (spec: "Threaded read receipts")
// its own thread ("main" for the main timeline).
import type { Homeserver } from "../homeserver";

export interface Counts {
  notification_count: number;
  highlight_count: number;
}

export const MAIN_THREAD = "main";

/** Stream position of the user's latest read receipt (either type) for a thread ("" unthreaded); 0 when none. */
export function readPosition(hs: Homeserver, roomId: string, userId: string, threadId: string): number {
  let pos = 0;
  for (const type of ["m.read", "m.read.private"]) {
    const receipt = hs.store.receipts.get(roomId, type, userId, threadId);
    if (receipt) pos = Math.max(pos, hs.store.events.get(receipt.eventId)?.streamPos ?? 0);
  }
  return pos;
}

/**
 * The room's counts up to `upTo`, per thread. Only threads with unread
 * notifications after the unthreaded receipt are looked at again with their
 * own receipts, so the usual room costs one index range scan.
 */
export function threadCounts(hs: Homeserver, roomId: string, userId: string, upTo: number): Map<string, Counts> {
  const base = readPosition(hs, roomId, userId, "");
  const counts = new Map<string, Counts>();
  for (const row of hs.store.pushActions.countsByThread(userId, roomId, base, upTo)) {
    let { notifications, highlights } = row;
    const own = readPosition(hs, roomId, userId, row.threadId);
    if (own > base) ({ notifications, highlights } = hs.store.pushActions.countsOfThread(userId, roomId, row.threadId, own, upTo));
    if (notifications > 0) counts.set(row.threadId, { notification_count: notifications, highlight_count: highlights });
  }
  return counts;
}

/**
 * `unread_notifications` and, when the filter asks for per-thread counts,
 * `unread_thread_notifications` (spec: sync.yaml): then the room's counts are
 * those of the main timeline only.
 */
export function unreadNotifications(hs: Homeserver, roomId: string, userId: string, upTo: number, perThread: boolean) {
  const byThread = threadCounts(hs, roomId, userId, upTo);
  const total: Counts = { notification_count: 0, highlight_count: 0 };
  const threads: Record<string, Counts> = {};
  for (const [threadId, counts] of byThread) {
    if (perThread && threadId !== MAIN_THREAD) {
      threads[threadId] = counts;
      continue;
    }
    total.notification_count += counts.notification_count;
    total.highlight_count += counts.highlight_count;
  }
  return perThread ? { unread_notifications: total, unread_thread_notifications: threads } : { unread_notifications: total };
}
