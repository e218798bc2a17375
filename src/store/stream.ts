import type { Database } from "bun:sqlite";

/** Every table whose rows carry a stream position. */
const POSITIONED_TABLES = ["events", "account_data", "receipts", "to_device_messages", "presence", "device_list_changes"];

/**
 * The server-wide stream: every persisted change a client can see takes the next
 * position (DESIGN.md "Streams, tokens and sync"). Positions are handed out by
 * the one writer thread, so an in-memory counter seeded from the tables that
 * hold positions is enough.
 */
export class StreamCounter {
  private position: number;

  constructor(sqlite: Database) {
    let position = (sqlite.query("SELECT COALESCE(MAX(pos), 0) AS pos FROM stream_mark").get() as { pos: number }).pos;
    for (const table of POSITIONED_TABLES) {
      const row = sqlite.query(`SELECT COALESCE(MAX(stream_pos), 0) AS pos FROM ${table}`).get() as { pos: number };
      position = Math.max(position, row.pos);
    }
    this.position = position;
  }

  /** The position of the latest change. */
  get current(): number {
    return this.position;
  }

  /** Reserves the next position; call inside the transaction that writes it. */
  next(): number {
    return ++this.position;
  }

  /**
   * Rewinds to `position` after the transaction that took the later positions
   * rolled back: nothing stored uses them and no token can contain them (tokens
   * are made outside transactions), so they are handed out again.
   */
  rewind(position: number): void {
    if (position < this.position) this.position = position;
  }

  /** Records the current position durably (before deleting positioned rows). */
  mark(sqlite: Database): void {
    sqlite.query("INSERT INTO stream_mark (id, pos) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET pos = MAX(pos, excluded.pos)").run(this.position);
  }
}
