// A database file in a fresh temporary folder, removed afterwards: for store
// tests that reopen the same file (restarts, older schemas).
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/migrations";

export function withDatabaseFile(work: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "hs-db-"));
  try {
    work(join(dir, "homeserver.db"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A database as an older server left it: the first `applied` migrations run
 * and recorded in user_version, so that opening it runs the rest.
 */
export function databaseBeforeMigration(path: string, applied: number): Database {
  const db = new Database(path, { create: true });
  for (const migration of MIGRATIONS.slice(0, applied)) {
    for (const statement of migration.sql.split("--> statement-breakpoint")) if (statement.trim()) db.run(statement);
  }
  db.run(`PRAGMA user_version = ${applied}`);
  return db;
}
