// Changing and closing accounts (spec: "Account management").
import type { Homeserver } from "../homeserver";
import { deleteDevices } from "./devices";
import { hashPassword } from "./passwords";

/**
 * Sets a new password. With `logoutDevices`, every other device (and its tokens)
 * is removed, keeping `keepDeviceId` (the device that asked), as the spec says.
 */
export async function changePassword(
  hs: Homeserver,
  userId: string,
  newPassword: string,
  options: { logoutDevices: boolean; keepDeviceId: string | null },
): Promise<void> {
  const passwordHash = await hashPassword(newPassword, hs.config.password_hashing);
  hs.store.transaction(() => {
    hs.store.users.setPasswordHash(userId, passwordHash);
    if (options.logoutDevices) deleteDevices(hs, userId, hs.store.devices.idsExcept(userId, options.keepDeviceId));
  });
}

/**
 * Deactivation: the account can never log in again; all its devices and tokens
 * go, and so do its server-side key backups (as Synapse does): nobody can read
 * them any more.
 */
export function deactivateAccount(hs: Homeserver, userId: string, options: { erase: boolean }): void {
  hs.store.transaction(() => {
    hs.store.users.setDeactivated(userId, true);
    hs.store.users.setPasswordHash(userId, null);
    deleteDevices(hs, userId, hs.store.devices.idsExcept(userId, null));
    hs.store.backup.deleteAllOfUser(userId);
    if (options.erase) hs.store.users.setDisplayName(userId, null);
  });
}
