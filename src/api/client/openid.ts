// OpenID (spec: Client-Server API, "OpenID"): tokens for third parties.
import { Elysia, t } from "elysia";
import { requestOpenidToken } from "../../accounts/openid";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { requireUserId } from "../../rooms/ids";
import { now } from "../../util/time";

export function openidApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.openid", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post(
      "/user/:userId/openid/request_token",
      ({ params, requester }) => hs.store.transaction(() => requestOpenidToken(hs, requester.userId, requireUserId(params.userId), now())),
      { params: t.Object({ userId: t.String() }) },
    );
}
