// Receipts and read markers (spec: Client-Server API, "Receipts", "Fully read markers").
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { loadEvent } from "../rooms/room-state";
import { requireVisibleEvent } from "../rooms/visibility";
import { writeAccountData } from "./account-data";
import { recountAfterReceipt } from "../push/counts";

export const RECEIPT_TYPES = new Set(["m.read", "m.read.private", "m.fully_read"]);

export function sendReceipt(hs: Homeserver, userId: string, roomId: string, receiptType: string, eventId: string, threadId?: string): void {
  if (!RECEIPT_TYPES.has(receiptType)) throw new MatrixError(400, "M_INVALID_PARAM", `Unknown receipt type ${receiptType}`);
  if (threadId !== undefined && (typeof threadId !== "string" || threadId === "")) {
    throw new MatrixError(400, "M_INVALID_PARAM", "thread_id must be a non-empty string");
  }
  const event = requireVisibleEvent(hs, userId, loadEvent(hs, eventId), roomId);
  // m.fully_read through the receipt endpoint is the read marker (spec: "Receipts").
  if (receiptType === "m.fully_read") {
    if (threadId !== undefined) throw new MatrixError(400, "M_INVALID_PARAM", "m.fully_read cannot be threaded");
    writeAccountData(hs, userId, roomId, "m.fully_read", { event_id: event.eventId });
    return;
  }
  const thread = threadId === "main" ? "main" : (threadId ?? "");
  // Receipts never move backwards (as Synapse): an older event keeps the newer receipt.
  const existing = hs.store.receipts.get(roomId, receiptType, userId, thread);
  if (existing) {
    const previous = hs.store.events.get(existing.eventId);
    if (previous && previous.streamPos >= event.row.streamPos) return;
  }
  const streamPos = hs.store.transaction(() => {
    const pos = hs.store.stream.next();
    hs.store.receipts.put({ roomId, receiptType, userId, threadId: thread, eventId: event.eventId, ts: Date.now(), streamPos: pos });
    // Notifications up to the receipt are read (spec: "Marking notifications as read").
    recountAfterReceipt(hs, roomId, userId, thread);
    return pos;
  });
  // The user's phones show the lower count (badge) once the receipt is stored.
  hs.store.afterCommit(() => hs.pushDelivery.updateCounts(userId));
  // Private receipts concern only their owner; public ones every member.
  hs.notifier.notify(receiptType === "m.read.private" ? [userId] : hs.store.state.joinedMembers(roomId), streamPos);
}

/** POST /read_markers: the fully-read marker and, optionally, read receipts in one call. */
export function setReadMarkers(hs: Homeserver, userId: string, roomId: string, markers: { fullyRead?: string; read?: string; readPrivate?: string }): void {
  if (!hs.store.rooms.get(roomId)) throw notFound("Unknown room");
  if (markers.fullyRead) sendReceipt(hs, userId, roomId, "m.fully_read", markers.fullyRead);
  if (markers.read) sendReceipt(hs, userId, roomId, "m.read", markers.read);
  if (markers.readPrivate) sendReceipt(hs, userId, roomId, "m.read.private", markers.readPrivate);
}
