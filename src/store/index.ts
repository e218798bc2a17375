import { openDatabase, type Db } from "./db";
import type { Database } from "bun:sqlite";
import { createDevicesStore } from "./devices";
import { createRegistrationTokensStore } from "./registration-tokens";
import { createUsersStore } from "./users";

/** Every repository over one database; the domain talks to these, never to SQL. */
export interface Store {
  sqlite: Database;
  db: Db;
  users: ReturnType<typeof createUsersStore>;
  devices: ReturnType<typeof createDevicesStore>;
  registrationTokens: ReturnType<typeof createRegistrationTokensStore>;
  /** Runs `work` in one transaction: a failed request leaves the store as it was. */
  transaction<T>(work: () => T): T;
  close(): void;
}

export function openStore(path: string): Store {
  const { sqlite, db } = openDatabase(path);
  return {
    sqlite,
    db,
    users: createUsersStore(db),
    devices: createDevicesStore(db),
    registrationTokens: createRegistrationTokensStore(db),
    transaction: (work) => sqlite.transaction(work)(),
    close: () => {
      if (sqlite.filename !== ":memory:" && sqlite.filename !== "") sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
      sqlite.close();
    },
  };
}
