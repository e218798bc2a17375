// User directory (spec: Client-Server API, "User directory").
import { Elysia, t } from "elysia";
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, searchUserDirectory } from "../../accounts/user-directory";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";

export function userDirectoryApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.user-directory", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post(
      "/user_directory/search",
      ({ body, requester }) =>
        searchUserDirectory(hs, requester.userId, body.search_term, Math.min(body.limit ?? DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT)),
      { body: t.Object({ search_term: t.String(), limit: t.Optional(t.Integer({ minimum: 0 })) }) },
    );
}
