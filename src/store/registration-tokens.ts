import { asc, eq, sql } from "drizzle-orm";
import { registrationTokens } from "../../schema";
import type { Db } from "./db";

export type RegistrationTokenRow = typeof registrationTokens.$inferSelect;

export function createRegistrationTokensStore(db: Db) {
  return {
    get(token: string): RegistrationTokenRow | undefined {
      return db.select().from(registrationTokens).where(eq(registrationTokens.token, token)).get();
    },
    list(): RegistrationTokenRow[] {
      return db.select().from(registrationTokens).orderBy(asc(registrationTokens.token)).all();
    },
    insert(row: { token: string; usesAllowed: number | null; expiryTime: number | null; grantsAdmin?: boolean }): void {
      db.insert(registrationTokens).values(row).run();
    },
    update(token: string, changes: { usesAllowed?: number | null; expiryTime?: number | null }): void {
      db.update(registrationTokens).set(changes).where(eq(registrationTokens.token, token)).run();
    },
    delete(token: string): boolean {
      const existed = db.select().from(registrationTokens).where(eq(registrationTokens.token, token)).get() !== undefined;
      db.delete(registrationTokens).where(eq(registrationTokens.token, token)).run();
      return existed;
    },
    recordUse(token: string): void {
      db.update(registrationTokens)
        .set({ completed: sql`${registrationTokens.completed} + 1` })
        .where(eq(registrationTokens.token, token))
        .run();
    },
    /** The unused first-start token, if the server printed one. */
    findBootstrap(): RegistrationTokenRow | undefined {
      return db.select().from(registrationTokens).where(eq(registrationTokens.grantsAdmin, true)).get();
    },
  };
}

export type RegistrationTokensStore = ReturnType<typeof createRegistrationTokensStore>;
