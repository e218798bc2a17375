// Room aliases and the room directory (spec: Client-Server API, "Room discovery").
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { parseLimit } from "../../http/query";
import {
  createAlias,
  deleteAlias,
  directoryVisibility,
  listPublicRooms,
  localAliases,
  resolveAlias,
  setDirectoryVisibility,
} from "../../rooms/directory";
import { requireRoomId } from "../../rooms/ids";

const AliasParams = t.Object({ roomAlias: t.String() });
const RoomParams = t.Object({ roomId: t.String() });

export function directoryApi(hs: Homeserver, prefix: string) {
  // Resolving aliases, reading a room's directory visibility and listing public
  // rooms need no login (spec: these endpoints have no security requirement).
  const open = new Elysia({ name: "api.directory.open", seed: `${hs.instanceId}${prefix}`, prefix })
    .get("/directory/room/:roomAlias", ({ params }) => resolveAlias(hs, params.roomAlias), { params: AliasParams })
    .get("/directory/list/room/:roomId", ({ params }) => directoryVisibility(hs, requireRoomId(params.roomId)), { params: RoomParams })
    .get(
      "/publicRooms",
      ({ query }) => listPublicRooms(hs, { limit: parseLimit(query.limit), since: query.since }),
      { query: t.Object({ limit: t.Optional(t.String()), since: t.Optional(t.String()), server: t.Optional(t.String()) }) },
    );

  const signedIn = new Elysia({ name: "api.directory.signed-in", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .put(
      "/directory/room/:roomAlias",
      ({ params, body, requester }) => {
        createAlias(hs, requester, params.roomAlias, requireRoomId(body.room_id));
        return {};
      },
      { params: AliasParams, body: t.Object({ room_id: t.String() }) },
    )
    .delete(
      "/directory/room/:roomAlias",
      ({ params, requester }) => {
        deleteAlias(hs, requester, params.roomAlias);
        return {};
      },
      { params: AliasParams },
    )
    .get("/rooms/:roomId/aliases", ({ params, requester }) => localAliases(hs, requester.userId, requireRoomId(params.roomId)), { params: RoomParams })
    .put(
      "/directory/list/room/:roomId",
      ({ params, body, requester }) => {
        setDirectoryVisibility(hs, requester, requireRoomId(params.roomId), body.visibility ?? "public");
        return {};
      },
      { params: RoomParams, body: t.Object({ visibility: t.Optional(t.Union([t.Literal("public"), t.Literal("private")])) }) },
    )
    .post(
      "/publicRooms",
      ({ body }) =>
        listPublicRooms(hs, {
          limit: body.limit,
          since: body.since,
          genericSearchTerm: body.filter?.generic_search_term,
          roomTypes: body.filter?.room_types,
        }),
      {
        body: t.Object({
          limit: t.Optional(t.Integer({ minimum: 0 })),
          since: t.Optional(t.String()),
          server: t.Optional(t.String()),
          include_all_networks: t.Optional(t.Boolean()),
          third_party_instance_id: t.Optional(t.String()),
          filter: t.Optional(
            t.Object({
              generic_search_term: t.Optional(t.String()),
              room_types: t.Optional(t.Array(t.Union([t.String(), t.Null()]))),
            }),
          ),
        }),
      },
    );

  return new Elysia({ name: "api.directory", seed: `${hs.instanceId}${prefix}` }).use(open).use(signedIn);
}
