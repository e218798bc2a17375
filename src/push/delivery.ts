// Delivery to push gateways (spec: Push Gateway API, POST /_matrix/push/v1/notify).
// It runs after the event's commit, off the send path: the request that sent
// the event never waits for a gateway. A failed delivery (network error, 5xx,
// 429) is retried with exponential back-off; pushkeys the gateway answers as
// `rejected` lose their pusher (spec: "Homeservers must cease sending
// notification requests for these pushkeys and remove the associated pushers").
import type { Homeserver } from "../homeserver";
import { outboundTls } from "../http/outbound";
import { loadEvent } from "../rooms/room-state";
import type { PusherRow } from "../store/push";
import { unreadNotifications } from "./counts";
import type { Notified } from "./actions";
import type { PushAction } from "./rules";

export interface PushDelivery {
  /** Queues the notifications of one committed event. */
  enqueue(eventId: string, notified: Notified[]): void;
  /**
   * Sends the user's new unread count alone (no event) to their gateways, after
   * a read receipt changed it (spec: push gateway "notify": "The counts may be
   * sent along with a notification about an event or by themselves").
   */
  updateCounts(userId: string): void;
  /** Resolves when nothing is in flight or waiting (tests and shutdown). */
  idle(): Promise<void>;
  close(): void;
}

/** Tweaks from a rule's actions (spec: "Actions": a highlight tweak without value is true). */
export function tweaksOf(actions: readonly unknown[]): Record<string, unknown> {
  const tweaks: Record<string, unknown> = {};
  for (const action of actions as PushAction[]) {
    if (typeof action === "object" && typeof action.set_tweak === "string") {
      tweaks[action.set_tweak] = action.set_tweak === "highlight" ? action.value !== false : action.value;
    }
  }
  return tweaks;
}

/** Unread notifications of a user across their joined rooms (the gateway's counts.unread). */
export function unreadTotal(hs: Homeserver, userId: string): number {
  let total = 0;
  for (const { roomId } of hs.store.state.roomsWithMembership(userId, ["join"])) {
    total += unreadNotifications(hs, roomId, userId, false).unread_notifications.notification_count;
  }
  return total;
}

/** The body sent to one pusher for one event, in the pusher's format (full or event_id_only). */
export function notifyBody(hs: Homeserver, pusher: PusherRow, eventId: string, notified: Notified): Record<string, unknown> | null {
  const event = loadEvent(hs, eventId);
  if (!event) return null;
  const { pdu } = event;
  const { url: _url, ...data } = JSON.parse(pusher.data) as Record<string, unknown>;
  const tweaks = tweaksOf(notified.actions);
  const unread = unreadTotal(hs, notified.userId);
  const notification: Record<string, unknown> = {
    event_id: eventId,
    room_id: pdu.room_id,
    // Low priority unless it sounds, highlights or cannot be read by the server (as Synapse).
    prio: tweaks.highlight === true || tweaks.sound !== undefined || pdu.type === "m.room.encrypted" ? "high" : "low",
    counts: unread > 0 ? { unread } : {},
    devices: [{ app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: pusher.pushkeyTs, data, tweaks }],
  };
  if (data.format !== "event_id_only") {
    notification.type = pdu.type;
    notification.sender = pdu.sender;
    notification.content = pdu.content;
    const member = hs.store.state.currentEventId(pdu.room_id, "m.room.member", pdu.sender);
    const name = member ? loadEvent(hs, member)?.pdu.content.displayname : undefined;
    if (typeof name === "string") notification.sender_display_name = name;
    const nameEvent = hs.store.state.currentEventId(pdu.room_id, "m.room.name", "");
    const roomName = nameEvent ? loadEvent(hs, nameEvent)?.pdu.content.name : undefined;
    if (typeof roomName === "string" && roomName !== "") notification.room_name = roomName;
    const aliasEvent = hs.store.state.currentEventId(pdu.room_id, "m.room.canonical_alias", "");
    const alias = aliasEvent ? loadEvent(hs, aliasEvent)?.pdu.content.alias : undefined;
    if (typeof alias === "string") notification.room_alias = alias;
    if (pdu.type === "m.room.member") notification.user_is_target = pdu.state_key === notified.userId;
  }
  return { notification };
}

export function createPushDelivery(hs: Homeserver): PushDelivery {
  const { max_attempts: maxAttempts, retry_initial_ms: retryInitialMs } = hs.config.push;
  const tls = outboundTls(hs.config);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let inFlight = 0;
  let closed = false;
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (inFlight === 0 && timers.size === 0) {
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    }
  };
  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) work();
      settle();
    }, ms);
    timers.add(timer);
  };

  /** One attempt; true when done (delivered, or not worth retrying). */
  const attempt = async (pusher: PusherRow, body: Record<string, unknown>): Promise<boolean> => {
    const url = (JSON.parse(pusher.data) as { url: string }).url;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
        ...(tls && url.startsWith("https:") ? { tls } : {}),
      });
    } catch (error) {
      hs.log.warn(`push to ${new URL(url).host} failed: ${(error as Error).message}`);
      return false;
    }
    if (response.status >= 500 || response.status === 429) return false;
    if (!response.ok) {
      hs.log.warn(`push gateway ${new URL(url).host} refused a notification: ${response.status}`);
      return true;
    }
    const answer = (await response.json().catch(() => ({}))) as { rejected?: unknown };
    if (Array.isArray(answer.rejected) && !closed) {
      for (const key of answer.rejected) {
        if (typeof key === "string") hs.store.transaction(() => hs.store.pushers.delete(pusher.appId, key, pusher.userId));
      }
    }
    return true;
  };

  const deliver = (pusher: PusherRow, body: Record<string, unknown>, attemptNo: number) => {
    inFlight++;
    attempt(pusher, body)
      .then((done) => {
        if (!done && attemptNo + 1 < maxAttempts && !closed) later(retryInitialMs * 2 ** attemptNo, () => deliver(pusher, body, attemptNo + 1));
      })
      .catch((error) => hs.log.warn(`push delivery failed: ${(error as Error).message}`))
      .finally(() => {
        inFlight--;
        settle();
      });
  };

  return {
    enqueue(eventId, notified) {
      const targets = notified.filter((n) => hs.store.pushers.hasAny(n.userId));
      if (targets.length === 0 || closed) return;
      // After the current turn: the bodies' counts then include this event.
      later(0, () => {
        for (const target of targets) {
          for (const pusher of hs.store.pushers.ofUser(target.userId)) {
            if (pusher.kind !== "http") continue;
            const body = notifyBody(hs, pusher, eventId, target);
            if (body) deliver(pusher, body, 0);
          }
        }
      });
    },
    updateCounts(userId) {
      if (closed || !hs.store.pushers.hasAny(userId)) return;
      later(0, () => {
        const unread = unreadTotal(hs, userId);
        for (const pusher of hs.store.pushers.ofUser(userId)) {
          if (pusher.kind !== "http") continue;
          const { url: _url, ...data } = JSON.parse(pusher.data) as Record<string, unknown>;
          const device = { app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: pusher.pushkeyTs, data };
          deliver(pusher, { notification: { prio: "low", counts: unread > 0 ? { unread } : {}, devices: [device] } }, 0);
        }
      });
    },
    idle: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      settle();
    },
  };
}
