// Client config / account data and room tags (spec: Client-Server API,
// "Client Config", "Room Tagging"). Each change takes a stream position and
// wakes the user's syncs.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden, notFound } from "../http/errors";

/** Types the server manages itself: clients must use their own endpoints (spec: "Client Config"). */
const SERVER_MANAGED = new Set(["m.fully_read", "m.push_rules"]);

export function requireOwnAccount(requesterId: string, userId: string): void {
  if (requesterId !== userId) throw forbidden("You cannot access another user's account data");
}

export function putAccountData(hs: Homeserver, userId: string, roomId: string, type: string, content: Record<string, unknown>): void {
  if (SERVER_MANAGED.has(type)) {
    throw new MatrixError(405, "M_BAD_JSON", `Cannot set ${type} through this API`);
  }
  writeAccountData(hs, userId, roomId, type, content);
}

/** The one write path for account data (tags and m.fully_read included). */
export function writeAccountData(hs: Homeserver, userId: string, roomId: string, type: string, content: Record<string, unknown>): void {
  if (roomId !== "" && !hs.store.rooms.get(roomId)) throw new MatrixError(404, "M_NOT_FOUND", "Unknown room");
  const streamPos = hs.store.transaction(() => {
    const pos = hs.store.stream.next();
    hs.store.accountData.put({ userId, roomId, type, content: JSON.stringify(content), streamPos: pos });
    return pos;
  });
  hs.notifier.notify([userId], streamPos);
}

/** The stored row of one account data type (undefined when never set). */
export function getAccountDataRow(hs: Homeserver, userId: string, roomId: string, type: string) {
  return hs.store.accountData.get(userId, roomId, type);
}

export function getAccountData(hs: Homeserver, userId: string, roomId: string, type: string): Record<string, unknown> {
  const row = hs.store.accountData.get(userId, roomId, type);
  if (!row) throw notFound("Account data not found");
  return JSON.parse(row.content);
}

export function getTags(hs: Homeserver, userId: string, roomId: string): { tags: Record<string, unknown> } {
  const row = hs.store.accountData.get(userId, roomId, "m.tag");
  return { tags: row ? ((JSON.parse(row.content) as { tags?: Record<string, unknown> }).tags ?? {}) : {} };
}

export function setTag(hs: Homeserver, userId: string, roomId: string, tag: string, content: Record<string, unknown>): void {
  if (Buffer.byteLength(tag) > 255) throw new MatrixError(400, "M_INVALID_PARAM", "Tag names are at most 255 bytes");
  if (content.order !== undefined && typeof content.order !== "number") {
    throw new MatrixError(400, "M_INVALID_PARAM", "order must be a number");
  }
  const { tags } = getTags(hs, userId, roomId);
  writeAccountData(hs, userId, roomId, "m.tag", { tags: { ...tags, [tag]: content } });
}

export function deleteTag(hs: Homeserver, userId: string, roomId: string, tag: string): void {
  const { tags } = getTags(hs, userId, roomId);
  const { [tag]: _removed, ...rest } = tags;
  writeAccountData(hs, userId, roomId, "m.tag", { tags: rest });
}
