// Simplified sliding sync (MSC4186) at its unstable prefix, the endpoint
// matrix-rust-sdk clients (Element X) drive everything through.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { setPresence } from "../../sync/presence";
import { slidingSync } from "../../sync/sliding/build";
import { parseSlidingRequest } from "../../sync/sliding/request";

export const SLIDING_SYNC_PREFIX = "/_matrix/client/unstable/org.matrix.simplified_msc3575";
/** Its body is parsed once per distinct text (parseJsonObjectBody `reuse`): a room list long-polls with the same one. */
export const SLIDING_SYNC_PATH = `${SLIDING_SYNC_PREFIX}/sync`;

export function slidingSyncApi(hs: Homeserver) {
  return new Elysia({ name: "api.sliding-sync", seed: hs.instanceId, prefix: SLIDING_SYNC_PREFIX })
    .use(authenticated(hs))
    .post(
      "/sync",
      ({ body, query, requester, request }) => {
        const sliding = parseSlidingRequest(body, query, requester.userId);
        // set_presence as in GET /sync: omitted means online, "offline" means "do not mark me online".
        const presence = sliding.setPresence ?? "online";
        if (presence !== "offline") setPresence(hs, requester.userId, presence, undefined, true);
        return slidingSync(hs, requester, sliding, request.signal);
      },
      {
        body: t.Record(t.String(), t.Unknown()),
        query: t.Object(
          { pos: t.Optional(t.String()), timeout: t.Optional(t.String()), set_presence: t.Optional(t.String()) },
          { additionalProperties: true },
        ),
      },
    );
}
