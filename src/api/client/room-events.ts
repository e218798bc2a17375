// Sending and reading room events (spec: Client-Server API, "Sending events to a
// room", "Getting events for a room", "Redactions").
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError, notFound } from "../../http/errors";
import { parseLimit } from "../../http/query";
import { toClientEvent } from "../../rooms/client-format";
import { parseRoomEventFilter } from "../../rooms/event-filter";
import { requireRoomId } from "../../rooms/ids";
import { eventContext, eventNearTimestamp, joinedMembers, roomMembers, roomMessages, visibleEvent, visibleState, visibleStateEvent } from "../../rooms/reading";
import { redactEvent, sendMessageEvent, sendStateEvent } from "../../rooms/send";
import { parsePositionToken } from "../../rooms/tokens";

const Content = t.Record(t.String(), t.Unknown());
const SendParams = t.Object({ roomId: t.String(), eventType: t.String({ minLength: 1, maxLength: 255 }), txnId: t.String({ minLength: 1 }) });
const StateParams = t.Object({ roomId: t.String(), eventType: t.String({ minLength: 1, maxLength: 255 }), stateKey: t.Optional(t.String()) });

export function roomEventsApi(hs: Homeserver, prefix: string) {
  const viewerOf = (requester: { userId: string; deviceId: string }) => ({ userId: requester.userId, deviceId: requester.deviceId });

  const getState = ({ params, query, requester }: { params: { roomId: string; eventType: string; stateKey?: string }; query: { format?: string }; requester: { userId: string; deviceId: string } }) => {
    const event = visibleStateEvent(hs, requireRoomId(params.roomId), requester.userId, params.eventType, params.stateKey ?? "");
    // format=event returns the whole event (spec v1.16); the default is the content only.
    return query.format === "event" ? toClientEvent(hs, event, viewerOf(requester)) : event.pdu.content;
  };
  const putState = ({ params, body, requester }: { params: { roomId: string; eventType: string; stateKey?: string }; body: Record<string, unknown>; requester: Parameters<typeof sendStateEvent>[1] }) =>
    sendStateEvent(hs, requester, requireRoomId(params.roomId), params.eventType, params.stateKey ?? "", body);

  return new Elysia({ name: "api.room-events", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .put(
      "/rooms/:roomId/send/:eventType/:txnId",
      ({ params, body, requester }) => {
        hs.rateLimiter.take("message", requester.userId);
        return sendMessageEvent(hs, requester, requireRoomId(params.roomId), params.eventType, params.txnId, body);
      },
      { params: SendParams, body: Content },
    )
    .put("/rooms/:roomId/state/:eventType", putState, { params: StateParams, body: Content })
    .put("/rooms/:roomId/state/:eventType/:stateKey", putState, { params: StateParams, body: Content })
    .get("/rooms/:roomId/state/:eventType", getState, { params: StateParams, query: t.Object({ format: t.Optional(t.String()) }) })
    .get("/rooms/:roomId/state/:eventType/:stateKey", getState, { params: StateParams, query: t.Object({ format: t.Optional(t.String()) }) })
    .get(
      "/rooms/:roomId/state",
      ({ params, requester }) => visibleState(hs, requireRoomId(params.roomId), requester.userId).map((event) => toClientEvent(hs, event, viewerOf(requester))),
      { params: t.Object({ roomId: t.String() }) },
    )
    .get(
      "/rooms/:roomId/event/:eventId",
      ({ params, requester }) => visibleEvent(hs, requireRoomId(params.roomId), params.eventId, viewerOf(requester)),
      { params: t.Object({ roomId: t.String(), eventId: t.String() }) },
    )
    .put(
      "/rooms/:roomId/redact/:eventId/:txnId",
      ({ params, body, requester }) => redactEvent(hs, requester, requireRoomId(params.roomId), params.eventId, params.txnId, body.reason),
      { params: t.Object({ roomId: t.String(), eventId: t.String(), txnId: t.String({ minLength: 1 }) }), body: t.Object({ reason: t.Optional(t.String()) }) },
    )
    .get(
      "/rooms/:roomId/messages",
      ({ params, query, requester }) => {
        const dir = query.dir ?? "b";
        if (dir !== "b" && dir !== "f") throw new MatrixError(400, "M_INVALID_PARAM", "dir must be 'b' or 'f'");
        const response = roomMessages(hs, requireRoomId(params.roomId), viewerOf(requester), {
          from: query.from !== undefined ? parsePositionToken(query.from, "from") : undefined,
          to: query.to !== undefined ? parsePositionToken(query.to, "to") : undefined,
          dir,
          limit: parseLimit(query.limit) ?? 10,
          filter: parseRoomEventFilter(query.filter),
        });
        // `start` "will be the same as the value given in `from`" (spec: message_pagination.yaml),
        // a sync token included.
        if (query.from !== undefined) response.start = query.from;
        return response;
      },
      {
        params: t.Object({ roomId: t.String() }),
        query: t.Object({ from: t.Optional(t.String()), to: t.Optional(t.String()), dir: t.Optional(t.String()), limit: t.Optional(t.String()), filter: t.Optional(t.String()) }),
      },
    )
    .get(
      "/rooms/:roomId/context/:eventId",
      ({ params, query, requester }) =>
        eventContext(hs, requireRoomId(params.roomId), params.eventId, viewerOf(requester), parseLimit(query.limit) ?? 10, parseRoomEventFilter(query.filter)),
      { params: t.Object({ roomId: t.String(), eventId: t.String() }), query: t.Object({ limit: t.Optional(t.String()), filter: t.Optional(t.String()) }) },
    )
    .get(
      "/rooms/:roomId/members",
      ({ params, query, requester }) => ({
        chunk: roomMembers(hs, requireRoomId(params.roomId), viewerOf(requester), {
          at: query.at !== undefined ? parsePositionToken(query.at, "at") : undefined,
          membership: query.membership,
          notMembership: query.not_membership,
        }),
      }),
      { params: t.Object({ roomId: t.String() }), query: t.Object({ at: t.Optional(t.String()), membership: t.Optional(t.String()), not_membership: t.Optional(t.String()) }) },
    )
    .get("/rooms/:roomId/joined_members", ({ params, requester }) => joinedMembers(hs, requireRoomId(params.roomId), requester.userId), {
      params: t.Object({ roomId: t.String() }),
    });
}

/** GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event (spec v1.6). */
export function timestampToEventApi(hs: Homeserver) {
  return new Elysia({ name: "api.timestamp-to-event", seed: hs.instanceId, prefix: "/_matrix/client/v1" })
    .use(authenticated(hs))
    .get(
      "/rooms/:roomId/timestamp_to_event",
      ({ params, query, requester }) => {
        const roomId = requireRoomId(params.roomId);
        const ts = Number(query.ts);
        if (!Number.isInteger(ts)) throw new MatrixError(400, "M_INVALID_PARAM", "ts must be an integer");
        if (query.dir !== "f" && query.dir !== "b") throw new MatrixError(400, "M_INVALID_PARAM", "dir must be 'b' or 'f'");
        const event = eventNearTimestamp(hs, roomId, requester.userId, ts, query.dir);
        if (!event) throw notFound(`No event found ${query.dir === "f" ? "after" : "before"} ${ts}`);
        return { event_id: event.eventId, origin_server_ts: event.pdu.origin_server_ts };
      },
      { params: t.Object({ roomId: t.String() }), query: t.Object({ ts: t.String(), dir: t.String() }) },
    );
}
