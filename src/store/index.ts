import { openDatabase, type Db } from "./db";
import type { Database } from "bun:sqlite";
import { createDevicesStore } from "./devices";
import { createRegistrationTokensStore } from "./registration-tokens";
import { createUsersStore } from "./users";
import { createEventsStore } from "./events";
import { createTransactionsStore } from "./transactions";
import { createRoomsStore } from "./rooms";
import { createStateStore } from "./state";
import { StreamCounter } from "./stream";
import { createKeysStore } from "./keys";
import { createCrossSigningStore } from "./cross-signing";
import { createReportsStore } from "./reports";
import { createOpenidTokensStore } from "./openid";
import { createUserDirectoryStore } from "./user-directory";
import { createRelationsStore } from "./relations";
import { createSearchStore } from "./search";
import { createBackupStore } from "./backup";
import { createDehydratedDevicesStore } from "./dehydrated-devices";
import { createMediaStore } from "./media";
import { createPushActionsStore, createPushersStore } from "./push";
import {
  createAccountDataStore,
  createFiltersStore,
  createPresenceStore,
  createReceiptsStore,
  createToDeviceStore,
} from "./sync-data";

/** Every repository over one database; the domain talks to these, never to SQL. */
export interface Store {
  sqlite: Database;
  db: Db;
  users: ReturnType<typeof createUsersStore>;
  devices: ReturnType<typeof createDevicesStore>;
  registrationTokens: ReturnType<typeof createRegistrationTokensStore>;
  rooms: ReturnType<typeof createRoomsStore>;
  events: ReturnType<typeof createEventsStore>;
  transactions: ReturnType<typeof createTransactionsStore>;
  state: ReturnType<typeof createStateStore>;
  stream: StreamCounter;
  filters: ReturnType<typeof createFiltersStore>;
  accountData: ReturnType<typeof createAccountDataStore>;
  receipts: ReturnType<typeof createReceiptsStore>;
  toDevice: ReturnType<typeof createToDeviceStore>;
  presence: ReturnType<typeof createPresenceStore>;
  keys: ReturnType<typeof createKeysStore>;
  crossSigning: ReturnType<typeof createCrossSigningStore>;
  reports: ReturnType<typeof createReportsStore>;
  openidTokens: ReturnType<typeof createOpenidTokensStore>;
  userDirectory: ReturnType<typeof createUserDirectoryStore>;
  relations: ReturnType<typeof createRelationsStore>;
  search: ReturnType<typeof createSearchStore>;
  backup: ReturnType<typeof createBackupStore>;
  dehydratedDevices: ReturnType<typeof createDehydratedDevicesStore>;
  media: ReturnType<typeof createMediaStore>;
  pushActions: ReturnType<typeof createPushActionsStore>;
  pushers: ReturnType<typeof createPushersStore>;
  /**
   * Runs `work` in one transaction (a savepoint when nested): a failed request
   * leaves the store as it was.
   */
  transaction<T>(work: () => T): T;
  /**
   * A transaction for work split into `checks`, which may refuse (throw) but
   * never write, and `writes`, which do not refuse. Outermost, the writes run
   * without a savepoint of their own (copying every page they touch into a
   * sub-journal cost a sixth of a message's send): if they throw all the same
   * (a failing disk, a bug), the whole group commit rolls back and every request
   * in it fails, as when its COMMIT fails. Nested, it is `transaction`.
   */
  writeAfterChecks<C, T>(checks: () => C, writes: (checked: C) => T): T;
  /**
   * Runs `effect` once the outermost transaction has committed (at once outside
   * one); dropped if it rolls back. Wakes waiters only for committed writes.
   */
  afterCommit(effect: () => void): void;
  /** Resolves once every write made so far is committed (rejects if that commit failed). */
  settled(): Promise<void>;
  /**
   * Lets the rest of this event loop turn read in one transaction (see the
   * group commit below): call it where a burst of reads starts.
   */
  readInTransaction(): void;
  /** Changes whenever the store's caches are dropped (a transaction rolled back). */
  readonly cacheGeneration: number;
  close(): void;
}

/**
 * Opens the store. `checkpointInBackground` (the server does; tools and tests
 * need not) starts a worker that checkpoints the WAL off the request thread.
 */
export function openStore(path: string, options: { checkpointInBackground?: boolean } = {}): Store {
  const { sqlite, db } = openDatabase(path);
  let checkpointer: Worker | undefined;
  if (options.checkpointInBackground && path !== ":memory:") {
    checkpointer = new Worker(new URL("./checkpointer.ts", import.meta.url).href);
    // Under a sustained write load the WAL reaches wal_autocheckpoint and the
    // request thread checkpoints what the worker has not copied yet: the more
    // often the worker runs, the less that is (send p99 ~80 ms at 1 s, ~45 ms at
    // 100 ms, bench/README.md). An idle server's checkpoint finds nothing to do.
    checkpointer.postMessage({ path, intervalMs: 100 });
    checkpointer.unref();
  }
  const state = createStateStore(db);
  const events = createEventsStore(db, sqlite);
  const transactions = createTransactionsStore(sqlite);
  const receipts = createReceiptsStore(db);
  const accountData = createAccountDataStore(db);
  const presence = createPresenceStore(db);
  const users = createUsersStore(db);
  const rooms = createRoomsStore(db, sqlite);
  const devices = createDevicesStore(db);
  const keys = createKeysStore(db);
  const relations = createRelationsStore(db, sqlite);
  const pushActions = createPushActionsStore(sqlite);
  const pushers = createPushersStore(db);
  const toDevice = createToDeviceStore(db, () => stream.mark(sqlite), (work) => transaction(work));
  const stream = new StreamCounter(sqlite);
  // Bumped with every dropCaches: caches kept outside the store (sync's shared
  // reads) compare it, since a rollback can reuse stream positions.
  let cacheGeneration = 0;
  const dropCaches = () => {
    // Write-through caches may hold rolled-back changes.
    for (const cache of [rooms, state, events, receipts, accountData, presence, toDevice, users, devices, keys, relations, pushActions, pushers]) cache.dropCaches();
    cacheGeneration++;
  };

  // Group commit. Writes run at once, each request's in a savepoint of one shared
  // transaction that commits when the event loop turn ends (setImmediate): the
  // requests that arrived together pay for one commit. Responses wait for that
  // commit (settled(), see server.ts), so nothing is acknowledged before it is
  // stored, and effects (waking syncs) run only after it.
  let batch: {
    startPosition: number;
    effects: (() => void)[];
    settled: Promise<void>;
    resolve: () => void;
    reject: (error: unknown) => void;
    /** Set when a unit failed after writing without a savepoint: the batch can only roll back. */
    failure?: unknown;
  } | null = null;
  let depth = 0;
  let unitEffects: (() => void)[] = [];
  let unitStart = 0;

  // Reads share a transaction per event loop turn too. Outside a transaction each
  // statement takes and releases the WAL's shared-memory read lock (two fcntl
  // calls, ~4 µs, more than most of the queries themselves); one read
  // transaction per turn pays that once. It ends with the turn, or when a write
  // comes: the write batch begins afresh (BEGIN IMMEDIATE waits for the write
  // lock), since another process (`homeserver register-user`) may have written
  // after the read snapshot, and upgrading a stale snapshot fails at once.
  let readOpen = false;
  const readInTransaction = () => {
    if (readOpen || batch) return;
    sqlite.query("BEGIN").run();
    readOpen = true;
    setImmediate(endRead);
  };
  const endRead = () => {
    if (!readOpen) return;
    readOpen = false;
    try {
      sqlite.query("COMMIT").run();
    } catch {
      try {
        sqlite.run("ROLLBACK");
      } catch {}
    }
  };

  const openBatch = () => {
    if (readOpen) endRead();
    sqlite.query("BEGIN IMMEDIATE").run();
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const settled = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    settled.catch(() => {}); // failures reach the requests that await it
    batch = { startPosition: stream.current, effects: [], settled, resolve, reject };
    setImmediate(commitBatch);
  };

  const commitBatch = () => {
    const current = batch;
    if (!current) return;
    if (depth > 0) {
      // Not possible from setImmediate (writes are synchronous), but never leave a batch open.
      setImmediate(commitBatch);
      return;
    }
    batch = null;
    try {
      if (current.failure !== undefined) throw current.failure;
      sqlite.query("COMMIT").run();
    } catch (error) {
      try {
        sqlite.run("ROLLBACK");
      } catch {}
      stream.rewind(current.startPosition);
      dropCaches();
      current.reject(error);
      return;
    }
    for (const effect of current.effects) effect();
    current.resolve();
  };

  const transaction = <T>(work: () => T): T => {
    if (depth === 0) {
      if (!batch) openBatch();
      unitStart = stream.current;
      unitEffects = [];
    }
    depth++;
    const savepoint = `unit_${depth}`;
    // query() keeps the compiled statement: every write request passes here,
    // and compiling SAVEPOINT/RELEASE anew each time showed in profiles.
    sqlite.query(`SAVEPOINT ${savepoint}`).run();
    let result: T;
    try {
      result = work();
      sqlite.query(`RELEASE ${savepoint}`).run();
    } catch (error) {
      sqlite.query(`ROLLBACK TO ${savepoint}`).run();
      sqlite.query(`RELEASE ${savepoint}`).run();
      depth--;
      if (depth === 0) {
        unitEffects = [];
        stream.rewind(unitStart);
      }
      dropCaches();
      throw error;
    }
    depth--;
    if (depth === 0) {
      batch!.effects.push(...unitEffects);
      unitEffects = [];
    }
    return result;
  };
  const writeAfterChecks = <C, T>(checks: () => C, writes: (checked: C) => T): T => {
    if (depth > 0) return transaction(() => writes(checks()));
    if (!batch) openBatch();
    const current = batch!;
    unitStart = stream.current;
    unitEffects = [];
    depth++;
    let result: T;
    try {
      let checked: C;
      try {
        checked = checks();
      } catch (error) {
        // Refused before writing: the batch is as it was.
        unitEffects = [];
        stream.rewind(unitStart);
        throw error;
      }
      try {
        result = writes(checked);
      } catch (error) {
        unitEffects = [];
        current.failure ??= error;
        throw error;
      }
    } finally {
      depth--;
    }
    current.effects.push(...unitEffects);
    unitEffects = [];
    return result;
  };
  return {
    sqlite,
    db,
    users,
    devices,
    registrationTokens: createRegistrationTokensStore(db),
    rooms,
    events,
    transactions,
    state,
    stream,
    filters: createFiltersStore(db),
    accountData,
    receipts,
    toDevice,
    presence,
    keys,
    crossSigning: createCrossSigningStore(db),
    reports: createReportsStore(db),
    openidTokens: createOpenidTokensStore(db),
    userDirectory: createUserDirectoryStore(sqlite),
    relations,
    search: createSearchStore(sqlite),
    backup: createBackupStore(db),
    dehydratedDevices: createDehydratedDevicesStore(db),
    media: createMediaStore(db, sqlite),
    pushActions,
    pushers,
    transaction,
    writeAfterChecks,
    afterCommit: (effect) => {
      if (depth > 0) unitEffects.push(effect);
      else if (batch) batch.effects.push(effect);
      else effect();
    },
    settled: () => (batch ? batch.settled : Promise.resolve()),
    readInTransaction,
    get cacheGeneration() {
      return cacheGeneration;
    },
    close: () => {
      checkpointer?.terminate();
      commitBatch();
      endRead();
      if (sqlite.filename !== ":memory:" && sqlite.filename !== "") sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
      sqlite.close();
    },
  };
}
