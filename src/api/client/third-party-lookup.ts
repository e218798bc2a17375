// Third-party networks (spec: Client-Server API, "Third-party Networks"). Only
// application services provide protocols, and this server has none: the list is
// empty, a protocol is unknown (404), and lookups find nothing. For lookups the
// answer is an empty list, as Synapse's when no application service answers
// (the spec also allows 404 for "nothing found"; clients handle both).
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { notFound } from "../../http/errors";

const ProtocolParams = t.Object({ protocol: t.String() });
const nothingFound = (): unknown[] => [];

export function thirdPartyLookupApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.third-party-lookup", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/thirdparty/protocols", () => ({}))
    .get(
      "/thirdparty/protocol/:protocol",
      () => {
        throw notFound("Unknown protocol");
      },
      { params: ProtocolParams },
    )
    .get("/thirdparty/location/:protocol", nothingFound, { params: ProtocolParams })
    .get("/thirdparty/user/:protocol", nothingFound, { params: ProtocolParams })
    .get("/thirdparty/location", nothingFound)
    .get("/thirdparty/user", nothingFound);
}
