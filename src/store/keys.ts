import { and, asc, count, eq, gt, lte, sql } from "drizzle-orm";
import { deviceKeys, deviceListChanges, fallbackKeys, oneTimeKeys } from "../../schema";
import type { Db } from "./db";
import { lazy, literalLimit } from "./lazy";

export function createKeysStore(db: Db) {
  const otkCounts = lazy(() =>
    db
      .select({ algorithm: oneTimeKeys.algorithm, n: count() })
      .from(oneTimeKeys)
      .where(and(eq(oneTimeKeys.userId, sql.placeholder("userId")), eq(oneTimeKeys.deviceId, sql.placeholder("deviceId"))))
      .groupBy(oneTimeKeys.algorithm)
      .prepare(),
  );
  const unusedFallback = lazy(() =>
    db
      .select({ algorithm: fallbackKeys.algorithm })
      .from(fallbackKeys)
      .where(and(eq(fallbackKeys.userId, sql.placeholder("userId")), eq(fallbackKeys.deviceId, sql.placeholder("deviceId")), eq(fallbackKeys.used, false)))
      .prepare(),
  );
  // /keys/query and /keys/claim run these once per user or device asked for
  // (hundreds per request): prepared once, not rebuilt by drizzle each time.
  const allDeviceKeysStmt = lazy(() =>
    db.select({ deviceId: deviceKeys.deviceId, json: deviceKeys.json }).from(deviceKeys).where(eq(deviceKeys.userId, sql.placeholder("userId"))).prepare(),
  );
  const otkWhere = and(
    eq(oneTimeKeys.userId, sql.placeholder("userId")),
    eq(oneTimeKeys.deviceId, sql.placeholder("deviceId")),
    eq(oneTimeKeys.algorithm, sql.placeholder("algorithm")),
  );
  // Finds and removes the oldest key in one statement (half the cost of a select and a delete).
  const takeOtkStmt = lazy(() => {
    const oldest = db.select({ rowid: sql`rowid` }).from(oneTimeKeys).where(otkWhere).orderBy(asc(oneTimeKeys.keyId)).limit(literalLimit(1));
    return db.delete(oneTimeKeys).where(sql`rowid = (${oldest})`).returning({ keyId: oneTimeKeys.keyId, json: oneTimeKeys.json }).prepare();
  });
  // The latest device-list change position, kept in step with recordChange().
  let latestChange: number | undefined;
  // Key counts per device, for every sync: forgotten on any write to that device's keys.
  const countCache = new Map<string, { counts: Record<string, number>; fallback: string[] }>();
  const deviceKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;
  const forget = (userId: string, deviceId: string) => countCache.delete(deviceKey(userId, deviceId));

  return {
    deviceKeys(userId: string, deviceId: string): string | undefined {
      return db.select({ json: deviceKeys.json }).from(deviceKeys).where(and(eq(deviceKeys.userId, userId), eq(deviceKeys.deviceId, deviceId))).get()?.json;
    },
    allDeviceKeys(userId: string): { deviceId: string; json: string }[] {
      return allDeviceKeysStmt().all({ userId }) as { deviceId: string; json: string }[];
    },
    putDeviceKeys(userId: string, deviceId: string, json: string): void {
      db.insert(deviceKeys).values({ userId, deviceId, json }).onConflictDoUpdate({ target: [deviceKeys.userId, deviceKeys.deviceId], set: { json } }).run();
    },
    oneTimeKey(userId: string, deviceId: string, algorithm: string, keyId: string): string | undefined {
      return db
        .select({ json: oneTimeKeys.json })
        .from(oneTimeKeys)
        .where(and(eq(oneTimeKeys.userId, userId), eq(oneTimeKeys.deviceId, deviceId), eq(oneTimeKeys.algorithm, algorithm), eq(oneTimeKeys.keyId, keyId)))
        .get()?.json;
    },
    addOneTimeKey(row: { userId: string; deviceId: string; algorithm: string; keyId: string; json: string }): void {
      forget(row.userId, row.deviceId);
      db.insert(oneTimeKeys).values(row).onConflictDoNothing().run();
    },
    /** Removes and returns one one-time key of the algorithm (the oldest key id). */
    takeOneTimeKey(userId: string, deviceId: string, algorithm: string): { keyId: string; json: string } | undefined {
      const row = (takeOtkStmt().get({ userId, deviceId, algorithm }) as { keyId: string; json: string } | null) ?? undefined;
      if (row) forget(userId, deviceId);
      return row;
    },
    /** One-time key counts and unused fallback key types of a device (cached). */
    keyCounts(userId: string, deviceId: string): { counts: Record<string, number>; fallback: string[] } {
      const key = deviceKey(userId, deviceId);
      let known = countCache.get(key);
      if (!known) {
        const counts: Record<string, number> = {};
        for (const row of otkCounts().all({ userId, deviceId }) as { algorithm: string; n: number }[]) counts[row.algorithm] = row.n;
        const fallback = (unusedFallback().all({ userId, deviceId }) as { algorithm: string }[]).map((row) => row.algorithm);
        known = { counts, fallback };
        if (countCache.size > 100_000) countCache.clear();
        countCache.set(key, known);
      }
      return known;
    },
    oneTimeKeyCounts(userId: string, deviceId: string): Record<string, number> {
      return this.keyCounts(userId, deviceId).counts;
    },
    putFallbackKey(row: { userId: string; deviceId: string; algorithm: string; keyId: string; json: string }): void {
      forget(row.userId, row.deviceId);
      db.insert(fallbackKeys)
        .values({ ...row, used: false })
        .onConflictDoUpdate({ target: [fallbackKeys.userId, fallbackKeys.deviceId, fallbackKeys.algorithm], set: { keyId: row.keyId, json: row.json, used: false } })
        .run();
    },
    /** The fallback key of the algorithm, marked used. */
    useFallbackKey(userId: string, deviceId: string, algorithm: string): { keyId: string; json: string } | undefined {
      const where = and(eq(fallbackKeys.userId, userId), eq(fallbackKeys.deviceId, deviceId), eq(fallbackKeys.algorithm, algorithm));
      const row = db.select({ keyId: fallbackKeys.keyId, json: fallbackKeys.json }).from(fallbackKeys).where(where).get();
      if (row) {
        forget(userId, deviceId);
        db.update(fallbackKeys).set({ used: true }).where(where).run();
      }
      return row;
    },
    unusedFallbackKeyTypes(userId: string, deviceId: string): string[] {
      return this.keyCounts(userId, deviceId).fallback;
    },
    deleteDeviceKeys(userId: string, deviceId: string): void {
      forget(userId, deviceId);
      db.delete(deviceKeys).where(and(eq(deviceKeys.userId, userId), eq(deviceKeys.deviceId, deviceId))).run();
      db.delete(oneTimeKeys).where(and(eq(oneTimeKeys.userId, userId), eq(oneTimeKeys.deviceId, deviceId))).run();
      db.delete(fallbackKeys).where(and(eq(fallbackKeys.userId, userId), eq(fallbackKeys.deviceId, deviceId))).run();
    },
    recordChange(userId: string, streamPos: number): void {
      db.insert(deviceListChanges).values({ streamPos, userId }).run();
      if (latestChange !== undefined) latestChange = Math.max(latestChange, streamPos);
    },
    latestChangePos(): number {
      return (latestChange ??= db.select({ pos: sql<number>`COALESCE(MAX(${deviceListChanges.streamPos}), 0)` }).from(deviceListChanges).get()!.pos);
    },
    /** Users whose device lists changed in (from, to]. */
    changedUsers(from: number, to: number): string[] {
      if (this.latestChangePos() <= from) return [];
      return db
        .selectDistinct({ userId: deviceListChanges.userId })
        .from(deviceListChanges)
        .where(and(gt(deviceListChanges.streamPos, from), lte(deviceListChanges.streamPos, to)))
        .all()
        .map((row) => row.userId);
    },
    dropCaches(): void {
      latestChange = undefined;
      countCache.clear();
    },
  };
}

export type KeysStore = ReturnType<typeof createKeysStore>;
