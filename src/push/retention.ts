// Notifications are kept for push.notification_retention_days: room_push_actions
// holds a row per notifying event and event_push_actions one per member whose
// outcome differs from the room's, so neither may grow for ever. Older rows
// leave GET /notifications, and a read receipt's recount no longer sees them
// (as Synapse, which keeps push actions for a bounded time too). The unread
// counters of /sync are not touched until such a recount.
import type { Homeserver } from "../homeserver";

const BATCH = 10_000;
const INTERVAL_MS = 10 * 60 * 1000;

/** Deletes expired notifications in batches (each its own short transaction); returns how many. */
export function pruneNotifications(hs: Homeserver, now = Date.now()): number {
  const cutoff = now - hs.config.push.notification_retention_days * 24 * 60 * 60 * 1000;
  let total = 0;
  for (;;) {
    const deleted = hs.store.transaction(() => hs.store.pushActions.deleteOlderThan(cutoff, BATCH));
    total += deleted;
    if (deleted < BATCH) return total;
  }
}

/** Prunes now and every ten minutes; returns the function that stops it. */
export function startNotificationPruning(hs: Homeserver): () => void {
  const run = () => {
    try {
      pruneNotifications(hs);
    } catch (error) {
      hs.log.warn(`pruning notifications failed: ${(error as Error).message}`);
    }
  };
  const first = setTimeout(run, 1000);
  const timer = setInterval(run, INTERVAL_MS);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
