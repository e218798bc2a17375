// Dehydrated devices (MSC3814, "Dehydrated Devices with SSSS"): a device kept in
// the user's account, with no access token, that other devices encrypt to while
// the user has no client running. A new client fetches the device's pickled
// account (opaque to us) and the to-device messages queued for it.
import { deleteDevices } from "../accounts/devices";
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { canonicalJson } from "../util/canonical-json";
import { now } from "../util/time";
import { uploadKeys, type KeysUpload } from "./keys";

type Json = Record<string, unknown>;

export interface DehydratedDeviceUpload extends KeysUpload {
  device_id: string;
  device_data: Json;
  initial_device_display_name?: string;
  device_keys: Json;
}

/** Batches of POST /dehydrated_device/{deviceId}/events: Synapse's default size. */
export const DEHYDRATED_EVENTS_LIMIT = 100;

const noDehydratedDevice = () => notFound("No dehydrated device available");

/**
 * PUT /dehydrated_device: "Each user has at most one dehydrated device;
 * uploading a new dehydrated device will remove any previously-set dehydrated
 * device" — through deleteDevices, so its keys and queued messages go with it.
 * The device, its data and its keys (the same fields as /keys/upload) are stored
 * together, so a device that cannot receive encrypted messages never exists.
 */
export function putDehydratedDevice(hs: Homeserver, userId: string, upload: DehydratedDeviceUpload): { device_id: string } {
  const deviceId = upload.device_id;
  hs.store.transaction(() => {
    const previous = hs.store.dehydratedDevices.get(userId);
    // The client picks the id (its curve25519 key); it must not take over a device that is logged in.
    if (hs.store.devices.get(userId, deviceId) && previous?.deviceId !== deviceId) {
      throw new MatrixError(400, "M_INVALID_PARAM", "The device id is in use by another device");
    }
    if (previous) deleteDevices(hs, userId, [previous.deviceId]);
    hs.store.devices.insert({ userId, deviceId, displayName: upload.initial_device_display_name ?? null, createdTs: now() });
    hs.store.dehydratedDevices.put(userId, deviceId, canonicalJson(upload.device_data));
    uploadKeys(hs, { userId, deviceId }, { device_keys: upload.device_keys, one_time_keys: upload.one_time_keys, fallback_keys: upload.fallback_keys });
  });
  return { device_id: deviceId };
}

/** GET /dehydrated_device: 404 M_NOT_FOUND when the user has none. */
export function getDehydratedDevice(hs: Homeserver, userId: string): { device_id: string; device_data: Json } {
  const device = hs.store.dehydratedDevices.get(userId);
  if (!device) throw noDehydratedDevice();
  return { device_id: device.deviceId, device_data: JSON.parse(device.deviceData) as Json };
}

/** DELETE /dehydrated_device: removes the device like any other; answers its id. */
export function deleteDehydratedDevice(hs: Homeserver, userId: string): { device_id: string } {
  const device = hs.store.dehydratedDevices.get(userId);
  if (!device) throw noDehydratedDevice();
  hs.store.transaction(() => deleteDevices(hs, userId, [device.deviceId]));
  return { device_id: device.deviceId };
}

/** `next_batch` tokens: "d" + the stream position of the last message handed out. */
function parseBatchToken(token: string | undefined): number {
  if (token === undefined) return 0;
  const match = /^d(0|[1-9][0-9]{0,14})$/.exec(token);
  if (!match) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid next_batch token");
  return Number(match[1]);
}

/**
 * POST /dehydrated_device/{deviceId}/events: the to-device messages queued for
 * the dehydrated device, oldest first, in batches. Unlike /sync, a later batch
 * does not delete the earlier ones, so an interrupted rehydration can start
 * again; the batch after the last one is empty and still carries a next_batch.
 * Any device id but the user's dehydrated one is 403 M_FORBIDDEN (MSC3814).
 */
export function dehydratedDeviceEvents(hs: Homeserver, userId: string, deviceId: string, nextBatch: string | undefined, limit = DEHYDRATED_EVENTS_LIMIT) {
  const device = hs.store.dehydratedDevices.get(userId);
  if (!device || device.deviceId !== deviceId) throw new MatrixError(403, "M_FORBIDDEN", "You may only fetch messages for your dehydrated device");
  const after = parseBatchToken(nextBatch);
  const rows = hs.store.toDevice.between(userId, deviceId, after, hs.store.stream.current, Math.max(1, limit));
  return {
    events: rows.map((row) => ({ type: row.type, sender: row.sender, content: JSON.parse(row.content) as Json })),
    next_batch: `d${rows.at(-1)?.streamPos ?? after}`,
  };
}
