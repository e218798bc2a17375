// POST /search (spec: Client-Server API, "Server Side Search"; search.yaml):
// the room_events category.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { validateRoomEventFilter } from "../../rooms/event-filter";
import { searchRoomEvents } from "../../rooms/search";

const NonNegative = t.Integer({ minimum: 0 });

const RoomEventsCriteria = t.Object({
  search_term: t.String(),
  keys: t.Optional(t.Array(t.Union([t.Literal("content.body"), t.Literal("content.name"), t.Literal("content.topic")]))),
  filter: t.Optional(t.Record(t.String(), t.Unknown())),
  order_by: t.Optional(t.Union([t.Literal("recent"), t.Literal("rank")])),
  event_context: t.Optional(t.Object({ before_limit: t.Optional(NonNegative), after_limit: t.Optional(NonNegative), include_profile: t.Optional(t.Boolean()) })),
  include_state: t.Optional(t.Boolean()),
  groupings: t.Optional(t.Object({ group_by: t.Optional(t.Array(t.Object({ key: t.Union([t.Literal("room_id"), t.Literal("sender")]) }))) })),
});

export function searchApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.search", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post(
      "/search",
      ({ body, query, requester }) => {
        const criteria = body.search_categories.room_events;
        // Categories this server does not search are left out of the answer.
        if (!criteria) return { search_categories: {} };
        const filter = criteria.filter !== undefined ? validateRoomEventFilter(criteria.filter) : undefined;
        const viewer = { userId: requester.userId, deviceId: requester.deviceId };
        return { search_categories: { room_events: searchRoomEvents(hs, viewer, { ...criteria, filter }, query.next_batch) } };
      },
      {
        body: t.Object({ search_categories: t.Object({ room_events: t.Optional(RoomEventsCriteria) }) }),
        query: t.Object({ next_batch: t.Optional(t.String()) }),
      },
    );
}
