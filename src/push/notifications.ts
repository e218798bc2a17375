// GET /notifications (spec: notifications.yaml): the events a user was notified
// about, newest first: the user's own notifying rows and the rooms' shared
// outcomes while the user was joined (less the events they have a row of their
// own for). The token is the stream position the next page starts before.
import type { Homeserver } from "../homeserver";
import { invalidParam } from "../http/errors";
import { toClientEvent } from "../rooms/client-format";
import { loadEvent } from "../rooms/room-state";
import type { NotificationRow } from "../store/push";
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
  const rows = limit === 0 ? [] : notificationRows(hs, userId, before, limit, query.only === "highlight");
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
  // More may follow when the page is full.
  const next = rows.length === limit && limit > 0 ? rows.at(-1)!.streamPos : 0;
  return { notifications, ...(next > 0 ? { next_token: String(next) } : {}) };
}

/**
 * The user's newest `limit` notifications before `before`: each source (own
 * rows, each joined span of a room) gives at most `limit`, newest first, and
 * the newest of them all make the page.
 */
function notificationRows(hs: Homeserver, userId: string, before: number, limit: number, onlyHighlight: boolean): NotificationRow[] {
  const { pushActions } = hs.store;
  const rows = pushActions.ownPage(userId, before, limit, onlyHighlight);
  for (const span of pushActions.joinedSpans(userId)) {
    const to = Math.min(span.toPos ?? Number.MAX_SAFE_INTEGER, before);
    if (span.fromPos < to) rows.push(...pushActions.sharedPage(userId, span.roomId, span.fromPos, to, limit, onlyHighlight));
  }
  rows.sort((a, b) => b.streamPos - a.streamPos);
  return rows.slice(0, limit);
}
