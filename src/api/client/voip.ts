// Voice over IP (spec: Client-Server API, "Voice over IP"): TURN credentials.
import { Elysia } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { now } from "../../util/time";
import { turnServerFor } from "../../voip/turn-server";

export function voipApi(hs: Homeserver, prefix: string) {
  // Guests may call too (Synapse's default turn_allow_guests).
  return new Elysia({ name: "api.voip", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/voip/turnServer", ({ requester }) => turnServerFor(hs, requester.userId, now()));
}
