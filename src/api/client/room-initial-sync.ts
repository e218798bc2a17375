// GET /rooms/{roomId}/initialSync (spec: room_initial_sync.yaml; deprecated, still called by Element).
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { parseLimit } from "../../http/query";
import { requireRoomId } from "../../rooms/ids";
import { roomInitialSync } from "../../rooms/initial-sync";

export function roomInitialSyncApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.room-initial-sync", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get(
      "/rooms/:roomId/initialSync",
      ({ params, query, requester }) =>
        roomInitialSync(hs, requireRoomId(params.roomId), { userId: requester.userId, deviceId: requester.deviceId }, parseLimit(query.limit) ?? 10),
      { params: t.Object({ roomId: t.String() }), query: t.Object({ limit: t.Optional(t.String()) }) },
    );
}
