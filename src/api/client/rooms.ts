// Rooms: creation and membership (spec: Client-Server API, "Rooms", "Room membership").
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { createRoom } from "../../rooms/create-room";
import { requireRoomId, requireUserId } from "../../rooms/ids";
import { joinRoom } from "../../rooms/join";
import { changeMembership, forgetRoom, invite, kick, unban } from "../../rooms/membership";
import { upgradeRoom } from "../../rooms/upgrade";

const RoomParams = t.Object({ roomId: t.String() });
const Reason = t.Optional(t.String({ maxLength: 2048 }));
const TargetBody = t.Object({ user_id: t.String(), reason: Reason });

const CreateRoomBody = t.Object({
  visibility: t.Optional(t.Union([t.Literal("public"), t.Literal("private")])),
  room_alias_name: t.Optional(t.String()),
  name: t.Optional(t.String()),
  topic: t.Optional(t.String()),
  invite: t.Optional(t.Array(t.String())),
  invite_3pid: t.Optional(t.Array(t.Unknown())),
  room_version: t.Optional(t.String()),
  creation_content: t.Optional(t.Record(t.String(), t.Unknown())),
  initial_state: t.Optional(
    t.Array(t.Object({ type: t.String(), state_key: t.Optional(t.String()), content: t.Record(t.String(), t.Unknown()) })),
  ),
  preset: t.Optional(t.Union([t.Literal("private_chat"), t.Literal("trusted_private_chat"), t.Literal("public_chat")])),
  is_direct: t.Optional(t.Boolean()),
  power_level_content_override: t.Optional(t.Record(t.String(), t.Unknown())),
});

export function roomsApi(hs: Homeserver, prefix: string) {
  const joinBody = { body: t.Optional(t.Object({ reason: Reason })) };
  return new Elysia({ name: "api.rooms", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post(
      "/createRoom",
      ({ body, requester }) => {
        hs.rateLimiter.take("room_creation", requester.userId);
        return createRoom(hs, requester.userId, body);
      },
      { body: CreateRoomBody },
    )
    .get("/joined_rooms", ({ requester }) => ({
      joined_rooms: hs.store.state.roomsWithMembership(requester.userId, ["join"]).map((row) => row.roomId),
    }))
    .post(
      "/join/:roomIdOrAlias",
      ({ params, body, requester }) => {
        hs.rateLimiter.take("join", requester.userId);
        return joinRoom(hs, requester.userId, params.roomIdOrAlias, "join", body?.reason);
      },
      { params: t.Object({ roomIdOrAlias: t.String() }), query: t.Object({ server_name: t.Optional(t.Union([t.String(), t.Array(t.String())])), via: t.Optional(t.Union([t.String(), t.Array(t.String())])) }), ...joinBody },
    )
    .post(
      "/knock/:roomIdOrAlias",
      ({ params, body, requester }) => joinRoom(hs, requester.userId, params.roomIdOrAlias, "knock", body?.reason),
      { params: t.Object({ roomIdOrAlias: t.String() }), ...joinBody },
    )
    .post(
      "/rooms/:roomId/join",
      ({ params, body, requester }) => {
        hs.rateLimiter.take("join", requester.userId);
        return joinRoom(hs, requester.userId, requireRoomId(params.roomId), "join", body?.reason);
      },
      { params: RoomParams, ...joinBody },
    )
    .post(
      "/rooms/:roomId/leave",
      ({ params, body, requester }) => {
        const roomId = requireRoomId(params.roomId);
        changeMembership(hs, { roomId, sender: requester.userId, target: requester.userId, membership: "leave", reason: body?.reason });
        return {};
      },
      { params: RoomParams, ...joinBody },
    )
    .post(
      "/rooms/:roomId/invite",
      ({ params, body, requester }) => {
        hs.rateLimiter.take("invite", requester.userId);
        invite(hs, requireRoomId(params.roomId), requester.userId, requireUserId(body.user_id), { reason: body.reason });
        return {};
      },
      { params: RoomParams, body: TargetBody },
    )
    .post(
      "/rooms/:roomId/kick",
      ({ params, body, requester }) => {
        kick(hs, requireRoomId(params.roomId), requester.userId, requireUserId(body.user_id), body.reason);
        return {};
      },
      { params: RoomParams, body: TargetBody },
    )
    .post(
      "/rooms/:roomId/ban",
      ({ params, body, requester }) => {
        changeMembership(hs, { roomId: requireRoomId(params.roomId), sender: requester.userId, target: requireUserId(body.user_id), membership: "ban", reason: body.reason });
        return {};
      },
      { params: RoomParams, body: TargetBody },
    )
    .post(
      "/rooms/:roomId/unban",
      ({ params, body, requester }) => {
        unban(hs, requireRoomId(params.roomId), requester.userId, requireUserId(body.user_id), body.reason);
        return {};
      },
      { params: RoomParams, body: TargetBody },
    )
    .post(
      "/rooms/:roomId/upgrade",
      ({ params, body, requester }) => upgradeRoom(hs, requester, requireRoomId(params.roomId), body.new_version),
      { params: RoomParams, body: t.Object({ new_version: t.String(), additional_creators: t.Optional(t.Array(t.String())) }) },
    )
    .post(
      "/rooms/:roomId/forget",
      ({ params, requester }) => {
        forgetRoom(hs, requireRoomId(params.roomId), requester.userId);
        return {};
      },
      { params: RoomParams },
    );
}
