// Device management (spec: "Device management").
import { Elysia, t } from "elysia";
import { deleteDevices } from "../../accounts/devices";
import { PASSWORD_FLOWS, passwordStageFor } from "../../accounts/password-auth";
import type { Requester } from "../../accounts/credentials";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { notFound } from "../../http/errors";
import type { DeviceRow } from "../../store/devices";

function deviceView(device: DeviceRow) {
  return {
    device_id: device.deviceId,
    display_name: device.displayName ?? undefined,
    last_seen_ip: device.lastSeenIp ?? undefined,
    last_seen_ts: device.lastSeenTs ?? undefined,
  };
}

const DeviceIdParams = t.Object({ deviceId: t.String({ minLength: 1 }) });

export function devicesApi(hs: Homeserver, prefix: string) {
  // Guests may list and rename their devices (spec: "Guest access").
  const anyUser = new Elysia({ name: "api.devices.any", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/devices", ({ requester }) => ({ devices: hs.store.devices.list(requester.userId).map(deviceView) }))
    .get(
      "/devices/:deviceId",
      ({ params, requester }) => {
        const device = hs.store.devices.get(requester.userId, params.deviceId);
        if (!device) throw notFound("Device not found");
        return deviceView(device);
      },
      { params: DeviceIdParams },
    )
    .put(
      "/devices/:deviceId",
      ({ params, body, requester }) => {
        if (!hs.store.devices.get(requester.userId, params.deviceId)) throw notFound("Device not found");
        if (body.display_name !== undefined) {
          hs.store.devices.setDisplayName(requester.userId, params.deviceId, body.display_name);
        }
        return {};
      },
      { params: DeviceIdParams, body: t.Object({ display_name: t.Optional(t.String({ maxLength: 255 })) }) },
    );

  // Deleting devices needs the password again (user-interactive auth).
  const removeDevices = async (requester: Requester, auth: unknown, deviceIds: string[]) => {
    await hs.uia.authenticate({ auth, flows: PASSWORD_FLOWS, verifiers: passwordStageFor(hs, requester), userId: requester.userId });
    // Unknown device ids are ignored, as Synapse does: the outcome the client wants already holds.
    hs.store.transaction(() => deleteDevices(hs, requester.userId, deviceIds));
    return {};
  };

  const registered = new Elysia({ name: "api.devices.registered", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .delete("/devices/:deviceId", ({ params, body, requester }) => removeDevices(requester, body?.auth, [params.deviceId]), {
      params: DeviceIdParams,
      body: t.Optional(t.Object({ auth: t.Optional(t.Unknown()) })),
    })
    .post("/delete_devices", ({ body, requester }) => removeDevices(requester, body.auth, body.devices), {
      body: t.Object({ devices: t.Array(t.String()), auth: t.Optional(t.Unknown()) }),
    });

  return new Elysia({ name: "api.devices", seed: `${hs.instanceId}${prefix}` }).use(anyUser).use(registered);
}
