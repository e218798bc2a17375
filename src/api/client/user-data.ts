// Per-user data: account data, tags, typing, receipts, read markers and
// send-to-device (spec: Client-Server API modules of those names).
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError, forbidden } from "../../http/errors";
import { requireRoomId } from "../../rooms/ids";
import { currentMembership } from "../../rooms/room-state";
import { PUSH_RULES_TYPE, pushRulesContent } from "../../push/ruleset";
import { deleteTag, getAccountData, getTags, putAccountData, requireOwnAccount, setTag } from "../../sync/account-data";
import { sendReceipt, setReadMarkers } from "../../sync/receipts";
import { sendToDevice } from "../../sync/to-device";

const Content = t.Record(t.String(), t.Unknown());
const UserType = t.Object({ userId: t.String(), type: t.String({ minLength: 1 }) });
const UserRoomType = t.Object({ userId: t.String(), roomId: t.String(), type: t.String({ minLength: 1 }) });
const UserRoomTag = t.Object({ userId: t.String(), roomId: t.String(), tag: t.String({ minLength: 1 }) });

export function userDataApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.user-data", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .put(
      "/user/:userId/account_data/:type",
      ({ params, body, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        putAccountData(hs, requester.userId, "", params.type, body);
        return {};
      },
      { params: UserType, body: Content },
    )
    .get(
      "/user/:userId/account_data/:type",
      ({ params, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        // The push rules are account data the server keeps: their current form
        // (defaults included) even before the user changed any, as Synapse answers.
        if (params.type === PUSH_RULES_TYPE) return pushRulesContent(hs, requester.userId);
        return getAccountData(hs, requester.userId, "", params.type);
      },
      { params: UserType },
    )
    .put(
      "/user/:userId/rooms/:roomId/account_data/:type",
      ({ params, body, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        putAccountData(hs, requester.userId, requireRoomId(params.roomId), params.type, body);
        return {};
      },
      { params: UserRoomType, body: Content },
    )
    .get(
      "/user/:userId/rooms/:roomId/account_data/:type",
      ({ params, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        return getAccountData(hs, requester.userId, requireRoomId(params.roomId), params.type);
      },
      { params: UserRoomType },
    )
    .get(
      "/user/:userId/rooms/:roomId/tags",
      ({ params, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        return getTags(hs, requester.userId, requireRoomId(params.roomId));
      },
      { params: t.Object({ userId: t.String(), roomId: t.String() }) },
    )
    .put(
      "/user/:userId/rooms/:roomId/tags/:tag",
      ({ params, body, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        setTag(hs, requester.userId, requireRoomId(params.roomId), params.tag, body);
        return {};
      },
      { params: UserRoomTag, body: Content },
    )
    .delete(
      "/user/:userId/rooms/:roomId/tags/:tag",
      ({ params, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        deleteTag(hs, requester.userId, requireRoomId(params.roomId), params.tag);
        return {};
      },
      { params: UserRoomTag },
    )
    .put(
      "/rooms/:roomId/typing/:userId",
      ({ params, body, requester }) => {
        if (requester.userId !== params.userId) throw forbidden("You cannot set another user's typing state");
        const roomId = requireRoomId(params.roomId);
        if (currentMembership(hs, roomId, requester.userId) !== "join") throw forbidden("You are not joined to this room");
        if (body.typing && body.timeout !== undefined && (!Number.isInteger(body.timeout) || body.timeout < 0)) {
          throw new MatrixError(400, "M_INVALID_PARAM", "timeout must be a non-negative integer");
        }
        hs.typing.set(roomId, requester.userId, body.typing, body.timeout);
        return {};
      },
      { params: t.Object({ roomId: t.String(), userId: t.String() }), body: t.Object({ typing: t.Boolean(), timeout: t.Optional(t.Number()) }) },
    )
    .post(
      "/rooms/:roomId/receipt/:receiptType/:eventId",
      ({ params, body, requester }) => {
        sendReceipt(hs, requester.userId, requireRoomId(params.roomId), params.receiptType, params.eventId, body?.thread_id);
        return {};
      },
      {
        params: t.Object({ roomId: t.String(), receiptType: t.String(), eventId: t.String() }),
        body: t.Optional(t.Object({ thread_id: t.Optional(t.String()) })),
      },
    )
    .post(
      "/rooms/:roomId/read_markers",
      ({ params, body, requester }) => {
        setReadMarkers(hs, requester.userId, requireRoomId(params.roomId), {
          fullyRead: body["m.fully_read"],
          read: body["m.read"],
          readPrivate: body["m.read.private"],
        });
        return {};
      },
      {
        params: t.Object({ roomId: t.String() }),
        body: t.Object({ "m.fully_read": t.Optional(t.String()), "m.read": t.Optional(t.String()), "m.read.private": t.Optional(t.String()) }),
      },
    )
    .put(
      "/sendToDevice/:eventType/:txnId",
      ({ params, body, requester }) => {
        sendToDevice(hs, requester, params.eventType, params.txnId, body.messages);
        return {};
      },
      {
        params: t.Object({ eventType: t.String({ minLength: 1 }), txnId: t.String({ minLength: 1 }) }),
        body: t.Object({ messages: t.Record(t.String(), t.Record(t.String(), t.Unknown())) }),
      },
    );
}
