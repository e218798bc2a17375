import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import * as schema from "../../schema";
import { migrate } from "./migrations";

export type Db = BunSQLiteDatabase<typeof schema>;

export interface OpenDatabase {
  sqlite: Database;
  db: Db;
}

/** Opens (creating if needed) and migrates the server's one SQLite file, or `:memory:`. */
export function openDatabase(path: string): OpenDatabase {
  const sqlite = new Database(path, { create: true, strict: true });
  // A new database gets 8 KiB pages (SQLite's default is 4): a commit writes each
  // page it changed to the WAL as one frame, two write calls, and most of the
  // pages a send changes are the last page of a table or index it appends to,
  // which larger pages share among more sends (bench/README.md: about a quarter
  // fewer frames and 7–8 % less CPU per message). An existing database keeps
  // its page size (this must come before the first write, and WAL mode fixes it).
  sqlite.run("PRAGMA page_size = 8192");
  if (path !== ":memory:") sqlite.run("PRAGMA journal_mode = WAL");
  // NORMAL is durable in WAL mode except for the last transactions before a power loss.
  sqlite.run("PRAGMA synchronous = NORMAL");
  // NORMAL syncs only at checkpoints; checkpointing every ~40 MB of WAL instead of
  // every 4 MB spreads that cost over ten times as many writes.
  const pageSize = (sqlite.query("PRAGMA page_size").get() as { page_size: number }).page_size;
  sqlite.run(`PRAGMA wal_autocheckpoint = ${Math.round((40 * 1024 * 1024) / pageSize)}`);
  // Multi-row statements inside a savepoint keep a statement journal; in memory it
  // costs no temporary file writes (recording one event's push actions for a
  // thousand members is one such statement).
  sqlite.run("PRAGMA temp_store = MEMORY");
  // 16 MiB of page cache. Every page the cache grows by is fresh memory, and
  // first touching it costs page faults; with 64 MiB the cache kept growing
  // for the first ~60,000 sends, at ~0.4 faults a message (bench/README.md,
  // "Bun 1.4.5, a smaller page cache, …"). Pages it evicts are still in the
  // OS's page cache.
  sqlite.run("PRAGMA cache_size = -16384");
  sqlite.run("PRAGMA foreign_keys = ON");
  sqlite.run("PRAGMA busy_timeout = 5000");
  migrate(sqlite);
  return { sqlite, db: drizzle({ client: sqlite, schema }) };
}
