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
import { roomEventsApi, timestampToEventApi } from "./api/client/room-events";
import { serverKeysApi } from "./api/federation/server-keys";
import type { Homeserver } from "./homeserver";
import { parseJsonObjectBody } from "./http/body";
import { CORS_HEADERS, preflightResponse } from "./http/cors";
import { errorHandler } from "./http/error-handler";

/**
 * Client-Server endpoints are served under v3 and, for clients that still use it,
 * under the older r0 prefix (r0 was replaced by v3 in spec v1.1).
 */
const CLIENT_PREFIXES = ["/_matrix/client/v3", "/_matrix/client/r0"];

export function buildApp(hs: Homeserver) {
  const routes: { method: string; path: string }[] = [];
  // normalize: "typebox" — Elysia's default normaliser rewrites values to fit the
  // schema (an array sent where an object is expected became {"0": ...}); TypeBox's
  // only drops unknown members (clients send extras) and validates the rest as sent.
  const app = new Elysia({ name: "homeserver", seed: hs.instanceId, normalize: "typebox" })
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, CORS_HEADERS);
      if (request.method === "OPTIONS") return preflightResponse();
    })
    .onParse({ as: "global" }, ({ request }) => parseJsonObjectBody(request, hs.config.max_request_body_bytes))
    .use(errorHandler(hs, () => routes))
    .use(discoveryApi(hs))
    .use(serverKeysApi(hs))
    .use(synapseAdminApi(hs))
    .use(timestampToEventApi(hs));
  for (const prefix of CLIENT_PREFIXES) {
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
      .use(userDataApi(hs, prefix));
  }
  routes.push(...app.routes);
  return app;
}
