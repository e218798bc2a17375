// Event relationships and threads (spec: Client-Server API, "Relationships
// between events", "Threading"; relations.yaml, threads_list.yaml), under /v1.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError } from "../../http/errors";
import { parseLimit } from "../../http/query";
import { requireRoomId } from "../../rooms/ids";
import { relatedEvents } from "../../rooms/relations";
import { threadRoots } from "../../rooms/threads";
import { parsePositionToken } from "../../rooms/tokens";

const RelationsQuery = t.Object({
  from: t.Optional(t.String()),
  to: t.Optional(t.String()),
  limit: t.Optional(t.String()),
  dir: t.Optional(t.String()),
  recurse: t.Optional(t.String()),
});

type RelationsParams = { roomId: string; eventId: string; relType?: string; eventType?: string };

function parseBoolean(text: string | undefined, name: string): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === "true") return true;
  if (text === "false") return false;
  throw new MatrixError(400, "M_INVALID_PARAM", `${name} must be 'true' or 'false'`);
}

export function relationsApi(hs: Homeserver) {
  const relations = ({ params, query, requester }: { params: RelationsParams; query: typeof RelationsQuery.static; requester: { userId: string; deviceId: string } }) => {
    const dir = query.dir ?? "b";
    if (dir !== "b" && dir !== "f") throw new MatrixError(400, "M_INVALID_PARAM", "dir must be 'b' or 'f'");
    return relatedEvents(hs, requireRoomId(params.roomId), params.eventId, { userId: requester.userId, deviceId: requester.deviceId }, {
      relType: params.relType,
      eventType: params.eventType,
      from: query.from !== undefined ? parsePositionToken(query.from, "from") : undefined,
      to: query.to !== undefined ? parsePositionToken(query.to, "to") : undefined,
      dir,
      limit: parseLimit(query.limit),
      recurse: parseBoolean(query.recurse, "recurse"),
    });
  };
  const Params = t.Object({ roomId: t.String(), eventId: t.String(), relType: t.Optional(t.String()), eventType: t.Optional(t.String()) });

  return new Elysia({ name: "api.relations", seed: hs.instanceId, prefix: "/_matrix/client/v1" })
    .use(authenticated(hs))
    .get("/rooms/:roomId/relations/:eventId", relations, { params: Params, query: RelationsQuery })
    .get("/rooms/:roomId/relations/:eventId/:relType", relations, { params: Params, query: RelationsQuery })
    .get("/rooms/:roomId/relations/:eventId/:relType/:eventType", relations, { params: Params, query: RelationsQuery })
    .get(
      "/rooms/:roomId/threads",
      ({ params, query, requester }) => {
        const include = query.include ?? "all";
        if (include !== "all" && include !== "participated") throw new MatrixError(400, "M_INVALID_PARAM", "include must be 'all' or 'participated'");
        const limit = parseLimit(query.limit);
        // "Must be an integer greater than zero" (spec: threads_list.yaml).
        if (limit === 0) throw new MatrixError(400, "M_INVALID_PARAM", "limit must be greater than zero");
        return threadRoots(hs, requireRoomId(params.roomId), { userId: requester.userId, deviceId: requester.deviceId }, {
          include,
          from: query.from !== undefined ? parsePositionToken(query.from, "from") : undefined,
          limit,
        });
      },
      { params: t.Object({ roomId: t.String() }), query: t.Object({ include: t.Optional(t.String()), from: t.Optional(t.String()), limit: t.Optional(t.String()) }) },
    );
}
