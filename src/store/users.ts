import { and, asc, count, eq, like, sql, type SQL } from "drizzle-orm";
import { users } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type UserRow = typeof users.$inferSelect;

export interface NewUser {
  userId: string;
  passwordHash: string | null;
  isAdmin?: boolean;
  isGuest?: boolean;
  displayName?: string | null;
  createdTs: number;
}

export function createUsersStore(db: Db) {
  const byId = lazy(() => db.select().from(users).where(eq(users.userId, sql.placeholder("userId"))).prepare());
  // Users by id, for the lookup every authenticated request makes; every write
  // below forgets the user it changes.
  const userCache = new Map<string, UserRow>();
  const forget = (userId: string) => userCache.delete(userId);
  return {
    get(userId: string): UserRow | undefined {
      const cached = userCache.get(userId);
      if (cached) return cached;
      const row = (byId().get({ userId }) as UserRow | null) ?? undefined;
      if (row) {
        if (userCache.size >= 50_000) userCache.clear();
        userCache.set(userId, row);
      }
      return row;
    },
    dropCaches(): void {
      userCache.clear();
    },
    insert(user: NewUser): void {
      forget(user.userId);
      db.insert(users).values(user).run();
    },
    /** Some user id, if there are users at all. */
    anyUserId(): string | undefined {
      return db.select({ userId: users.userId }).from(users).limit(1).get()?.userId;
    },
    count(): number {
      return db.select({ n: count() }).from(users).get()!.n;
    },
    setPasswordHash(userId: string, passwordHash: string | null): void {
      forget(userId);
      db.update(users).set({ passwordHash }).where(eq(users.userId, userId)).run();
    },
    setAdmin(userId: string, isAdmin: boolean): void {
      forget(userId);
      db.update(users).set({ isAdmin }).where(eq(users.userId, userId)).run();
    },
    setDisplayName(userId: string, displayName: string | null): void {
      forget(userId);
      db.update(users).set({ displayName }).where(eq(users.userId, userId)).run();
    },
    setAvatarUrl(userId: string, avatarUrl: string | null): void {
      forget(userId);
      db.update(users).set({ avatarUrl }).where(eq(users.userId, userId)).run();
    },
    setDeactivated(userId: string, deactivated: boolean): void {
      forget(userId);
      db.update(users).set({ deactivated }).where(eq(users.userId, userId)).run();
    },
    /** Admin listing, ordered by user id, a page at `offset`. */
    list(options: { offset: number; limit: number; includeGuests: boolean; includeDeactivated: boolean; nameContains?: string }) {
      const filters: SQL[] = [];
      if (!options.includeGuests) filters.push(eq(users.isGuest, false));
      if (!options.includeDeactivated) filters.push(eq(users.deactivated, false));
      if (options.nameContains) filters.push(like(users.userId, `%${options.nameContains.replace(/[%_]/g, "")}%`));
      const total = db.select({ n: count() }).from(users).where(and(...filters)).get()!.n;
      const rows = db
        .select()
        .from(users)
        .where(and(...filters))
        .orderBy(asc(users.userId))
        .limit(options.limit)
        .offset(options.offset)
        .all();
      return { rows, total };
    },
  };
}

export type UsersStore = ReturnType<typeof createUsersStore>;
