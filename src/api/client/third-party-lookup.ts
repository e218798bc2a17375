// Third-party networks (spec: Client-Server API, "Third-party Networks"). Only
// application services provide protocols, and this server has none: the list is
// empty and every lookup finds nothing.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { notFound } from "../../http/errors";

const ProtocolParams = t.Object({ protocol: t.String() });

export function thirdPartyLookupApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.third-party-lookup", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/thirdparty/protocols", () => ({}))
    .get(
      "/thirdparty/protocol/:protocol",
      () => {
        throw notFound("The protocol is unknown");
      },
      { params: ProtocolParams },
    )
    .get(
      "/thirdparty/location/:protocol",
      () => {
        throw notFound("No portal rooms were found");
      },
      { params: ProtocolParams },
    )
    .get(
      "/thirdparty/user/:protocol",
      () => {
        throw notFound("The Matrix User ID was not found");
      },
      { params: ProtocolParams },
    )
    .get("/thirdparty/location", () => {
      throw notFound("The Matrix room alias was not found");
    })
    .get("/thirdparty/user", () => {
      throw notFound("The Matrix User ID was not found");
    });
}
