// Builds the Elysia app from the API plugins; nothing else.
import { Elysia } from "elysia";
import { synapseAdminApi } from "./api/admin/synapse-admin";
import { accountApi } from "./api/client/account";
import { devicesApi } from "./api/client/devices";
import { capabilitiesApi, discoveryApi } from "./api/client/discovery";
import { registrationApi } from "./api/client/registration";
import { sessionApi } from "./api/client/session";
import { roomsApi } from "./api/client/rooms";
import { directoryApi } from "./api/client/directory";
import { profileApi } from "./api/client/profile";
import { syncApi } from "./api/client/sync";
import { userDataApi } from "./api/client/user-data";
import { keysApi } from "./api/client/keys";
import { pushApi } from "./api/client/push";
import { roomEventsApi, timestampToEventApi } from "./api/client/room-events";
import { serverKeysApi } from "./api/federation/server-keys";
import type { Homeserver } from "./homeserver";
import { parseJsonObjectBody } from "./http/body";
import { CORS_HEADERS, preflightResponse } from "./http/cors";
import { errorHandler } from "./http/error-handler";
import { clientIp, rememberClientIp } from "./http/client-ip";

const CLIENT_PREFIX = "/_matrix/client/v3";
/**
 * Older clients still call the r0 prefix (replaced by v3 in spec v1.1). Rather than
 * registering every route twice, an r0 request is answered as its v3 twin.
 */
const LEGACY_PREFIX = "/_matrix/client/r0/";

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
    .onParse({ as: "global" }, ({ request }) => parseJsonObjectBody(request, hs.config.max_request_body_bytes))
    .use(errorHandler(hs, () => routes))
    .use(discoveryApi(hs))
    .use(serverKeysApi(hs))
    .use(synapseAdminApi(hs))
    .use(timestampToEventApi(hs));
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
    .use(pushApi(hs, prefix));
  routes.push(...app.routes);
  dispatch = (request) => app.handle(request);
  return app;
}
