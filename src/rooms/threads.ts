// GET /rooms/{roomId}/threads (spec: threads_list.yaml, "Querying threads in a
// room"): the thread roots of a room the user may see, most recent activity
// first, each with its bundled aggregations.
import type { Homeserver } from "../homeserver";
import { toClientEventsWithRelations } from "./aggregations";
import type { ClientEvent, Viewer } from "./client-format";
import { loadEvent, type StoredEvent } from "./room-state";
import { positionToken } from "./tokens";
import { canSeeEvent, readBound, roomAccess } from "./visibility";

export const DEFAULT_THREADS_LIMIT = 10;
const MAX_THREADS_LIMIT = 100;

export interface ThreadsRequest {
  include: "all" | "participated";
  /** Continue with threads whose latest activity is before this stream position. */
  from?: number;
  limit?: number;
}

/**
 * Threads are ordered by their latest event up to what the user may read, so a
 * former member sees the order as it was when they left. The `next_batch`
 * token is the latest-activity position of the last thread returned.
 */
export function threadRoots(hs: Homeserver, roomId: string, viewer: Viewer, request: ThreadsRequest) {
  const bound = readBound(hs, roomAccess(hs, roomId, viewer.userId));
  const limit = Math.min(request.limit ?? DEFAULT_THREADS_LIMIT, MAX_THREADS_LIMIT);
  let before = request.from ?? Number.MAX_SAFE_INTEGER;
  const roots: StoredEvent[] = [];
  let exhausted = false;
  while (roots.length < limit && !exhausted) {
    const batch = Math.max(limit - roots.length, 20);
    const threads = hs.store.relations.threads(roomId, {
      untilPos: bound.untilPos,
      beforePos: before,
      limit: batch,
      participatedBy: request.include === "participated" ? viewer.userId : undefined,
    });
    if (threads.length < batch) exhausted = true;
    for (const thread of threads) {
      before = thread.latestPos;
      const root = loadEvent(hs, thread.rootId);
      if (!root || root.row.roomId !== roomId || root.row.streamPos > bound.untilPos) continue;
      if (!canSeeEvent(hs, viewer.userId, root, bound.joinedSince)) continue;
      roots.push(root);
      if (roots.length === limit) break;
    }
  }
  const response: { chunk: ClientEvent[]; next_batch?: string } = { chunk: toClientEventsWithRelations(hs, roots, viewer, bound) };
  if (!exhausted || roots.length === limit) response.next_batch = positionToken(before);
  return response;
}
