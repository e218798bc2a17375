// Server administration (spec: Client-Server API, "Server Administration").
import { Elysia, t } from "elysia";
import { whois } from "../../accounts/whois";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { requireUserId } from "../../rooms/ids";

export function adminApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.admin", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .get("/admin/whois/:userId", ({ params, requester }) => whois(hs, requester, requireUserId(params.userId)), {
      params: t.Object({ userId: t.String() }),
    });
}
