// Events as clients see them (spec: Client-Server API, "Room Events", ClientEvent):
// event_id and room_id added, unsigned with age, transaction_id for the sender's
// own device, prev_content/replaces_state for state, redacted_because.
import type { Homeserver } from "../homeserver";
import { now } from "../util/time";
import { loadEvent, type StoredEvent } from "./room-state";

export interface ClientEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  unsigned: Record<string, unknown>;
}

export interface Viewer {
  userId: string;
  deviceId?: string;
}

/**
 * "client": ClientEvent; "sync": without room_id (spec: sync.yaml
 * ClientEventWithoutRoomID), built without it rather than copied without it.
 */
export type EventFormat = "client" | "sync";

export function toClientEvent(hs: Homeserver, event: StoredEvent, viewer: Viewer | null, depthLeft = 1, format: EventFormat = "client"): ClientEvent {
  const { pdu, row } = event;
  const unsigned: Record<string, unknown> = { age: Math.max(0, now() - pdu.origin_server_ts) };
  const out: ClientEvent =
    format === "client"
      ? { event_id: event.eventId, room_id: pdu.room_id, type: pdu.type, sender: pdu.sender, origin_server_ts: pdu.origin_server_ts, content: pdu.content, unsigned }
      : ({ event_id: event.eventId, type: pdu.type, sender: pdu.sender, origin_server_ts: pdu.origin_server_ts, content: pdu.content, unsigned } as ClientEvent);
  if (pdu.state_key !== undefined) out.state_key = pdu.state_key;
  if (pdu.type === "m.room.redaction") {
    // Room version 11 moved `redacts` into content; clients of either kind find it in both places.
    const redacts = (pdu.content.redacts as string | undefined) ?? pdu.redacts;
    if (redacts !== undefined) {
      out.redacts = redacts;
      if (pdu.content.redacts === undefined && !row.redactedBy) out.content = { ...pdu.content, redacts };
    }
  }
  if (viewer && row.txnDeviceId && row.txnId && viewer.userId === pdu.sender && viewer.deviceId === row.txnDeviceId) {
    unsigned.transaction_id = row.txnId;
  }
  if (row.replacesState) {
    unsigned.replaces_state = row.replacesState;
    const previous = loadEvent(hs, row.replacesState);
    if (previous) {
      unsigned.prev_content = previous.pdu.content;
      unsigned.prev_sender = previous.pdu.sender;
    }
  }
  if (row.redactedBy && depthLeft > 0) {
    const redaction = loadEvent(hs, row.redactedBy);
    if (redaction) unsigned.redacted_because = toClientEvent(hs, redaction, viewer, depthLeft - 1);
  }
  return out;
}

/**
 * An event in sync format (no room_id) as any reader but its sender sees it.
 * One commit wakes every long-poll of the room's members, and each would build
 * the same objects: they are built once and handed to every reader for up to
 * SHARED_SYNC_EVENT_MS, so `unsigned.age` ("the time in milliseconds that has
 * elapsed since the event was sent") may be that much short. The sender
 * (transaction_id for their device) and redacted events (redacted_because may
 * carry the reader's own transaction_id) are built for each reader. The
 * objects are never changed once built.
 */
export function toSyncEvent(hs: Homeserver, event: StoredEvent, viewer: Viewer): ClientEvent {
  if (viewer.userId === event.pdu.sender || event.row.redactedBy) return toClientEvent(hs, event, viewer, 1, "sync");
  const at = now();
  const known = sharedSyncEvents.get(event);
  if (known && at - known.builtAt <= SHARED_SYNC_EVENT_MS) return known.event;
  const built = toClientEvent(hs, event, null, 1, "sync");
  sharedSyncEvents.set(event, { builtAt: at, event: built });
  return built;
}

const SHARED_SYNC_EVENT_MS = 50;
/** Keyed by the parsed event: a redaction replaces it in the event cache (forgetCachedEvent), and with it its entry here. */
const sharedSyncEvents = new WeakMap<StoredEvent, { builtAt: number; event: ClientEvent }>();
