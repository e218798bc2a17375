// Builds the Elysia app from the API plugins; nothing else.
import { Elysia } from "elysia";
import { synapseAdminApi } from "./api/admin/synapse-admin";
import { accountApi } from "./api/client/account";
import { devicesApi } from "./api/client/devices";
import { capabilitiesApi, discoveryApi } from "./api/client/discovery";
import { registrationApi, registrationTokenValidityApi } from "./api/client/registration";
import { mutualRoomsApi } from "./api/client/mutual-rooms";
import { sessionApi } from "./api/client/session";
import { roomsApi } from "./api/client/rooms";
import { directoryApi } from "./api/client/directory";
import { profileApi } from "./api/client/profile";
import { syncApi } from "./api/client/sync";
import { SLIDING_SYNC_PATH, slidingSyncApi } from "./api/client/sliding-sync";
import { userDataApi } from "./api/client/user-data";
import { crossSigningApi, keysApi } from "./api/client/keys";
import { backupApi } from "./api/client/backup";
import { dehydratedDeviceApi } from "./api/client/dehydrated-device";
import { authenticatedMediaApi, legacyMediaApi, mediaCreateApi, mediaUploadApi, takesRawBody } from "./api/client/media";
import { pushApi } from "./api/client/push";
import { roomEventsApi, timestampToEventApi } from "./api/client/room-events";
import { relationsApi } from "./api/client/relations";
import { searchApi } from "./api/client/search";
import { serverKeysApi } from "./api/federation/server-keys";
import { openidUserinfoApi } from "./api/federation/openid";
import { userDirectoryApi } from "./api/client/user-directory";
import { voipApi } from "./api/client/voip";
import { openidApi } from "./api/client/openid";
import { reportingApi } from "./api/client/reporting";
import { threepidsApi } from "./api/client/threepids";
import { thirdPartyLookupApi } from "./api/client/third-party-lookup";
import { adminApi } from "./api/client/admin";
import { spacesApi } from "./api/client/spaces";
import { roomInitialSyncApi } from "./api/client/room-initial-sync";
import { reportsAdminApi } from "./api/admin/reports";
import type { Homeserver } from "./homeserver";
import { parseJsonObjectBody } from "./http/body";
import { CORS_HEADERS, preflightResponse } from "./http/cors";
import { errorHandler } from "./http/error-handler";
import { clientIp, rememberClientIp } from "./http/client-ip";

const CLIENT_PREFIX = "/_matrix/client/v3";
/** Endpoints the spec added after v1.1 live under v1 (relations, threads, media, mutual_rooms ...). */
const CLIENT_V1_PREFIX = "/_matrix/client/v1";
/**
 * Older clients still call the r0 prefix (replaced by v3 in spec v1.1). Rather than
 * registering every route twice, an r0 request is answered as its v3 twin.
 */
const LEGACY_PREFIX = "/_matrix/client/r0/";
/** What an upload route gets as its parsed body: nothing; the request's body stream is left unread. */
const RAW_BODY = Object.freeze({});

export function buildApp(hs: Homeserver) {
  const routes: { method: string; path: string }[] = [];
  let dispatch: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
  // normalize: "typebox" — Elysia's default normaliser rewrites values to fit the
  // schema (an array sent where an object is expected became {"0": ...}); TypeBox's
  // only drops unknown members (clients send extras) and validates the rest as sent.
  // systemRouter: false — handing every route to Bun's native router compiles all
  // handlers at start (~25 ms); Elysia's own router compiles each on first use.
  const app = new Elysia({ name: "homeserver", seed: hs.instanceId, normalize: "typebox", systemRouter: false })
    .onRequest(({ request, set, server }) => {
      Object.assign(set.headers, CORS_HEADERS);
      if (request.method === "OPTIONS") return preflightResponse();
      const legacyAt = request.url.indexOf(LEGACY_PREFIX);
      if (legacyAt !== -1) {
        const rewritten = new Request(`${request.url.slice(0, legacyAt)}${CLIENT_PREFIX}/${request.url.slice(legacyAt + LEGACY_PREFIX.length)}`, request);
        rememberClientIp(rewritten, clientIp(hs, request, server));
        return dispatch(rewritten);
      }
    })
    // Uploads stream their body to disk themselves (api/client/media.ts); every other body is JSON.
    .onParse({ as: "global" }, ({ request, path }) =>
      takesRawBody(path) ? RAW_BODY : parseJsonObjectBody(request, hs.config.max_request_body_bytes, { reuse: path === SLIDING_SYNC_PATH }),
    )
    .use(errorHandler(hs, () => routes))
    .use(discoveryApi(hs))
    .use(serverKeysApi(hs))
    .use(openidUserinfoApi(hs))
    .use(synapseAdminApi(hs))
    .use(reportsAdminApi(hs))
    .use(timestampToEventApi(hs))
    .use(relationsApi(hs))
    .use(dehydratedDeviceApi(hs))
    .use(slidingSyncApi(hs));
  const prefix = CLIENT_PREFIX;
  app
    .use(capabilitiesApi(hs, prefix))
    .use(registrationApi(hs, prefix))
    .use(sessionApi(hs, prefix))
    .use(accountApi(hs, prefix))
    .use(devicesApi(hs, prefix))
    .use(roomsApi(hs, prefix))
    .use(roomEventsApi(hs, prefix))
    .use(directoryApi(hs, prefix))
    .use(profileApi(hs, prefix))
    .use(syncApi(hs, prefix))
    .use(userDataApi(hs, prefix))
    .use(keysApi(hs, prefix))
    .use(crossSigningApi(hs, "/_matrix/client/unstable"))
    .use(registrationTokenValidityApi(hs, prefix))
    .use(registrationTokenValidityApi(hs, CLIENT_V1_PREFIX))
    .use(mutualRoomsApi(hs, CLIENT_V1_PREFIX))
    .use(userDirectoryApi(hs, prefix))
    .use(voipApi(hs, prefix))
    .use(openidApi(hs, prefix))
    .use(reportingApi(hs, prefix))
    .use(threepidsApi(hs, prefix))
    .use(thirdPartyLookupApi(hs, prefix))
    .use(adminApi(hs, prefix))
    .use(roomInitialSyncApi(hs, prefix))
    .use(spacesApi(hs, CLIENT_V1_PREFIX))
    .use(searchApi(hs, prefix))
    .use(backupApi(hs, prefix))
    .use(authenticatedMediaApi(hs))
    .use(mediaCreateApi(hs))
    .use(mediaUploadApi(hs, "v3"))
    .use(mediaUploadApi(hs, "r0"))
    .use(pushApi(hs, prefix));
  if (hs.config.media.serve_unauthenticated) app.use(legacyMediaApi(hs, "v3")).use(legacyMediaApi(hs, "r0"));
  routes.push(...app.routes);
  dispatch = (request) => app.handle(request);
  return app;
}
