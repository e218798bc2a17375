import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import { accessTokens, devices, refreshTokens } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type DeviceRow = typeof devices.$inferSelect;
export type AccessTokenRow = typeof accessTokens.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

/** Devices and the credentials bound to them: removing a device removes its tokens. */
export function createDevicesStore(db: Db) {
  const tokenByHash = lazy(() => db
    .select()
    .from(accessTokens)
    .where(eq(accessTokens.tokenHash, sql.placeholder("tokenHash")))
    .prepare());

  // Listed once per user by /keys/query, which may ask for hundreds of users.
  const listStmt = lazy(() => db.select().from(devices).where(eq(devices.userId, sql.placeholder("userId"))).orderBy(asc(devices.deviceId)).prepare());

  // Access tokens by hash, for the lookup every authenticated request makes.
  // Any deletion or change of a token clears it (they are rare: logout, refresh).
  const tokenCache = new Map<string, AccessTokenRow>();
  const TOKEN_CACHE_MAX = 50_000;

  const deleteCredentials = (userId: string, deviceIds: string[]) => {
    tokenCache.clear();
    db.delete(accessTokens).where(and(eq(accessTokens.userId, userId), inArray(accessTokens.deviceId, deviceIds))).run();
    db.delete(refreshTokens).where(and(eq(refreshTokens.userId, userId), inArray(refreshTokens.deviceId, deviceIds))).run();
  };

  return {
    get(userId: string, deviceId: string): DeviceRow | undefined {
      return db.select().from(devices).where(and(eq(devices.userId, userId), eq(devices.deviceId, deviceId))).get();
    },
    list(userId: string): DeviceRow[] {
      return listStmt().all({ userId }) as DeviceRow[];
    },
    insert(device: { userId: string; deviceId: string; displayName: string | null; createdTs: number }): void {
      db.insert(devices).values(device).run();
    },
    setDisplayName(userId: string, deviceId: string, displayName: string | null): void {
      db.update(devices).set({ displayName }).where(and(eq(devices.userId, userId), eq(devices.deviceId, deviceId))).run();
    },
    recordLastSeen(userId: string, deviceId: string, ts: number, ip: string): void {
      db.update(devices)
        .set({ lastSeenTs: ts, lastSeenIp: ip })
        .where(and(eq(devices.userId, userId), eq(devices.deviceId, deviceId)))
        .run();
    },
    /** Deletes the devices and every token bound to them. */
    delete(userId: string, deviceIds: string[]): void {
      if (deviceIds.length === 0) return;
      deleteCredentials(userId, deviceIds);
      db.delete(devices).where(and(eq(devices.userId, userId), inArray(devices.deviceId, deviceIds))).run();
    },
    /** Device ids of `userId` other than `keep` (all of them when `keep` is null). */
    idsExcept(userId: string, keep: string | null): string[] {
      const where = keep === null ? eq(devices.userId, userId) : and(eq(devices.userId, userId), ne(devices.deviceId, keep));
      return db.select({ id: devices.deviceId }).from(devices).where(where).all().map((r) => r.id);
    },
    /** Invalidates every credential of one device, keeping the device (login with an existing device_id). */
    revokeCredentials(userId: string, deviceId: string): void {
      deleteCredentials(userId, [deviceId]);
    },

    findAccessToken(tokenHash: string): AccessTokenRow | undefined {
      const cached = tokenCache.get(tokenHash);
      if (cached) return cached;
      const row = (tokenByHash().get({ tokenHash }) as AccessTokenRow | null) ?? undefined;
      if (row) {
        if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
        tokenCache.set(tokenHash, row);
      }
      return row;
    },
    dropCaches(): void {
      tokenCache.clear();
    },
    insertAccessToken(token: AccessTokenRow): void {
      db.insert(accessTokens).values(token).run();
    },
    findRefreshToken(tokenHash: string): RefreshTokenRow | undefined {
      return db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get();
    },
    insertRefreshToken(token: RefreshTokenRow): void {
      db.insert(refreshTokens).values(token).run();
    },
    /** Revokes a refresh token and the access tokens issued with it. */
    revokeRefreshPair(refreshHash: string): void {
      tokenCache.clear();
      db.delete(accessTokens).where(eq(accessTokens.refreshTokenHash, refreshHash)).run();
      db.delete(refreshTokens).where(eq(refreshTokens.tokenHash, refreshHash)).run();
    },
    /** Refresh tokens issued for `refreshHash` and not used yet. */
    successorsOf(refreshHash: string): string[] {
      return db.select({ hash: refreshTokens.tokenHash }).from(refreshTokens).where(eq(refreshTokens.replacesHash, refreshHash)).all().map((r) => r.hash);
    },
    /** Marks that the predecessor of a refresh pair has been revoked. */
    clearReplaced(accessHash: string, refreshHash: string | null): void {
      tokenCache.delete(accessHash);
      db.update(accessTokens).set({ replacesRefreshHash: null }).where(eq(accessTokens.tokenHash, accessHash)).run();
      if (refreshHash) db.update(refreshTokens).set({ replacesHash: null }).where(eq(refreshTokens.tokenHash, refreshHash)).run();
    },
  };
}

export type DevicesStore = ReturnType<typeof createDevicesStore>;
