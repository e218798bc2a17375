// The one way an event enters a room (DESIGN.md "Events and rooms"): build the
// PDU on the forward extremity, select its auth events, check the room version's
// authorization rules against the current state, hash and sign, then persist the
// event, the state change and its stream position in one transaction, and wake
// the members after commit. createRoom, send, state, membership, redaction and
// profile propagation all come through here.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden, notFound } from "../http/errors";
import { canonicalJson } from "../util/canonical-json";
import { now } from "../util/time";
import { AuthRuleError, authEventKeys, checkAuthRules } from "./auth-rules";
import { finishEvent, type Pdu, type UnsignedPdu } from "./event-format";
import { redactEvent } from "./redaction";
import { currentStateLookup, forgetCachedEvent, loadEvent, type StoredEvent } from "./room-state";
import { roomVersionRules, type RoomVersionRules } from "./room-versions";
import { checkRelation, forgetRelation, recordRelation } from "./relations";
import { indexForSearch, unindexForSearch } from "./search";
import { recordPushActions } from "../push/actions";

/** Spec: "Size limits": an event, as sent over federation, must not exceed 65536 bytes. */
export const MAX_EVENT_BYTES = 65536;

export interface NewEvent {
  roomId: string;
  sender: string;
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  /** For m.room.redaction: the event it redacts. */
  redacts?: string;
  /** Idempotency: the same (device, scope, txnId) returns the first event again. */
  txn?: { deviceId: string; txnId: string; scope: string };
}

export function roomRulesOf(hs: Homeserver, roomId: string): RoomVersionRules {
  const room = hs.store.rooms.get(roomId);
  if (!room) throw notFound("Unknown room");
  return roomVersionRules(room.roomVersion)!;
}

/**
 * Appends an event and returns it. Throws 403 M_FORBIDDEN naming the auth rule
 * that refused it, 404 for an unknown room, 413 M_TOO_LARGE over the size limit.
 */
export function appendEvent(hs: Homeserver, event: NewEvent): StoredEvent {
  const { store } = hs;
  // Every refusal comes from the checks, before anything is written (see writeAfterChecks).
  return store.writeAfterChecks(() => checkNewEvent(hs, event), (checked) => {
    if ("earlier" in checked) return checked.earlier;
    return storeNewEvent(hs, event, checked);
  });
}

type CheckedEvent = { pdu: Pdu; eventId: string; json: string; content: Record<string, unknown>; replacesState: string | null };

/**
 * Builds the event and checks it: the room exists, its relation is allowed, the
 * authorization rules pass, it is canonical JSON within the size limit. Or finds
 * the event of the same transaction sent before. Reads only.
 */
function checkNewEvent(hs: Homeserver, event: NewEvent): CheckedEvent | { earlier: StoredEvent } {
  const { store } = hs;
  if (event.txn) {
    const earlier = store.transactions.find({ userId: event.sender, ...event.txn });
    if (earlier) return { earlier: loadEvent(hs, earlier)! };
  }
  const room = store.rooms.get(event.roomId);
  if (!room) throw notFound("Unknown room");
  const rules = roomVersionRules(room.roomVersion)!;
  const state = currentStateLookup(hs, event.roomId);
  checkRelation(hs, event.roomId, event.content);

  const content = { ...event.content };
  const draft: UnsignedPdu = {
    room_id: event.roomId,
    sender: event.sender,
    type: event.type,
    content,
    origin_server_ts: now(),
    prev_events: room.lastEventId ? [room.lastEventId] : [],
    auth_events: [],
    depth: room.lastDepth + 1,
  };
  if (event.stateKey !== undefined) draft.state_key = event.stateKey;
  if (event.redacts !== undefined) {
    // v11 moved `redacts` into content; earlier versions keep it at the top level.
    if (rules.redactsInContent) content.redacts = event.redacts;
    else draft.redacts = event.redacts;
  }
  draft.auth_events = authEventKeys(draft as Pdu)
    .map(([type, stateKey]) => state.eventIdOf(type, stateKey))
    .filter((id): id is string => id !== undefined);

  const isFirstAfterCreate = draft.prev_events.length === 1 && room.lastDepth === 1;
  try {
    checkAuthRules(draft as Pdu, state, rules, isFirstAfterCreate);
  } catch (error) {
    if (error instanceof AuthRuleError) throw forbidden(error.message);
    throw error;
  }

  let finished: ReturnType<typeof finishEvent>;
  try {
    finished = finishEvent(draft, rules, hs.config.server_name, hs.signingKey);
  } catch (error) {
    // Canonical JSON has no floats and no integers beyond ±(2^53 - 1) (spec appendix
    // "Canonical JSON"): such content cannot be hashed or signed.
    if (error instanceof TypeError) throw new MatrixError(400, "M_BAD_JSON", `Event content is not canonical JSON: ${error.message}`);
    throw error;
  }
  const { pdu, eventId, json } = finished;
  if (Buffer.byteLength(json) > MAX_EVENT_BYTES) {
    throw new MatrixError(413, "M_TOO_LARGE", `Event is larger than ${MAX_EVENT_BYTES} bytes`);
  }
  const replacesState = event.stateKey !== undefined ? (state.eventIdOf(event.type, event.stateKey) ?? null) : null;
  return { pdu, eventId, json, content, replacesState };
}

/** Stores a checked event: the event, its state change, relation, search entry, push actions; wakes the members after commit. */
function storeNewEvent(hs: Homeserver, event: NewEvent, { pdu, eventId, json, content, replacesState }: CheckedEvent): StoredEvent {
  const { store } = hs;
  const streamPos = store.stream.next();
  const row = {
    streamPos,
    eventId,
    roomId: event.roomId,
    type: event.type,
    stateKey: event.stateKey ?? null,
    sender: event.sender,
    originServerTs: pdu.origin_server_ts,
    pdu: json,
    replacesState,
    redactedBy: null,
    txnDeviceId: event.txn?.deviceId ?? null,
    txnId: event.txn?.txnId ?? null,
    containsUrl: typeof content.url === "string",
  };
  store.events.insert(row);
  const stored: StoredEvent = { eventId, pdu, row };
  recordRelation(hs, stored);
  indexForSearch(hs, stored);
  if (event.stateKey !== undefined) {
    const membership = event.type === "m.room.member" ? (content.membership as string) : null;
    store.state.set(event.roomId, { type: event.type, stateKey: event.stateKey, eventId }, streamPos, membership);
  }
  store.rooms.setLastEvent(event.roomId, eventId, pdu.depth);
  if (event.txn) store.transactions.record({ userId: event.sender, ...event.txn }, eventId);
  if (event.type === "m.room.redaction" && event.redacts !== undefined) applyRedaction(hs, event.roomId, event.redacts, eventId);
  // Push rules for every member, in this transaction: the counts change with the event (spec: "Server behaviour").
  const notified = recordPushActions(hs, eventId, pdu, streamPos, row.replacesState);

  // The joined members hear of every event; the target of a membership change
  // (invited, kicked, banned, leaving) hears of its own.
  store.afterCommit(() => {
    hs.notifier.notifyCoalesced(store.state.joinedMembers(event.roomId), streamPos);
    if (event.type === "m.room.member" && event.stateKey !== undefined) hs.notifier.notify([event.stateKey], streamPos);
    if (notified.length > 0) hs.pushDelivery.enqueue(eventId, notified);
  });
  return stored;
}

/**
 * Strips the target's content in storage (spec: room versions, "Redactions"):
 * only the redacted form is kept. Ignored when the target is unknown or in
 * another room, as the redaction event itself still stands.
 */
function applyRedaction(hs: Homeserver, roomId: string, targetId: string, redactionId: string): void {
  const target = loadEvent(hs, targetId);
  if (!target || target.row.roomId !== roomId || target.row.redactedBy) return;
  const rules = roomRulesOf(hs, roomId);
  const redacted = redactEvent(target.pdu as unknown as Record<string, unknown>, rules);
  hs.store.events.markRedacted(targetId, canonicalJson(redacted), redactionId);
  forgetCachedEvent(hs, targetId);
  // The redacted content no longer relates to anything nor can be searched for.
  forgetRelation(hs, targetId);
  unindexForSearch(hs, target.row.streamPos);
}
