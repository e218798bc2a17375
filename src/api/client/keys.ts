// Key management for end-to-end encryption (spec: Client-Server API, "Key management API").
import { Elysia, t } from "elysia";
import { uploadCrossSigningKeys, uploadSignatures } from "../../e2ee/cross-signing";
import { claimKeys, keyChanges, queryKeys, uploadKeys } from "../../e2ee/keys";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { parseSyncToken } from "../../sync/token";

const KeyMap = t.Record(t.String(), t.Unknown());

const CrossSigningKey = t.Record(t.String(), t.Unknown());

export function keysApi(hs: Homeserver, prefix: string) {
  const anyUser = new Elysia({ name: "api.keys.any", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .post("/keys/upload", ({ body, requester }) => uploadKeys(hs, requester, body), {
      body: t.Object({ device_keys: t.Optional(KeyMap), one_time_keys: t.Optional(KeyMap), fallback_keys: t.Optional(KeyMap) }),
    })
    .post("/keys/query", ({ body, requester }) => queryKeys(hs, requester, body.device_keys), {
      body: t.Object({ device_keys: t.Record(t.String(), t.Array(t.String())), timeout: t.Optional(t.Integer()) }),
    })
    .post("/keys/claim", ({ body }) => claimKeys(hs, body.one_time_keys), {
      body: t.Object({ one_time_keys: t.Record(t.String(), t.Record(t.String(), t.String())), timeout: t.Optional(t.Integer()) }),
    })
    .get(
      "/keys/changes",
      ({ query, requester }) => {
        const current = { pos: hs.store.stream.current, typing: hs.typing.serial };
        // Both tokens are sync tokens (or the position part of one).
        const from = parseSyncToken(query.from, current).pos;
        const to = parseSyncToken(query.to, current).pos;
        return keyChanges(hs, requester.userId, from, to);
      },
      { query: t.Object({ from: t.String(), to: t.String() }) },
    );

  return new Elysia({ name: "api.keys", seed: `${hs.instanceId}${prefix}` }).use(anyUser).use(crossSigningApi(hs, prefix));
}

/**
 * Cross-signing (spec: "Cross-signing"). Guests cannot complete the password
 * step it may need. Element calls the pre-v1.1 unstable prefix first, so app.ts
 * mounts this under both prefixes, as Synapse serves it.
 */
export function crossSigningApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.keys.cross-signing", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post("/keys/device_signing/upload", ({ body, requester }) => uploadCrossSigningKeys(hs, requester, body), {
      body: t.Object({
        master_key: t.Optional(CrossSigningKey),
        self_signing_key: t.Optional(CrossSigningKey),
        user_signing_key: t.Optional(CrossSigningKey),
        auth: t.Optional(t.Unknown()),
      }),
    })
    .post("/keys/signatures/upload", ({ body, requester }) => uploadSignatures(hs, requester, body), {
      body: t.Record(t.String(), t.Record(t.String(), t.Record(t.String(), t.Unknown()))),
    });
}
