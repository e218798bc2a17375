// Unread notification counts (spec: Client-Server API, "Receiving notifications",
// "Marking notifications as read"). A joined user's count per room and thread
// is their own counter (push_counts) plus what the room's shared outcomes
// added since it was taken (push_room_counts); a read receipt recounts the
// user's counter from the recorded push actions after it. The later of m.read and
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
 * The span of stream positions in which the user is, or last was, joined to
 * the room: from the event that made them a member (walked back over later
 * join-to-join changes: display name, avatar) to the event that ended it
 * (Infinity while joined). {0, 0} when they never were.
 */
export function membershipSpan(hs: Homeserver, roomId: string, userId: string): { from: number; to: number; joined: boolean } {
  const id = hs.store.state.currentEventId(roomId, "m.room.member", userId);
  let event = id ? loadEvent(hs, id) : undefined;
  const joined = event?.pdu.content.membership === "join";
  let to = Infinity;
  if (event && !joined) {
    to = event.row.streamPos;
    const previous = event.row.replacesState ? loadEvent(hs, event.row.replacesState) : undefined;
    event = previous?.pdu.content.membership === "join" ? previous : undefined;
  }
  if (!event) return { from: 0, to: 0, joined: false };
  for (let previous = event.row.replacesState ? loadEvent(hs, event.row.replacesState) : undefined; previous?.pdu.content.membership === "join"; ) {
    event = previous;
    previous = event.row.replacesState ? loadEvent(hs, event.row.replacesState) : undefined;
  }
  return { from: event.row.streamPos, to, joined };
}

const add = (a: { notifications: number; highlights: number }, b: { notifications: number; highlights: number } | undefined) => ({
  notifications: a.notifications + (b?.notifications ?? 0),
  highlights: a.highlights + (b?.highlights ?? 0),
});

/**
 * After a read receipt of `userId` in `roomId` moved (in the receipt's
 * transaction): an unthreaded receipt recounts every thread, a threaded one
 * its own. Each thread counts what follows the later of the unthreaded receipt
 * and its own: the room's shared outcomes while the user was joined, and the
 * user's own rows.
 */
export function recountAfterReceipt(hs: Homeserver, roomId: string, userId: string, threadId: string): void {
  const { pushActions } = hs.store;
  const span = membershipSpan(hs, roomId, userId);
  const end = Math.min(span.to, Number.MAX_SAFE_INTEGER);
  // Nothing before the user's join counts (their invite, say), receipt or not (as Synapse).
  const base = Math.max(readPosition(hs, roomId, userId, ""), span.from);
  const countFrom = (thread: string, from: number) =>
    add(pushActions.sharedThreadBetween(roomId, thread, from, end, userId), pushActions.ownThreadAfter(userId, roomId, thread, from));
  if (threadId !== "") {
    const counts = countFrom(threadId, Math.max(base, readPosition(hs, roomId, userId, threadId)));
    pushActions.setCounts(userId, roomId, threadId, counts.notifications, counts.highlights, span.joined);
    return;
  }
  const fresh = new Map<string, { notifications: number; highlights: number }>();
  for (const row of pushActions.sharedBetween(roomId, base, end, userId)) fresh.set(row.threadId, row);
  for (const row of pushActions.ownAfter(userId, roomId, base)) fresh.set(row.threadId, add(row, fresh.get(row.threadId)));
  // Counts only fall after a receipt: threads now at zero stay there, the rest are set.
  const threads = new Set([...fresh.keys(), ...pushActions.counts(userId, roomId, span.joined).map((row) => row.threadId)]);
  for (const thread of threads) {
    const own = readPosition(hs, roomId, userId, thread);
    const counts = own > base ? countFrom(thread, own) : (fresh.get(thread) ?? { notifications: 0, highlights: 0 });
    pushActions.setCounts(userId, roomId, thread, counts.notifications, counts.highlights, span.joined);
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
  const joined = hs.store.state.joinedMembers(roomId).has(userId);
  for (const row of hs.store.pushActions.counts(userId, roomId, joined)) {
    if (perThread && row.threadId !== MAIN_THREAD) {
      threads[row.threadId] = { notification_count: row.notifications, highlight_count: row.highlights };
      continue;
    }
    total.notification_count += row.notifications;
    total.highlight_count += row.highlights;
  }
  return perThread ? { unread_notifications: total, unread_thread_notifications: threads } : { unread_notifications: total };
}
