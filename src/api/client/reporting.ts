// Reporting content (spec: Client-Server API, "Reporting content").
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { requireRoomId, requireUserId } from "../../rooms/ids";
import { reportEvent, reportRoom, reportUser } from "../../rooms/reports";

export function reportingApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.reporting", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post(
      "/rooms/:roomId/report/:eventId",
      ({ params, body, requester }) => {
        hs.store.transaction(() => reportEvent(hs, requester.userId, requireRoomId(params.roomId), params.eventId, body));
        return {};
      },
      {
        params: t.Object({ roomId: t.String(), eventId: t.String() }),
        body: t.Object({ reason: t.Optional(t.String()), score: t.Optional(t.Integer()) }),
      },
    )
    .post(
      "/rooms/:roomId/report",
      ({ params, body, requester }) => {
        hs.store.transaction(() => reportRoom(hs, requester.userId, requireRoomId(params.roomId), body.reason));
        return {};
      },
      { params: t.Object({ roomId: t.String() }), body: t.Object({ reason: t.String() }) },
    )
    .post(
      "/users/:userId/report",
      ({ params, body, requester }) => {
        hs.store.transaction(() => reportUser(hs, requester.userId, requireUserId(params.userId), body.reason));
        return {};
      },
      { params: t.Object({ userId: t.String() }), body: t.Object({ reason: t.String() }) },
    );
}
