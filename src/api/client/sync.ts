// GET /sync and filters (spec: Client-Server API, "Syncing", "Filtering").
import { Elysia, t } from "elysia";
import type { Requester } from "../../accounts/credentials";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { MatrixError } from "../../http/errors";
import { queryParameters } from "../../http/query";
import { requireOwnAccount } from "../../sync/account-data";
import { buildSync, type SyncRequest } from "../../sync/build";
import { getFilter, resolveSyncFilter, typeIncluded, uploadFilter } from "../../sync/filter";
import { buildTurn } from "../../sync/build-turns";
import { waitForChange } from "../../sync/notifier";
import { parseSyncToken } from "../../sync/token";
import { getPresence, presenceOnlyWake, setPresence } from "../../sync/presence";

/** Below the server's idle timeout (255 s), so a long-poll always answers before the connection is closed. */
const MAX_TIMEOUT_MS = 180_000;

/**
 * Long-poll: answer at once when there is news; otherwise wait until a commit
 * concerning the user wakes us (or the timeout passes) and build again. Build and
 * registration happen in one synchronous stretch, so no commit can slip between.
 */
async function syncWithTimeout(hs: Homeserver, requester: Requester, request: SyncRequest, timeoutMs: number, signal: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  const { userId } = requester;
  // A filter without m.presence (bots and benchmarks often leave it out) needs no
  // rebuild when the only news is a presence change.
  const presenceWanted = typeIncluded(request.filter.presence, "m.presence");
  let typing = hs.typing.serial;
  // A request with nothing new since its token is answered without visiting any
  // room (buildSync): it waits for no build turn. A client answered in one turn
  // comes back in the next with such a request, and counting those would hold
  // back the members the commit woke.
  const since = request.since;
  let turn = since && hs.notifier.nothingSince(userId, since.pos, since.typing) ? undefined : buildTurn();
  if (turn) await turn;
  let result = buildSync(hs, requester, request);
  while (result.empty && request.since !== null && Date.now() < deadline && !signal.aborted && !hs.notifier.closing) {
    const position = await waitForChange(hs.notifier, userId, deadline - Date.now(), signal);
    if (!presenceWanted && presenceOnlyWake(hs, userId, position, typing)) continue;
    turn = buildTurn();
    if (turn) await turn;
    typing = hs.typing.serial;
    result = buildSync(hs, requester, request);
  }
  return result.response;
}

export function syncApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.sync", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get(
      "/sync",
      ({ requester, request }) => {
        const query = queryParameters(request.url);
        const timeout = query.timeout === undefined ? 0 : Number(query.timeout);
        if (!Number.isFinite(timeout) || timeout < 0) throw new MatrixError(400, "M_INVALID_PARAM", "timeout must be a non-negative number");
        const fullState = query.full_state === "true";
        if (query.full_state !== undefined && query.full_state !== "true" && query.full_state !== "false") {
          throw new MatrixError(400, "M_INVALID_PARAM", "full_state must be true or false");
        }
        const useStateAfter = query.use_state_after === "true" || query["org.matrix.msc4222.use_state_after"] === "true";
        const since = query.since ? parseSyncToken(query.since, { pos: hs.store.stream.current, typing: hs.typing.serial }) : null;
        const filter = resolveSyncFilter(hs, requester.userId, query.filter);
        // set_presence (spec: GET /sync): omitted means online; "offline" means
        // "do not mark me online", not "mark me offline".
        const presence = query.set_presence ?? "online";
        if (presence !== "online" && presence !== "offline" && presence !== "unavailable") {
          throw new MatrixError(400, "M_INVALID_PARAM", "set_presence must be online, offline or unavailable");
        }
        if (presence !== "offline") setPresence(hs, requester.userId, presence, undefined, true);
        return syncWithTimeout(hs, requester, { since, filter, fullState, useStateAfter }, Math.min(timeout, MAX_TIMEOUT_MS), request.signal);
      },
      // The query is read by queryParameters, not by Elysia (which decodes the
      // inline filter again with every request). Other parameters are ignored,
      // not refused: Element Web adds a `_cacheBuster` to every /sync
      // (../shared/clients/element-web.md).
    )
    .put(
      "/presence/:userId/status",
      ({ params, body, requester }) => {
        if (params.userId !== requester.userId) throw new MatrixError(403, "M_FORBIDDEN", "You cannot set another user's presence");
        setPresence(hs, requester.userId, body.presence, body.status_msg ?? null);
        return {};
      },
      { params: t.Object({ userId: t.String() }), body: t.Object({ presence: t.String(), status_msg: t.Optional(t.Union([t.String(), t.Null()])) }) },
    )
    .get("/presence/:userId/status", ({ params, requester }) => getPresence(hs, requester.userId, params.userId), {
      params: t.Object({ userId: t.String() }),
    })
    .post(
      "/user/:userId/filter",
      ({ params, body, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        return uploadFilter(hs, requester.userId, body);
      },
      { params: t.Object({ userId: t.String() }), body: t.Record(t.String(), t.Unknown()) },
    )
    .get(
      "/user/:userId/filter/:filterId",
      ({ params, requester }) => {
        requireOwnAccount(requester.userId, params.userId);
        return getFilter(hs, requester.userId, params.filterId);
      },
      { params: t.Object({ userId: t.String(), filterId: t.String() }) },
    );
}
