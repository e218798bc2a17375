// Transaction ids: PUT /send, /redact and /sendToDevice are idempotent per
// device, scope and txnId (spec: Client-Server API, "Transaction identifiers").
//
// The rows (schema/rooms.ts, transactionLog) are appended in the order they are
// made, so one group commit's rows share the table's last page; they are found
// through an index in memory from the tuple's 53-bit hash to their row numbers.
// A row found through the index is read back and must carry the same hash and a
// second, 64-bit hash of the tuple: a row rolled back (its index entry is left
// behind) or another tuple with the same 53 bits is not taken for it.
import type { Database } from "bun:sqlite";
import { now } from "../util/time";
import { lazy } from "./lazy";

/** How long a transaction id is remembered (Synapse keeps its transaction ids a day). */
export const TRANSACTION_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * At most this many rows are kept, the oldest deleted first even within the
 * retention (about 12 MB of index in memory): a server sending more than about
 * three messages a second all day long remembers them for less than a day.
 */
export const MAX_TRANSACTION_ROWS = 250_000;
/** Expired rows are deleted at most this often, and at most PRUNE_BATCH at a time, from a write. */
const PRUNE_INTERVAL_MS = 60 * 1000;
const PRUNE_BATCH = 20_000;

type TransactionHash = { key: number; check: bigint };

/** A transaction's key (53 bits) and check (64 bits, signed), from one SHA-256 of the tuple. */
export function transactionHash(userId: string, deviceId: string, scope: string, txnId: string): TransactionHash {
  const digest = new Bun.CryptoHasher("sha256").update(`${userId}\u0000${deviceId}\u0000${scope}\u0000${txnId}`).digest() as Buffer;
  return { key: digest.readUIntBE(0, 6) * 32 + (digest[6]! >> 3), check: digest.readBigInt64BE(8) };
}

export interface TransactionTuple {
  userId: string;
  deviceId: string;
  /** What the id is scoped to besides the device: the endpoint and its path (room, event type). */
  scope: string;
  txnId: string;
}

export function createTransactionsStore(sqlite: Database, options: { maxRows?: number } = {}) {
  const maxRows = options.maxRows ?? MAX_TRANSACTION_ROWS;
  const rowAt = lazy(() => sqlite.query(`SELECT event_id AS eventId FROM transaction_log WHERE seq = ?1 AND key = ?2 AND "check" = ?3`));
  const insert = lazy(() => sqlite.query(`INSERT INTO transaction_log (key, "check", event_id, created_ts) VALUES (?1, ?2, ?3, ?4)`));
  // The rows to expire are the oldest, at the start of the rowid order: only they are read.
  const firstKept = lazy(() => sqlite.query(`SELECT seq FROM transaction_log WHERE created_ts >= ?1 ORDER BY seq LIMIT 1`));
  const newest = lazy(() => sqlite.query(`SELECT MAX(seq) AS seq FROM transaction_log`));
  const expire = lazy(() => sqlite.query(
    `DELETE FROM transaction_log WHERE seq IN (SELECT seq FROM transaction_log WHERE seq < ?1 ORDER BY seq LIMIT ${PRUNE_BATCH}) RETURNING seq, key`,
  ));
  // Transactions recorded before migration 0014, read only (the table no longer grows).
  const legacyLookup = lazy(() => sqlite.query(
    `SELECT event_id AS eventId FROM event_transactions WHERE user_id = ?1 AND device_id = ?2 AND scope = ?3 AND txn_id = ?4`,
  ));
  let legacyRows: boolean | undefined;
  const hasLegacyRows = (): boolean =>
    (legacyRows ??= (sqlite.query(`SELECT EXISTS (SELECT 1 FROM event_transactions) AS some`).get() as { some: number }).some === 1);

  /** key -> row number(s): almost always one; an array only when 53-bit keys collide. */
  let index: Map<number, number | number[]> | undefined;
  const loadIndex = (): Map<number, number | number[]> => {
    if (index) return index;
    index = new Map();
    for (const [seq, key] of sqlite.query(`SELECT seq, key FROM transaction_log ORDER BY seq`).values() as [number, number][]) addToIndex(key, seq);
    return index;
  };
  const addToIndex = (key: number, seq: number) => {
    const present = index!.get(key);
    if (present === undefined) index!.set(key, seq);
    else if (typeof present === "number") index!.set(key, [present, seq]);
    else present.push(seq);
  };
  const removeFromIndex = (key: number, seq: number) => {
    const present = index!.get(key);
    if (present === seq) index!.delete(key);
    else if (Array.isArray(present)) {
      const rest = present.filter((s) => s !== seq);
      if (rest.length === 0) index!.delete(key);
      else index!.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  };

  // A send looks its tuple up before writing and records it after: hash it once.
  let lastTuple: TransactionTuple | undefined;
  let lastHash: TransactionHash | undefined;
  const hashOf = (t: TransactionTuple): TransactionHash => {
    if (lastTuple && lastTuple.txnId === t.txnId && lastTuple.userId === t.userId && lastTuple.deviceId === t.deviceId && lastTuple.scope === t.scope) {
      return lastHash!;
    }
    lastHash = transactionHash(t.userId, t.deviceId, t.scope, t.txnId);
    lastTuple = { userId: t.userId, deviceId: t.deviceId, scope: t.scope, txnId: t.txnId };
    return lastHash;
  };
  const findRow = ({ key, check }: TransactionHash): string | undefined => {
    const seqs = loadIndex().get(key);
    if (seqs === undefined) return undefined;
    for (const seq of typeof seqs === "number" ? [seqs] : seqs) {
      const row = rowAt().get(seq, key, check) as { eventId: string } | null;
      if (row) return row.eventId;
    }
    return undefined;
  };

  let lastPrune = 0;
  const pruneExpired = (at: number) => {
    const overCap = index!.size > maxRows;
    if (at - lastPrune < PRUNE_INTERVAL_MS && !overCap) return;
    lastPrune = at;
    // Expired: the rows before the first one young enough (all of them when none is).
    const kept = firstKept().get(at - TRANSACTION_RETENTION_MS) as { seq: number } | null;
    let before = kept ? kept.seq : Number.MAX_SAFE_INTEGER;
    // Over the cap, down to nine tenths of it (row numbers are dense: only rollbacks leave gaps).
    if (overCap) before = Math.max(before, (newest().get() as { seq: number }).seq - Math.floor(maxRows * 0.9) + 1);
    for (const { seq, key } of expire().all(before) as { seq: number; key: number }[]) removeFromIndex(key, seq);
  };

  return {
    /** The event of an earlier request with the same tuple, if any ("" for one that made no event). */
    find(tuple: TransactionTuple): string | undefined {
      const found = findRow(hashOf(tuple));
      if (found !== undefined || !hasLegacyRows()) return found;
      return (legacyLookup().get(tuple.userId, tuple.deviceId, tuple.scope, tuple.txnId) as { eventId: string } | null)?.eventId;
    },
    /** Records the tuple's event (in the caller's write transaction), unless it is recorded already. */
    record(tuple: TransactionTuple, eventId: string): void {
      const hash = hashOf(tuple);
      if (findRow(hash) !== undefined) return;
      const at = now();
      const { lastInsertRowid } = insert().run(hash.key, hash.check, eventId, at);
      addToIndex(hash.key, Number(lastInsertRowid));
      pruneExpired(at);
    },
  };
}

export type TransactionsStore = ReturnType<typeof createTransactionsStore>;
