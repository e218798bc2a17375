// Sending message and state events, and redacting (spec: Client-Server API,
// "Sending events to a room", "Redactions").
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { appendEvent } from "./append";
import { isRoomAlias } from "./ids";
import { currentPowerLevels, currentStateEvent, loadEvent } from "./room-state";

/** PUT /send/{eventType}/{txnId}: idempotent per device, path and txnId. */
export function sendMessageEvent(hs: Homeserver, requester: Requester, roomId: string, type: string, txnId: string, content: Record<string, unknown>) {
  // An m.room.redaction sent this way (room v11 clients put `redacts` in content)
  // is a redaction like any other: it needs the same power check and must strip
  // its target, or a member could hide others' messages in every client without
  // the `redact` level (Synapse checks redactions however they are sent).
  if (type === "m.room.redaction") {
    if (typeof content.redacts !== "string") {
      throw new MatrixError(400, "M_INVALID_PARAM", "m.room.redaction needs content.redacts (or use PUT /redact)");
    }
    return redactEvent(hs, requester, roomId, content.redacts, txnId, typeof content.reason === "string" ? content.reason : undefined);
  }
  const event = appendEvent(hs, {
    roomId,
    sender: requester.userId,
    type,
    content,
    txn: { deviceId: requester.deviceId, txnId, scope: `send\u0000${roomId}\u0000${type}` },
  });
  return { event_id: event.eventId };
}

/** PUT /state/{eventType}/{stateKey}. */
export function sendStateEvent(hs: Homeserver, requester: Requester, roomId: string, type: string, stateKey: string, content: Record<string, unknown>) {
  if (type === "m.room.canonical_alias") checkCanonicalAlias(hs, roomId, content);
  const event = appendEvent(hs, { roomId, sender: requester.userId, type, stateKey, content });
  return { event_id: event.eventId };
}

/**
 * m.room.canonical_alias may only name aliases that exist and point to this room
 * (spec: "m.room.canonical_alias": 400 M_BAD_ALIAS otherwise). Only new aliases
 * are checked: "Servers do not validate aliases which are being removed or are
 * already present in the state event" (spec: room_state.yaml), so a room whose
 * alias was deleted from the directory can still edit its alt_aliases.
 */
function checkCanonicalAlias(hs: Homeserver, roomId: string, content: Record<string, unknown>): void {
  const previous = currentStateEvent(hs, roomId, "m.room.canonical_alias", "")?.pdu.content;
  const present = new Set<unknown>([previous?.alias, ...(Array.isArray(previous?.alt_aliases) ? previous.alt_aliases : [])]);
  const aliases: unknown[] = [];
  if (content.alias !== undefined && content.alias !== null) aliases.push(content.alias);
  if (content.alt_aliases !== undefined) {
    if (!Array.isArray(content.alt_aliases)) throw new MatrixError(400, "M_INVALID_PARAM", "alt_aliases must be a list");
    aliases.push(...content.alt_aliases);
  }
  for (const alias of aliases) {
    if (typeof alias === "string" && present.has(alias)) continue;
    if (typeof alias !== "string" || !isRoomAlias(alias)) throw new MatrixError(400, "M_INVALID_PARAM", `Invalid alias ${String(alias)}`);
    if (hs.store.rooms.aliasTarget(alias)?.roomId !== roomId) {
      throw new MatrixError(400, "M_BAD_ALIAS", `The alias ${alias} does not point to this room`);
    }
  }
}

/**
 * PUT /redact/{eventId}/{txnId}: senders may redact their own events; redacting
 * others' needs the room's `redact` power level (spec: "Redactions", room
 * versions "Handling redactions").
 */
export function redactEvent(hs: Homeserver, requester: Requester, roomId: string, targetId: string, txnId: string, reason?: string) {
  const txn = { deviceId: requester.deviceId, txnId, scope: `redact\u0000${roomId}` };
  const earlier = hs.store.transactions.find({ userId: requester.userId, ...txn });
  if (earlier) return { event_id: earlier };
  const target = loadEvent(hs, targetId);
  if (target && target.row.roomId === roomId && target.row.sender !== requester.userId) {
    const levels = currentPowerLevels(hs, roomId);
    if (levels.userLevel(requester.userId) < levels.redact) throw forbidden("You don't have permission to redact events of other users");
  }
  const event = appendEvent(hs, {
    roomId,
    sender: requester.userId,
    type: "m.room.redaction",
    content: reason !== undefined ? { reason } : {},
    redacts: targetId,
    txn,
  });
  return { event_id: event.eventId };
}
