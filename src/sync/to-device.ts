// Send-to-device messaging (spec: Client-Server API, "Send-to-Device messaging").
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { isUserId, serverNameOf } from "../rooms/ids";

/**
 * Queues messages for devices; `*` means every device of the user. Idempotent per
 * (device, txnId). Remote users are skipped until federation exists.
 */
export function sendToDevice(hs: Homeserver, requester: Requester, type: string, txnId: string, messages: Record<string, Record<string, unknown>>): void {
  const scope = `sendToDevice\u0000${type}`;
  const txn = { userId: requester.userId, deviceId: requester.deviceId, scope, txnId };
  if (hs.store.transactions.find(txn) !== undefined) return;
  const targets = new Set<string>();
  const lastPos = hs.store.transaction(() => {
    let pos = 0;
    for (const [userId, byDevice] of Object.entries(messages)) {
      if (!isUserId(userId)) throw new MatrixError(400, "M_INVALID_PARAM", `Invalid user id ${userId}`);
      if (typeof byDevice !== "object" || byDevice === null) throw new MatrixError(400, "M_BAD_JSON", "messages must map users to devices");
      if (serverNameOf(userId) !== hs.config.server_name) continue;
      for (const [deviceId, content] of Object.entries(byDevice)) {
        if (typeof content !== "object" || content === null || Array.isArray(content)) {
          throw new MatrixError(400, "M_BAD_JSON", "each message must be a JSON object");
        }
        const deviceIds = deviceId === "*" ? hs.store.devices.list(userId).map((d) => d.deviceId) : [deviceId];
        for (const target of deviceIds) {
          pos = hs.store.stream.next();
          hs.store.toDevice.insert({ streamPos: pos, userId, deviceId: target, sender: requester.userId, type, content: JSON.stringify(content) });
          targets.add(userId);
        }
      }
    }
    hs.store.transactions.record(txn, "");
    return pos;
  });
  if (targets.size > 0) hs.notifier.notify(targets, lastPos);
}
