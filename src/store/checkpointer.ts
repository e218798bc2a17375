// Runs in a worker thread: checkpoints the WAL of the server's database every
// 100 ms on its own connection. With synchronous=NORMAL a checkpoint is where
// SQLite waits for the disk (fsync); doing it here keeps that wait off the
// thread that answers requests. PASSIVE never blocks the writer.
import { Database } from "bun:sqlite";

declare const self: Worker;

self.onmessage = (message: MessageEvent<{ path: string; intervalMs: number }>) => {
  const db = new Database(message.data.path);
  db.run("PRAGMA busy_timeout = 1000");
  setInterval(() => {
    try {
      db.run("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // Busy or closing: the next tick tries again, and SQLite's own
      // auto-checkpoint remains as the fallback.
    }
  }, message.data.intervalMs);
};
