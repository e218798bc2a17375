// Repositories for what sync delivers besides room events: filters, account
// data, receipts, send-to-device messages and presence.
import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import { accountData, filters, presence, receipts, toDeviceMessages } from "../../schema";
import type { Db } from "./db";
import { byLimitBucket, lazy, literalLimit } from "./lazy";

export type AccountDataRow = typeof accountData.$inferSelect;
export type ReceiptRow = typeof receipts.$inferSelect;
export type ToDeviceRow = typeof toDeviceMessages.$inferSelect;
export type PresenceRow = typeof presence.$inferSelect;

export function createFiltersStore(db: Db) {
  const filterOf = lazy(() =>
    db
      .select({ json: filters.json })
      .from(filters)
      .where(and(eq(filters.userId, sql.placeholder("userId")), eq(filters.filterId, sql.placeholder("filterId"))))
      .prepare(),
  );
  return {
    insert(userId: string, json: string): string {
      const { n } = db.select({ n: sql<number>`COUNT(*)` }).from(filters).where(eq(filters.userId, userId)).get()!;
      const filterId = String(n);
      db.insert(filters).values({ userId, filterId, json }).run();
      return filterId;
    },
    get(userId: string, filterId: string): string | undefined {
      return (filterOf().get({ userId, filterId }) as { json: string } | null)?.json;
    },
  };
}

export function createAccountDataStore(db: Db) {
  const latestOfUser = lazy(() =>
    db
      .select({ pos: sql<number>`COALESCE(MAX(${accountData.streamPos}), 0)` })
      .from(accountData)
      .where(eq(accountData.userId, sql.placeholder("userId")))
      .prepare(),
  );
  // Prepared once: read markers and every PUT account_data come through get/put,
  // and building the SQL anew each call cost more than running it.
  const oneStmt = lazy(() =>
    db
      .select()
      .from(accountData)
      .where(and(eq(accountData.userId, sql.placeholder("userId")), eq(accountData.roomId, sql.placeholder("roomId")), eq(accountData.type, sql.placeholder("type"))))
      .prepare(),
  );
  const allStmt = lazy(() =>
    db
      .select()
      .from(accountData)
      .where(and(eq(accountData.userId, sql.placeholder("userId")), eq(accountData.roomId, sql.placeholder("roomId"))))
      .prepare(),
  );
  const putStmt = lazy(() =>
    db
      .insert(accountData)
      .values({
        userId: sql.placeholder("userId"),
        roomId: sql.placeholder("roomId"),
        type: sql.placeholder("type"),
        content: sql.placeholder("content"),
        streamPos: sql.placeholder("streamPos"),
      })
      .onConflictDoUpdate({
        target: [accountData.userId, accountData.roomId, accountData.type],
        set: { content: sql`excluded.content`, streamPos: sql`excluded.stream_pos` },
      })
      .prepare(),
  );
  const latestByUser = new Map<string, number>();
  const changedStmt = lazy(() => db
    .select()
    .from(accountData)
    .where(and(eq(accountData.userId, sql.placeholder("userId")), gt(accountData.streamPos, sql.placeholder("from")), lte(accountData.streamPos, sql.placeholder("to"))))
    .orderBy(asc(accountData.streamPos))
    .prepare());
  return {
    /** The latest account-data position of a user (kept in step with put()). */
    latestPos(userId: string): number {
      let pos = latestByUser.get(userId);
      if (pos === undefined) {
        pos = (latestOfUser().get({ userId }) as { pos: number }).pos;
        if (latestByUser.size > 100_000) latestByUser.clear();
        latestByUser.set(userId, pos);
      }
      return pos;
    },
    dropCaches(): void {
      latestByUser.clear();
    },
    get(userId: string, roomId: string, type: string): AccountDataRow | undefined {
      return oneStmt().get({ userId, roomId, type }) as AccountDataRow | undefined;
    },
    put(row: AccountDataRow): void {
      if (latestByUser.has(row.userId)) latestByUser.set(row.userId, row.streamPos);
      putStmt().run(row);
    },
    /** Account data of a user changed in (from, to]; all of it when from is 0. */
    changed(userId: string, from: number, to: number): AccountDataRow[] {
      return changedStmt().all({ userId, from, to }) as AccountDataRow[];
    },
    all(userId: string, roomId: string): AccountDataRow[] {
      return allStmt().all({ userId, roomId }) as AccountDataRow[];
    },
  };
}

export function createReceiptsStore(db: Db) {
  const receiptOf = lazy(() =>
    db
      .select()
      .from(receipts)
      .where(
        and(
          eq(receipts.roomId, sql.placeholder("roomId")),
          eq(receipts.receiptType, sql.placeholder("receiptType")),
          eq(receipts.userId, sql.placeholder("userId")),
          eq(receipts.threadId, sql.placeholder("threadId")),
        ),
      )
      .prepare(),
  );
  const changedInRoom = lazy(() =>
    db
      .select()
      .from(receipts)
      .where(and(eq(receipts.roomId, sql.placeholder("roomId")), gt(receipts.streamPos, sql.placeholder("from")), lte(receipts.streamPos, sql.placeholder("to"))))
      .orderBy(asc(receipts.streamPos))
      .prepare(),
  );
  // Every read receipt: prepared once (see the account data store).
  const putStmt = lazy(() =>
    db
      .insert(receipts)
      .values({
        roomId: sql.placeholder("roomId"),
        receiptType: sql.placeholder("receiptType"),
        userId: sql.placeholder("userId"),
        threadId: sql.placeholder("threadId"),
        eventId: sql.placeholder("eventId"),
        ts: sql.placeholder("ts"),
        streamPos: sql.placeholder("streamPos"),
      })
      .onConflictDoUpdate({
        target: [receipts.roomId, receipts.receiptType, receipts.userId, receipts.threadId],
        set: { eventId: sql`excluded.event_id`, ts: sql`excluded.ts`, streamPos: sql`excluded.stream_pos` },
      })
      .prepare(),
  );
  // Latest receipt position per room, kept in step with put() (see events.latestPos).
  const latestByRoom = new Map<string, number>();
  return {
    latestPos(roomId: string): number {
      let pos = latestByRoom.get(roomId);
      if (pos === undefined) {
        pos = db.select({ pos: sql<number>`COALESCE(MAX(${receipts.streamPos}), 0)` }).from(receipts).where(eq(receipts.roomId, roomId)).get()!.pos;
        latestByRoom.set(roomId, pos);
      }
      return pos;
    },
    dropCaches(): void {
      latestByRoom.clear();
    },
    put(row: ReceiptRow): void {
      if (latestByRoom.has(row.roomId)) latestByRoom.set(row.roomId, row.streamPos);
      putStmt().run(row);
    },
    get(roomId: string, receiptType: string, userId: string, threadId: string): ReceiptRow | undefined {
      return receiptOf().get({ roomId, receiptType, userId, threadId }) as ReceiptRow | undefined;
    },
    /** Receipts in a room changed in (from, to]. */
    changed(roomId: string, from: number, to: number): ReceiptRow[] {
      if (this.latestPos(roomId) <= from) return [];
      return changedInRoom().all({ roomId, from, to }) as ReceiptRow[];
    },
  };
}

/** `markStream` records the stream position durably; it runs whenever rows are deleted. */
export function createToDeviceStore(db: Db, markStream: () => void, transaction: <T>(work: () => T) => T) {
  const anyUpTo = lazy(() =>
    db
      .select({ pos: toDeviceMessages.streamPos })
      .from(toDeviceMessages)
      .where(and(eq(toDeviceMessages.userId, sql.placeholder("userId")), eq(toDeviceMessages.deviceId, sql.placeholder("deviceId")), lte(toDeviceMessages.streamPos, sql.placeholder("upTo"))))
      .limit(literalLimit(1))
      .prepare(),
  );
  const pendingStmt = byLimitBucket((bucket) => db
    .select()
    .from(toDeviceMessages)
    .where(and(eq(toDeviceMessages.userId, sql.placeholder("userId")), eq(toDeviceMessages.deviceId, sql.placeholder("deviceId")), lte(toDeviceMessages.streamPos, sql.placeholder("to"))))
    .orderBy(asc(toDeviceMessages.streamPos))
    .limit(literalLimit(bucket))
    .prepare());
  const newestStmt = lazy(() =>
    db
      .select({ pos: sql<number>`COALESCE(MAX(${toDeviceMessages.streamPos}), 0)` })
      .from(toDeviceMessages)
      .where(and(eq(toDeviceMessages.userId, sql.placeholder("userId")), eq(toDeviceMessages.deviceId, sql.placeholder("deviceId"))))
      .prepare(),
  );
  // The newest waiting message per device (0: none), kept in step with insert and
  // delete, so that the usual sync (nothing waiting) runs no to-device query.
  const newestWaiting = new Map<string, number>();
  const deviceKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;
  const newestFor = (userId: string, deviceId: string): number => {
    const key = deviceKey(userId, deviceId);
    let newest = newestWaiting.get(key);
    if (newest === undefined) {
      newest = (newestStmt().get({ userId, deviceId }) as { pos: number }).pos;
      if (newestWaiting.size > 100_000) newestWaiting.clear();
      newestWaiting.set(key, newest);
    }
    return newest;
  };
  return {
    insert(row: ToDeviceRow): void {
      db.insert(toDeviceMessages).values(row).run();
      const key = deviceKey(row.userId, row.deviceId);
      if (newestWaiting.has(key)) newestWaiting.set(key, Math.max(newestWaiting.get(key)!, row.streamPos));
    },
    dropCaches(): void {
      newestWaiting.clear();
    },
    /** Messages waiting for a device, oldest first, up to position `to`. */
    pending(userId: string, deviceId: string, to: number, limit: number): ToDeviceRow[] {
      if (newestFor(userId, deviceId) === 0) return [];
      return (pendingStmt(limit).all({ userId, deviceId, to }) as ToDeviceRow[]).slice(0, limit);
    },
    /** Messages for a device in (after, to], oldest first, without acknowledging them. */
    between(userId: string, deviceId: string, after: number, to: number, limit: number): ToDeviceRow[] {
      return db
        .select()
        .from(toDeviceMessages)
        .where(and(eq(toDeviceMessages.userId, userId), eq(toDeviceMessages.deviceId, deviceId), gt(toDeviceMessages.streamPos, after), lte(toDeviceMessages.streamPos, to)))
        .orderBy(asc(toDeviceMessages.streamPos))
        .limit(limit)
        .all();
    },
    /** Whether a message for the device waits after position `after`. */
    hasAfter(userId: string, deviceId: string, after: number): boolean {
      return newestFor(userId, deviceId) > after;
    },
    /** The device has seen everything up to `upTo`: those messages are done. Returns how many were deleted. */
    acknowledge(userId: string, deviceId: string, upTo: number): number {
      // Most syncs have nothing to acknowledge: find that out without a write.
      if (newestFor(userId, deviceId) === 0 || !anyUpTo().get({ userId, deviceId, upTo })) return 0;
      return transaction(() => {
        const deleted = db
          .delete(toDeviceMessages)
          .where(and(eq(toDeviceMessages.userId, userId), eq(toDeviceMessages.deviceId, deviceId), lte(toDeviceMessages.streamPos, upTo)))
          .returning({ pos: toDeviceMessages.streamPos })
          .all();
        if (deleted.length > 0) markStream();
        if (newestFor(userId, deviceId) <= upTo) newestWaiting.set(deviceKey(userId, deviceId), 0);
        return deleted.length;
      });
    },
    deleteForDevices(userId: string, deviceIds: string[]): void {
      if (deviceIds.length === 0) return;
      markStream();
      db.delete(toDeviceMessages).where(and(eq(toDeviceMessages.userId, userId), inArray(toDeviceMessages.deviceId, deviceIds))).run();
      for (const deviceId of deviceIds) newestWaiting.delete(deviceKey(userId, deviceId));
    },
  };
}

export function createPresenceStore(db: Db) {
  const presenceOf = lazy(() => db.select().from(presence).where(eq(presence.userId, sql.placeholder("userId"))).prepare());
  const changedStmt = lazy(() =>
    db
      .select()
      .from(presence)
      .where(and(gt(presence.streamPos, sql.placeholder("from")), lte(presence.streamPos, sql.placeholder("to"))))
      .prepare(),
  );
  // Prepared once: presence changes with every request of an active user.
  const putStmt = lazy(() =>
    db
      .insert(presence)
      .values({
        userId: sql.placeholder("userId"),
        state: sql.placeholder("state"),
        statusMsg: sql.placeholder("statusMsg"),
        lastActiveTs: sql.placeholder("lastActiveTs"),
        streamPos: sql.placeholder("streamPos"),
      })
      .onConflictDoUpdate({
        target: presence.userId,
        set: { state: sql`excluded.state`, statusMsg: sql`excluded.status_msg`, lastActiveTs: sql`excluded.last_active_ts`, streamPos: sql`excluded.stream_pos` },
      })
      .prepare(),
  );
  // The latest presence position, kept in step with put(), so that a sync with no
  // presence news runs no query.
  let latest: number | undefined;
  // Each user's row (null: none), kept in step with put(): every sync request
  // of a client that sets presence reads it.
  const rows = new Map<string, PresenceRow | null>();
  return {
    get(userId: string): PresenceRow | undefined {
      let row = rows.get(userId);
      if (row === undefined) {
        if (rows.size >= 100_000) rows.clear();
        row = (presenceOf().get({ userId }) as PresenceRow | null) ?? null;
        rows.set(userId, row);
      }
      return row ?? undefined;
    },
    put(row: PresenceRow): void {
      if (latest !== undefined) latest = Math.max(latest, row.streamPos);
      rows.set(row.userId, { ...row });
      putStmt().run({ userId: row.userId, state: row.state, statusMsg: row.statusMsg ?? null, lastActiveTs: row.lastActiveTs, streamPos: row.streamPos });
    },
    /** Presence changed in (from, to], of everyone (callers keep those the user may see). */
    changed(from: number, to: number): PresenceRow[] {
      if (this.latestPos() <= from) return [];
      return changedStmt().all({ from, to }) as PresenceRow[];
    },
    latestPos(): number {
      return (latest ??= db.select({ pos: sql<number>`COALESCE(MAX(${presence.streamPos}), 0)` }).from(presence).get()!.pos);
    },
    dropCaches(): void {
      latest = undefined;
      rows.clear();
    },
  };
}
