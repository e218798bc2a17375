// Spaces (spec: Client-Server API, "Spaces"): the hierarchy endpoint, under v1.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { invalidParam } from "../../http/errors";
import { requireRoomId } from "../../rooms/ids";
import { DEFAULT_HIERARCHY_LIMIT, MAX_HIERARCHY_DEPTH, MAX_HIERARCHY_LIMIT, spaceHierarchy } from "../../rooms/hierarchy";

/** An integer query parameter of at least `minimum`, or 400 M_INVALID_PARAM. */
function integerParam(name: string, text: string | undefined, minimum: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) throw invalidParam(`${name} must be an integer of at least ${minimum}`);
  return value;
}

function booleanParam(name: string, text: string | undefined): boolean {
  if (text === undefined) return false;
  if (text !== "true" && text !== "false") throw invalidParam(`${name} must be true or false`);
  return text === "true";
}

export function spacesApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.spaces", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get(
      "/rooms/:roomId/hierarchy",
      ({ params, query, requester }) =>
        spaceHierarchy(hs, requester.userId, requireRoomId(params.roomId), {
          suggestedOnly: booleanParam("suggested_only", query.suggested_only),
          // "Must be an integer greater than zero"; larger values are capped.
          limit: Math.min(integerParam("limit", query.limit, 1) ?? DEFAULT_HIERARCHY_LIMIT, MAX_HIERARCHY_LIMIT),
          // "Must be a non-negative integer."
          maxDepth: Math.min(integerParam("max_depth", query.max_depth, 0) ?? MAX_HIERARCHY_DEPTH, MAX_HIERARCHY_DEPTH),
          from: query.from,
        }),
      {
        params: t.Object({ roomId: t.String() }),
        query: t.Object({
          suggested_only: t.Optional(t.String()),
          limit: t.Optional(t.String()),
          max_depth: t.Optional(t.String()),
          from: t.Optional(t.String()),
        }),
      },
    );
}
