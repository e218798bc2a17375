// GET /admin/whois/{userId} (spec: Client-Server API, "Server Administration"):
// "Gets information about a particular user. This API may be restricted to only
// be called by the user's own account, or by a server admin" — as Synapse, both
// may. Devices -> sessions -> connections; this server keeps one connection per
// device (the last seen address and time) and does not record user agents.
import type { Requester } from "./credentials";
import type { Homeserver } from "../homeserver";
import { forbidden, notFound } from "../http/errors";

interface Connection {
  ip?: string;
  last_seen?: number;
  user_agent?: string;
}

export function whois(hs: Homeserver, requester: Requester, userId: string) {
  if (!requester.isAdmin && requester.userId !== userId) throw forbidden("You are not a server admin");
  if (!hs.store.users.get(userId)) throw notFound("User not found");
  const devices: Record<string, { sessions: { connections: Connection[] }[] }> = {};
  for (const device of hs.store.devices.list(userId)) {
    const connections: Connection[] = [];
    if (device.lastSeenIp !== null || device.lastSeenTs !== null) {
      const connection: Connection = {};
      if (device.lastSeenIp !== null) connection.ip = device.lastSeenIp;
      if (device.lastSeenTs !== null) connection.last_seen = device.lastSeenTs;
      connections.push(connection);
    }
    devices[device.deviceId] = { sessions: [{ connections }] };
  }
  return { user_id: userId, devices };
}
