import { and, eq, gt, lte } from "drizzle-orm";
import { openidTokens } from "../../schema";
import type { Db } from "./db";

/** OpenID tokens by hash; expired ones are deleted as new ones are issued. */
export function createOpenidTokensStore(db: Db) {
  return {
    insert(tokenHash: string, userId: string, expiresTs: number): void {
      db.insert(openidTokens).values({ tokenHash, userId, expiresTs }).run();
    },
    /** The owner of an unexpired token. */
    ownerOf(tokenHash: string, nowTs: number): string | undefined {
      return db
        .select({ userId: openidTokens.userId })
        .from(openidTokens)
        .where(and(eq(openidTokens.tokenHash, tokenHash), gt(openidTokens.expiresTs, nowTs)))
        .get()?.userId;
    },
    deleteExpired(nowTs: number): void {
      db.delete(openidTokens).where(lte(openidTokens.expiresTs, nowTs)).run();
    },
  };
}
