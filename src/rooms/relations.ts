// Event relationships (spec: Client-Server API, "Forming relationships between
// events", "Threading"): recording a child's relation as it is appended,
// checking m.thread, forgetting it on redaction, and GET /relations.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { toClientEventsWithRelations } from "./aggregations";
import type { ClientEvent, Viewer } from "./client-format";
import { MAX_PAGE } from "./reading";
import { eventOfRow, loadEvent, type StoredEvent } from "./room-state";
import { positionToken } from "./tokens";
import { canSeeEvent, readBound, requireVisibleEvent, roomAccess, type RoomAccess } from "./visibility";

export interface Relation {
  relType: string;
  eventId: string;
}

/**
 * The relation an event's content forms: `m.relates_to` with both `rel_type`
 * and `event_id` (spec: "Relationship types"). A rich reply's `m.in_reply_to`
 * alone is not one. Encrypted events carry `m.relates_to` in the clear, so the
 * same rule covers them (spec: "Relationships and encryption").
 */
export function relationOf(content: Record<string, unknown>): Relation | undefined {
  const relatesTo = content["m.relates_to"];
  if (typeof relatesTo !== "object" || relatesTo === null || Array.isArray(relatesTo)) return undefined;
  const { rel_type: relType, event_id: eventId } = relatesTo as Record<string, unknown>;
  if (typeof relType !== "string" || typeof eventId !== "string") return undefined;
  return { relType, eventId };
}

/**
 * Refuses a relation the spec forbids, before the event is built. The parent
 * must be in the same room ("the event_id ... of an event in the same room").
 * A thread cannot start from an event that itself has a relation: "the server
 * should reject ... with HTTP 400 ... M_UNKNOWN" (spec: "Validation of m.thread
 * relationships"). An unknown parent is not checked (as Synapse).
 */
export function checkRelation(hs: Homeserver, roomId: string, content: Record<string, unknown>): void {
  const relation = relationOf(content);
  if (!relation) return;
  const parent = loadEvent(hs, relation.eventId);
  if (!parent) return;
  if (parent.row.roomId !== roomId) throw new MatrixError(400, "M_UNKNOWN", "Relations must point to an event in the same room");
  if (relation.relType === "m.thread" && relationOf(parent.pdu.content) !== undefined) {
    throw new MatrixError(400, "M_UNKNOWN", "Cannot start a thread from an event that has a relation");
  }
}

/** Records the relation of a stored event, in the appendEvent transaction. */
export function recordRelation(hs: Homeserver, event: StoredEvent): void {
  const relation = relationOf(event.pdu.content);
  if (!relation) return;
  const { row } = event;
  hs.store.relations.insert({
    eventId: row.eventId,
    relatesTo: relation.eventId,
    relType: relation.relType,
    roomId: row.roomId,
    type: row.type,
    sender: row.sender,
    streamPos: row.streamPos,
  });
}

/** A redacted child no longer relates to anything: redaction strips `m.relates_to`. */
export function forgetRelation(hs: Homeserver, eventId: string): void {
  hs.store.relations.delete(eventId);
}

/** Homeservers "SHOULD traverse at least 3 levels of relationships" (spec: relations.yaml `recurse`). */
export const RECURSION_DEPTH = 3;
const DEFAULT_LIMIT = 5;

export interface RelationsRequest {
  relType?: string;
  eventType?: string;
  from?: number;
  to?: number;
  dir: "f" | "b";
  limit?: number;
  recurse?: boolean;
}

/** The user's access to a room, where the spec wants 404 rather than 403 for a room they cannot read. */
function accessOr404(hs: Homeserver, roomId: string, userId: string): RoomAccess {
  try {
    return roomAccess(hs, roomId, userId);
  } catch (error) {
    if (error instanceof MatrixError && error.status === 403) throw notFound("Event not found");
    throw error;
  }
}

/**
 * GET /relations/{eventId}[/{relType}[/{eventType}]] (spec: relations.yaml): the
 * children of a parent the user may see, newest first by default, only those
 * the user may see. Tokens are stream points like /messages' ("s<N>"), so a
 * /messages or /sync token works as `from` or `to`.
 */
export function relatedEvents(hs: Homeserver, roomId: string, parentId: string, viewer: Viewer, request: RelationsRequest) {
  const access = accessOr404(hs, roomId, viewer.userId);
  requireVisibleEvent(hs, viewer.userId, loadEvent(hs, parentId), roomId);
  const bound = readBound(hs, access);
  const parents = request.recurse ? relationTree(hs, roomId, parentId, bound.untilPos) : [parentId];
  const limit = Math.min(request.limit ?? DEFAULT_LIMIT, MAX_PAGE);
  const backwards = request.dir === "b";
  let cursor = Math.min(request.from ?? (backwards ? bound.untilPos : 0), bound.untilPos);
  const stopAt = backwards ? (request.to ?? 0) : Math.min(request.to ?? bound.untilPos, bound.untilPos);
  const chunk: StoredEvent[] = [];
  let exhausted = false;
  while (chunk.length < limit && !exhausted) {
    const batch = Math.max(limit - chunk.length, 20);
    const rows = hs.store.relations.children(roomId, parents, {
      relType: request.relType,
      eventType: request.eventType,
      fromPos: cursor,
      toPos: stopAt,
      dir: request.dir,
      limit: batch,
    });
    if (rows.length < batch) exhausted = true;
    for (const row of rows) {
      cursor = backwards ? row.streamPos - 1 : row.streamPos;
      const event = eventOfRow(hs, row);
      if (!canSeeEvent(hs, viewer.userId, event, bound.joinedSince)) continue;
      chunk.push(event);
      if (chunk.length === limit) break;
    }
  }
  const response: { chunk: ClientEvent[]; next_batch?: string; prev_batch?: string; recursion_depth?: number } = {
    chunk: toClientEventsWithRelations(hs, chunk, viewer, bound),
  };
  const more = !exhausted || chunk.length === limit;
  if (more && (backwards ? cursor > stopAt : cursor < stopAt)) response.next_batch = positionToken(cursor);
  if (request.from !== undefined) response.prev_batch = positionToken(request.from);
  if (request.recurse) response.recursion_depth = RECURSION_DEPTH;
  return response;
}

/** The parent and its descendants down to RECURSION_DEPTH - 1 levels: the parents whose children /relations returns. */
function relationTree(hs: Homeserver, roomId: string, rootId: string, untilPos: number): string[] {
  const seen = new Set([rootId]);
  let level = [rootId];
  for (let depth = 1; depth < RECURSION_DEPTH && level.length > 0; depth++) {
    // `seen` guards against loops, which federation could one day bring.
    level = hs.store.relations.childIds(roomId, level, untilPos).filter((id) => !seen.has(id));
    for (const id of level) seen.add(id);
  }
  return [...seen];
}
