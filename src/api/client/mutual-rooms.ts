// GET /_matrix/client/v1/mutual_rooms (spec: mutual_rooms.yaml, from MSC2666): the rooms
// both the requester and another user are joined to.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError } from "../../http/errors";
import { isUserId } from "../../rooms/ids";

export function mutualRoomsApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.mutual-rooms", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .get(
      "/mutual_rooms",
      ({ query, requester }) => {
        if (!isUserId(query.user_id)) throw new MatrixError(400, "M_INVALID_PARAM", "user_id is not a valid user id");
        if (query.user_id === requester.userId) throw new MatrixError(400, "M_INVALID_PARAM", "user_id is your own user id");
        // The whole list fits one answer, so no next_batch is ever handed out to come back with.
        if (query.from !== undefined) throw new MatrixError(400, "M_INVALID_PARAM", "Unknown or expired from token");
        const theirs = new Set(hs.store.state.roomsWithMembership(query.user_id, ["join"]).map((row) => row.roomId));
        const joined = hs.store.state.roomsWithMembership(requester.userId, ["join"]).map((row) => row.roomId).filter((roomId) => theirs.has(roomId));
        return { joined, count: joined.length };
      },
      { query: t.Object({ user_id: t.String(), from: t.Optional(t.String()) }) },
    );
}
