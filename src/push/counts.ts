// Unread notification counts (spec: Client-Server API, "Receiving notifications",
// "Marking notifications as read"). Each notifying event raises a counter per
// user, room and thread (push_counts); a read receipt recounts the user's
// counters from the recorded push actions after it. The later of m.read and
// m.read.private counts; an unthreaded receipt covers every thread, a threaded
// one (spec: "Threaded read receipts") its own thread ("main" for the main
// timeline).
import type { Homeserver } from "../homeserver";
import { loadEvent } from "../rooms/room-state";

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
 * Stream position of the event that made the user a member this time: their
 * member event, walked back over later join-to-join changes (display name,
 * avatar). 0 when not joined.
 */
function joinedAt(hs: Homeserver, roomId: string, userId: string): number {
  const id = hs.store.state.currentEventId(roomId, "m.room.member", userId);
  let event = id ? loadEvent(hs, id) : undefined;
  if (event?.pdu.content.membership !== "join") return 0;
  for (let previous = event.row.replacesState ? loadEvent(hs, event.row.replacesState) : undefined; previous?.pdu.content.membership === "join"; ) {
    event = previous;
    previous = event.row.replacesState ? loadEvent(hs, event.row.replacesState) : undefined;
  }
  return event.row.streamPos;
}

/**
 * After a read receipt of `userId` in `roomId` moved (in the receipt's
 * transaction): an unthreaded receipt recounts every thread, a threaded one
 * its own. Each thread counts what follows the later of the unthreaded receipt
 * and its own.
 */
export function recountAfterReceipt(hs: Homeserver, roomId: string, userId: string, threadId: string): void {
  const { pushActions } = hs.store;
  // Nothing before the user's join counts (their invite, say), receipt or not (as Synapse).
  const base = Math.max(readPosition(hs, roomId, userId, ""), joinedAt(hs, roomId, userId));
  if (threadId !== "") {
    const from = Math.max(base, readPosition(hs, roomId, userId, threadId));
    const counts = pushActions.countThreadAfter(userId, roomId, threadId, from);
    pushActions.setCounts(userId, roomId, threadId, counts.notifications, counts.highlights);
    return;
  }
  const fresh = new Map(pushActions.countAfter(userId, roomId, base).map((row) => [row.threadId, row]));
  for (const { threadId: thread } of pushActions.counts(userId, roomId)) if (!fresh.has(thread)) pushActions.setCounts(userId, roomId, thread, 0, 0);
  for (const [thread, row] of fresh) {
    const own = readPosition(hs, roomId, userId, thread);
    const counts = own > base ? pushActions.countThreadAfter(userId, roomId, thread, own) : row;
    pushActions.setCounts(userId, roomId, thread, counts.notifications, counts.highlights);
  }
}

/**
 * `unread_notifications` and, when the filter asks for per-thread counts,
 * `unread_thread_notifications` (spec: sync.yaml): then the room's counts are
 * those of the main timeline only.
 */
export function unreadNotifications(hs: Homeserver, roomId: string, userId: string, perThread: boolean) {
  const total: Counts = { notification_count: 0, highlight_count: 0 };
  const threads: Record<string, Counts> = {};
  for (const row of hs.store.pushActions.counts(userId, roomId)) {
    if (perThread && row.threadId !== MAIN_THREAD) {
      threads[row.threadId] = { notification_count: row.notifications, highlight_count: row.highlights };
      continue;
    }
    total.notification_count += row.notifications;
    total.highlight_count += row.highlights;
  }
  return perThread ? { unread_notifications: total, unread_thread_notifications: threads } : { unread_notifications: total };
}
