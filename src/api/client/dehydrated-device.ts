// Dehydrated devices (MSC3814), under its unstable prefix until the MSC is merged.
import { Elysia, t } from "elysia";
import { DEHYDRATED_EVENTS_LIMIT, dehydratedDeviceEvents, deleteDehydratedDevice, getDehydratedDevice, putDehydratedDevice } from "../../e2ee/dehydrated-device";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { parseLimit } from "../../http/query";

export const MSC3814_PREFIX = "/_matrix/client/unstable/org.matrix.msc3814.v1";

const JsonObject = t.Record(t.String(), t.Unknown());
const MAX_EVENTS_LIMIT = 1000;

export function dehydratedDeviceApi(hs: Homeserver) {
  return new Elysia({ name: "api.dehydrated-device", seed: hs.instanceId, prefix: MSC3814_PREFIX })
    .use(authenticated(hs))
    .put("/dehydrated_device", ({ body, requester }) => putDehydratedDevice(hs, requester.userId, body), {
      body: t.Object({
        device_id: t.String({ minLength: 1, maxLength: 255 }),
        device_data: JsonObject,
        initial_device_display_name: t.Optional(t.String({ maxLength: 255 })),
        // The same fields as POST /keys/upload; device_keys is required so that the device can receive messages.
        device_keys: JsonObject,
        one_time_keys: t.Optional(JsonObject),
        fallback_keys: t.Optional(JsonObject),
      }),
    })
    .get("/dehydrated_device", ({ requester }) => getDehydratedDevice(hs, requester.userId))
    .delete("/dehydrated_device", ({ requester }) => deleteDehydratedDevice(hs, requester.userId))
    .post(
      "/dehydrated_device/:deviceId/events",
      ({ params, query, body, requester }) => {
        const limit = Math.min(parseLimit(query.limit) ?? DEHYDRATED_EVENTS_LIMIT, MAX_EVENTS_LIMIT);
        return dehydratedDeviceEvents(hs, requester.userId, params.deviceId, body?.next_batch, limit);
      },
      {
        params: t.Object({ deviceId: t.String() }),
        query: t.Object({ limit: t.Optional(t.String()) }),
        body: t.Optional(t.Object({ next_batch: t.Optional(t.String()) })),
      },
    );
}
