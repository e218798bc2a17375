import { and, eq, sql } from "drizzle-orm";
import { crossSigningKeys, keySignatures } from "../../schema";
import type { Db } from "./db";
import { lazy } from "./lazy";

export type CrossSigningUsage = "master" | "self_signing" | "user_signing";

export interface StoredCrossSigningKey {
  usage: CrossSigningUsage;
  publicKey: string;
  json: string;
}

export interface StoredSignature {
  targetKeyId: string;
  signerUserId: string;
  signerKeyId: string;
  signature: string;
}

/** Cross-signing keys and the signatures uploaded for keys (spec: "Cross-signing"). */
export function createCrossSigningStore(db: Db) {
  // Prepared once: /keys/query asks these for every user it is given.
  const keysOfUser = lazy(() =>
    db
      .select({ usage: crossSigningKeys.usage, publicKey: crossSigningKeys.publicKey, json: crossSigningKeys.json })
      .from(crossSigningKeys)
      .where(eq(crossSigningKeys.userId, sql.placeholder("userId")))
      .prepare(),
  );
  const signaturesOnKeys = lazy(() =>
    db
      .select({
        targetKeyId: keySignatures.targetKeyId,
        signerUserId: keySignatures.signerUserId,
        signerKeyId: keySignatures.signerKeyId,
        signature: keySignatures.signature,
      })
      .from(keySignatures)
      .where(
        and(
          eq(keySignatures.targetUserId, sql.placeholder("userId")),
          sql`${keySignatures.targetKeyId} IN (SELECT value FROM json_each(${sql.placeholder("keyIds")}))`,
        ),
      )
      .prepare(),
  );

  return {
    keysOf(userId: string): StoredCrossSigningKey[] {
      return keysOfUser().all({ userId }) as StoredCrossSigningKey[];
    },
    key(userId: string, usage: CrossSigningUsage): StoredCrossSigningKey | undefined {
      return db
        .select({ usage: crossSigningKeys.usage, publicKey: crossSigningKeys.publicKey, json: crossSigningKeys.json })
        .from(crossSigningKeys)
        .where(and(eq(crossSigningKeys.userId, userId), eq(crossSigningKeys.usage, usage)))
        .get() as StoredCrossSigningKey | undefined;
    },
    putKey(userId: string, usage: CrossSigningUsage, publicKey: string, json: string): void {
      db.insert(crossSigningKeys)
        .values({ userId, usage, publicKey, json })
        .onConflictDoUpdate({ target: [crossSigningKeys.userId, crossSigningKeys.usage], set: { publicKey, json } })
        .run();
    },
    /** Signatures made on the given keys (device ids or cross-signing public keys) of one user. */
    signaturesOn(targetUserId: string, targetKeyIds: string[]): StoredSignature[] {
      if (targetKeyIds.length === 0) return [];
      return signaturesOnKeys().all({ userId: targetUserId, keyIds: JSON.stringify(targetKeyIds) }) as StoredSignature[];
    },
    putSignature(row: { targetUserId: string } & StoredSignature): void {
      db.insert(keySignatures)
        .values(row)
        .onConflictDoUpdate({
          target: [keySignatures.targetUserId, keySignatures.targetKeyId, keySignatures.signerUserId, keySignatures.signerKeyId],
          set: { signature: row.signature },
        })
        .run();
    },
    /** Forgets the signatures on a device (deleted) or on a replaced cross-signing key. */
    deleteSignaturesOn(targetUserId: string, targetKeyId: string): void {
      db.delete(keySignatures).where(and(eq(keySignatures.targetUserId, targetUserId), eq(keySignatures.targetKeyId, targetKeyId))).run();
    },
  };
}

export type CrossSigningStore = ReturnType<typeof createCrossSigningStore>;
