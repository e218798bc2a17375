// Server-Server API, "OpenID": a third party holding an OpenID token asks this
// server whose it is. Served on the client port, as the token's
// matrix_server_name resolves here.
import { Elysia, t } from "elysia";
import { openidUserinfo } from "../../accounts/openid";
import type { Homeserver } from "../../homeserver";
import { now } from "../../util/time";

export function openidUserinfoApi(hs: Homeserver) {
  return new Elysia({ name: "api.federation.openid", seed: hs.instanceId }).get(
    "/_matrix/federation/v1/openid/userinfo",
    ({ query }) => openidUserinfo(hs, query.access_token, now()),
    { query: t.Object({ access_token: t.Optional(t.String()) }) },
  );
}
