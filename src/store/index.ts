import { openDatabase, type Db } from "./db";
import type { Database } from "bun:sqlite";
import { createDevicesStore } from "./devices";
import { createRegistrationTokensStore } from "./registration-tokens";
import { createUsersStore } from "./users";
import { createEventsStore } from "./events";
import { createRoomsStore } from "./rooms";
import { createStateStore } from "./state";
import { StreamCounter } from "./stream";
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
  state: ReturnType<typeof createStateStore>;
  stream: StreamCounter;
  filters: ReturnType<typeof createFiltersStore>;
  accountData: ReturnType<typeof createAccountDataStore>;
  receipts: ReturnType<typeof createReceiptsStore>;
  toDevice: ReturnType<typeof createToDeviceStore>;
  presence: ReturnType<typeof createPresenceStore>;
  /**
   * Runs `work` in one transaction (a savepoint when nested): a failed request
   * leaves the store as it was.
   */
  transaction<T>(work: () => T): T;
  /**
   * Runs `effect` once the outermost transaction has committed (at once outside
   * one); dropped if it rolls back. Wakes waiters only for committed writes.
   */
  afterCommit(effect: () => void): void;
  close(): void;
}

export function openStore(path: string): Store {
  const { sqlite, db } = openDatabase(path);
  const state = createStateStore(db);
  const events = createEventsStore(db);
  const receipts = createReceiptsStore(db);
  const accountData = createAccountDataStore(db);
  const presence = createPresenceStore(db);
  const users = createUsersStore(db);
  const devices = createDevicesStore(db);
  const toDevice = createToDeviceStore(db, () => stream.mark(sqlite));
  const stream = new StreamCounter(sqlite);
  let depth = 0;
  let pending: (() => void)[] = [];
  let positionAtStart = 0;
  const transaction = <T>(work: () => T): T => {
    if (depth === 0) positionAtStart = stream.current;
    depth++;
    let result: T;
    try {
      result = sqlite.transaction(work)();
    } catch (error) {
      depth--;
      if (depth === 0) {
        pending = [];
        stream.rewind(positionAtStart);
      }
      // Write-through caches may hold rolled-back changes.
      for (const cache of [state, events, receipts, accountData, presence, toDevice, users, devices]) cache.dropCaches();
      throw error;
    }
    depth--;
    if (depth === 0 && pending.length > 0) {
      const effects = pending;
      pending = [];
      for (const effect of effects) effect();
    }
    return result;
  };
  return {
    sqlite,
    db,
    users,
    devices,
    registrationTokens: createRegistrationTokensStore(db),
    rooms: createRoomsStore(db),
    events,
    state,
    stream,
    filters: createFiltersStore(db),
    accountData,
    receipts,
    toDevice,
    presence,
    transaction,
    afterCommit: (effect) => {
      if (depth === 0) effect();
      else pending.push(effect);
    },
    close: () => {
      if (sqlite.filename !== ":memory:" && sqlite.filename !== "") sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
      sqlite.close();
    },
  };
}
