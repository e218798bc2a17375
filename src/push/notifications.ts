// GET /notifications (spec: notifications.yaml): the events a user was notified
// about, newest first. The token is the position in event_push_actions where the
// next page starts.
import type { Homeserver } from "../homeserver";
import { invalidParam } from "../http/errors";
import { toClientEvent } from "../rooms/client-format";
import { loadEvent } from "../rooms/room-state";
import { readPosition } from "./counts";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

export function listNotifications(hs: Homeserver, userId: string, query: { from?: string; limit?: number; only?: string }) {
  let before = Number.MAX_SAFE_INTEGER;
  if (query.from !== undefined) {
    if (!/^[0-9]+$/.test(query.from)) throw invalidParam("from is not a token this server gave out");
    before = Number(query.from);
  }
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  // Only "highlight" is defined; other values filter nothing (as Synapse).
  const { rows, scannedTo } = limit === 0 ? { rows: [], scannedTo: 0 } : hs.store.pushActions.page(userId, before, limit, query.only === "highlight");
  // Read: at or before the read receipt of the room, or of the event's thread.
  const readPositions = new Map<string, number>();
  const readUpTo = (roomId: string, threadId: string) => {
    const key = `${roomId}\u0000${threadId}`;
    let pos = readPositions.get(key);
    if (pos === undefined) readPositions.set(key, (pos = Math.max(readPosition(hs, roomId, userId, ""), readPosition(hs, roomId, userId, threadId))));
    return pos;
  };
  const notifications = [];
  for (const row of rows) {
    const event = loadEvent(hs, row.eventId);
    if (!event) continue;
    const { room_id: _roomId, ...clientEvent } = toClientEvent(hs, event, { userId });
    notifications.push({
      actions: JSON.parse(row.actions) as unknown[],
      event: clientEvent,
      read: row.streamPos <= readUpTo(row.roomId, row.threadId),
      room_id: row.roomId,
      ts: row.ts,
    });
  }
  // More may follow: the page is full, or the look stopped before the start of the table.
  const next = rows.length === limit ? rows.at(-1)!.id : scannedTo;
  return { notifications, ...(next > 0 ? { next_token: String(next) } : {}) };
}
