// Publishes the server's signing key (spec: Server-Server API, "Publishing Keys"),
// so that events this server signs can be verified by others.
import { Elysia } from "elysia";
import type { Homeserver } from "../../homeserver";
import { signJson } from "../../util/signing";

const VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

export function serverKeysApi(hs: Homeserver) {
  return new Elysia({ name: "api.federation.keys", seed: hs.instanceId }).get("/_matrix/key/v2/server", () =>
    signJson(
      {
        server_name: hs.config.server_name,
        verify_keys: { [hs.signingKey.keyId]: { key: hs.signingKey.publicKeyBase64 } },
        old_verify_keys: {},
        valid_until_ts: Date.now() + VALIDITY_MS,
      },
      hs.config.server_name,
      hs.signingKey,
    ),
  );
}
