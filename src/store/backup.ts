// Server-side key backup: backup versions and the megolm sessions stored in them
// (spec: Client-Server API, "Server-side key backups").
import { and, count, eq, sql } from "drizzle-orm";
import { roomKeyBackupSessions, roomKeyBackupVersions } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type BackupVersionRow = typeof roomKeyBackupVersions.$inferSelect;
export type BackupSessionRow = typeof roomKeyBackupSessions.$inferSelect;

export function createBackupStore(db: Db) {
  const sessionStmt = lazy(() =>
    db
      .select()
      .from(roomKeyBackupSessions)
      .where(
        and(
          eq(roomKeyBackupSessions.userId, sql.placeholder("userId")),
          eq(roomKeyBackupSessions.version, sql.placeholder("version")),
          eq(roomKeyBackupSessions.roomId, sql.placeholder("roomId")),
          eq(roomKeyBackupSessions.sessionId, sql.placeholder("sessionId")),
        ),
      )
      .prepare(),
  );
  const countStmt = lazy(() =>
    db
      .select({ n: count() })
      .from(roomKeyBackupSessions)
      .where(and(eq(roomKeyBackupSessions.userId, sql.placeholder("userId")), eq(roomKeyBackupSessions.version, sql.placeholder("version"))))
      .prepare(),
  );
  const versionWhere = (userId: string, version: number) => and(eq(roomKeyBackupVersions.userId, userId), eq(roomKeyBackupVersions.version, version));
  /** Sessions of a version, narrowed to a room and a session when given. */
  const sessionsWhere = (userId: string, version: number, roomId?: string, sessionId?: string) =>
    and(
      eq(roomKeyBackupSessions.userId, userId),
      eq(roomKeyBackupSessions.version, version),
      roomId === undefined ? undefined : eq(roomKeyBackupSessions.roomId, roomId),
      sessionId === undefined ? undefined : eq(roomKeyBackupSessions.sessionId, sessionId),
    );

  return {
    /** The version row, deleted or not. */
    version(userId: string, version: number): BackupVersionRow | undefined {
      return db.select().from(roomKeyBackupVersions).where(versionWhere(userId, version)).get();
    },
    /** The highest version that is not deleted. */
    currentVersion(userId: string): BackupVersionRow | undefined {
      return db
        .select()
        .from(roomKeyBackupVersions)
        .where(and(eq(roomKeyBackupVersions.userId, userId), eq(roomKeyBackupVersions.deleted, false)))
        .orderBy(sql`${roomKeyBackupVersions.version} DESC`)
        .limit(1)
        .get();
    },
    /** The highest version ever created, deleted ones included (0: none). */
    highestVersion(userId: string): number {
      return db
        .select({ v: sql<number>`COALESCE(MAX(${roomKeyBackupVersions.version}), 0)` })
        .from(roomKeyBackupVersions)
        .where(eq(roomKeyBackupVersions.userId, userId))
        .get()!.v;
    },
    insertVersion(row: { userId: string; version: number; algorithm: string; authData: string }): void {
      db.insert(roomKeyBackupVersions).values(row).run();
    },
    setAuthData(userId: string, version: number, authData: string): void {
      db.update(roomKeyBackupVersions).set({ authData }).where(versionWhere(userId, version)).run();
    },
    setEtag(userId: string, version: number, etag: number): void {
      db.update(roomKeyBackupVersions).set({ etag }).where(versionWhere(userId, version)).run();
    },
    /** Marks the version deleted (its number is never handed out again) and drops its keys. */
    markDeleted(userId: string, version: number): void {
      db.update(roomKeyBackupVersions).set({ deleted: true }).where(versionWhere(userId, version)).run();
      db.delete(roomKeyBackupSessions).where(sessionsWhere(userId, version)).run();
    },

    /** Every version and key of the user (account deactivation). */
    deleteAllOfUser(userId: string): void {
      db.delete(roomKeyBackupSessions).where(eq(roomKeyBackupSessions.userId, userId)).run();
      db.delete(roomKeyBackupVersions).where(eq(roomKeyBackupVersions.userId, userId)).run();
    },

    session(userId: string, version: number, roomId: string, sessionId: string): BackupSessionRow | undefined {
      return (sessionStmt().get({ userId, version, roomId, sessionId }) as BackupSessionRow | null) ?? undefined;
    },
    putSession(row: BackupSessionRow): void {
      const { userId, version, roomId, sessionId, ...data } = row;
      db.insert(roomKeyBackupSessions)
        .values(row)
        .onConflictDoUpdate({
          target: [roomKeyBackupSessions.userId, roomKeyBackupSessions.version, roomKeyBackupSessions.roomId, roomKeyBackupSessions.sessionId],
          set: data,
        })
        .run();
    },
    sessions(userId: string, version: number, roomId?: string, sessionId?: string): BackupSessionRow[] {
      return db.select().from(roomKeyBackupSessions).where(sessionsWhere(userId, version, roomId, sessionId)).all();
    },
    /** Returns how many sessions were deleted. */
    deleteSessions(userId: string, version: number, roomId?: string, sessionId?: string): number {
      return db.delete(roomKeyBackupSessions).where(sessionsWhere(userId, version, roomId, sessionId)).returning({ r: roomKeyBackupSessions.roomId }).all().length;
    },
    countSessions(userId: string, version: number): number {
      return (countStmt().get({ userId, version }) as { n: number }).n;
    },
  };
}

export type BackupStore = ReturnType<typeof createBackupStore>;
