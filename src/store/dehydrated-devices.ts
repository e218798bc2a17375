// Dehydrated devices (MSC3814): at most one per user, its opaque device data as JSON.
import { eq } from "drizzle-orm";
import { dehydratedDevices } from "../../schema";
import type { Db } from "./db";

export function createDehydratedDevicesStore(db: Db) {
  return {
    get(userId: string): { deviceId: string; deviceData: string } | undefined {
      return db.select({ deviceId: dehydratedDevices.deviceId, deviceData: dehydratedDevices.deviceData }).from(dehydratedDevices).where(eq(dehydratedDevices.userId, userId)).get();
    },
    put(userId: string, deviceId: string, deviceData: string): void {
      db.insert(dehydratedDevices)
        .values({ userId, deviceId, deviceData })
        .onConflictDoUpdate({ target: dehydratedDevices.userId, set: { deviceId, deviceData } })
        .run();
    },
    /** Forgets the user's dehydrated device if it is one of `deviceIds`. */
    forget(userId: string, deviceIds: string[]): void {
      const current = this.get(userId);
      if (current && deviceIds.includes(current.deviceId)) db.delete(dehydratedDevices).where(eq(dehydratedDevices.userId, userId)).run();
    },
  };
}

export type DehydratedDevicesStore = ReturnType<typeof createDehydratedDevicesStore>;
