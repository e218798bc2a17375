// A database file in a fresh temporary folder, removed afterwards: for store
// tests that reopen the same file (restarts, older schemas).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function withDatabaseFile(work: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "hs-db-"));
  try {
    work(join(dir, "homeserver.db"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
