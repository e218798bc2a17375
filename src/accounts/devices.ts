import { deleteDeviceKeys } from "../e2ee/keys";
import type { Homeserver } from "../homeserver";

/**
 * Removes devices with every credential bound to them. The one way devices go
 * away (logout, logout/all, DELETE /devices, password change, deactivation), so
 * that what else must follow a device (its keys, device-list notifications, its pushers) is
 * added in one place.
 */
export function deleteDevices(hs: Homeserver, userId: string, deviceIds: string[]): void {
  hs.store.devices.delete(userId, deviceIds);
  hs.store.toDevice.deleteForDevices(userId, deviceIds);
  deleteDeviceKeys(hs, userId, deviceIds);
  hs.store.dehydratedDevices.forget(userId, deviceIds);
  hs.store.pushers.deleteForDevices(userId, deviceIds);
}
