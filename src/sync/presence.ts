// Presence (spec: Client-Server API, "Presence"): online / unavailable / offline
// with a status message, shared only with users who share a room. Set explicitly
// or through /sync's set_presence; each change takes a stream position.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden, notFound } from "../http/errors";
import { notifyUsersSharingARoom, sharesARoom } from "../rooms/room-state";
import { typeIncluded, type EventFilter } from "./filter";

export const PRESENCE_STATES = new Set(["online", "unavailable", "offline"]);
/** A user active within this long counts as currently_active (Synapse uses 60 s too). */
const ACTIVE_WINDOW_MS = 60_000;
/** last_active is refreshed in storage at most this often when nothing else changes. */
const LAST_ACTIVE_WRITE_INTERVAL_MS = 60_000;

export function setPresence(hs: Homeserver, userId: string, state: string, statusMsg?: string | null, fromSync = false): void {
  if (!hs.config.presence_enabled) return;
  if (!PRESENCE_STATES.has(state)) throw new MatrixError(400, "M_INVALID_PARAM", `Unknown presence state ${state}`);
  const existing = hs.store.presence.get(userId);
  const now = Date.now();
  const message = statusMsg === undefined ? (existing?.statusMsg ?? null) : statusMsg;
  if (fromSync && existing) {
    // A sync that sets presence only refreshes activity; it does not override an
    // explicit "unavailable" with "online" unless the state really differs.
    const sameState = existing.state === state;
    if (sameState && now - existing.lastActiveTs < LAST_ACTIVE_WRITE_INTERVAL_MS) return;
  }
  const pos = hs.store.transaction(() => {
    const streamPos = hs.store.stream.next();
    hs.store.presence.put({ userId, state, statusMsg: message, lastActiveTs: now, streamPos });
    return streamPos;
  });
  notifyUsersSharingARoom(hs, userId, pos);
}

/**
 * A long-poll woken at `position` by a presence change, with nothing else for
 * the user since: sliding sync, and /sync with a filter without m.presence, go
 * back to waiting instead of building again. Every member's first sync of the
 * minute changes their presence and wakes everyone sharing a room with them.
 */
export function presenceOnlyWake(hs: Homeserver, userId: string, position: number, typing: number): boolean {
  return position > 0 && position === hs.store.presence.latestPos() && hs.notifier.nothingSince(userId, position, typing);
}

export function presenceContent(row: { state: string; statusMsg: string | null; lastActiveTs: number }) {
  const ago = Math.max(0, Date.now() - row.lastActiveTs);
  return {
    presence: row.state,
    last_active_ago: ago,
    currently_active: row.state === "online" && ago < ACTIVE_WINDOW_MS,
    ...(row.statusMsg ? { status_msg: row.statusMsg } : {}),
  };
}

export function getPresence(hs: Homeserver, requesterId: string, userId: string) {
  if (!hs.store.users.get(userId)) throw notFound("Unknown user");
  if (!sharesARoom(hs, userId, requesterId)) throw forbidden("You do not share a room with this user");
  const row = hs.store.presence.get(userId);
  if (!row || !hs.config.presence_enabled) return { presence: "offline" };
  const { currently_active, ...rest } = presenceContent(row);
  return { ...rest, currently_active };
}

/**
 * m.presence events for /sync: changes in (from, to] of users sharing a room with
 * the syncing user; none when the filter leaves m.presence out. Each change is
 * checked on its own: a window holds a few, while the users sharing a room with
 * someone in a big room are thousands.
 */
export function presenceEvents(hs: Homeserver, userId: string, from: number, to: number, filter?: EventFilter): unknown[] {
  if (!hs.config.presence_enabled || !typeIncluded(filter, "m.presence")) return [];
  const rows = hs.store.presence.changed(from, to);
  if (rows.length === 0) return [];
  return rows.filter((row) => sharesARoom(hs, userId, row.userId)).map((row) => ({ type: "m.presence", sender: row.userId, content: presenceContent(row) }));
}
