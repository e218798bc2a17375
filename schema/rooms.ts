// Rooms, their events and state.
//
// A room's history on this server is linear: every event is appended by the one
// writer thread with the previous event as its only prev_event, so the stream
// position of an event orders it both in the room and across rooms. State at any
// point is then a lookup in `state_history` (each row is valid from the position
// of the event that set it until the position of the one that replaced it) and
// the current state is the rows still open, copied into `current_state` for speed.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const rooms = sqliteTable("rooms", {
  roomId: text("room_id").primaryKey(),
  roomVersion: text("room_version").notNull(),
  creator: text("creator").notNull(),
  createdTs: integer("created_ts").notNull(),
  /** Listed in the public room directory (visibility "public"). */
  published: integer("published", { mode: "boolean" }).notNull().default(false),
  // The forward extremity (the next event's only prev_event) is not kept here:
  // it is the room's event with the highest stream position (store/rooms.ts).
});

export const events = sqliteTable(
  "events",
  {
    /** Position in the server-wide stream; orders events within a room and across rooms. */
    streamPos: integer("stream_pos").primaryKey(),
    eventId: text("event_id").notNull(),
    roomId: text("room_id").notNull(),
    type: text("type").notNull(),
    stateKey: text("state_key"),
    sender: text("sender").notNull(),
    originServerTs: integer("origin_server_ts").notNull(),
    /** The PDU as canonical JSON, already redacted when a redaction applies. */
    pdu: text("pdu").notNull(),
    /** For state events: the event this one replaced (unsigned.replaces_state / prev_content). */
    replacesState: text("replaces_state"),
    /** The m.room.redaction event that redacted this one. */
    redactedBy: text("redacted_by"),
    /** The sending device and its transaction id, for unsigned.transaction_id. */
    txnDeviceId: text("txn_device_id"),
    txnId: text("txn_id"),
    /** Whether the content has a `url` key (filter contains_url). */
    containsUrl: integer("contains_url", { mode: "boolean" }).notNull().default(false),
  },
  (table) => [
    uniqueIndex("events_event_id").on(table.eventId),
    // Also covers type and sender, so that counting unread messages reads only the index.
    index("events_room_pos_type_sender").on(table.roomId, table.streamPos, table.type, table.sender),
  ],
);

/** (user, device, txnId) -> event: PUT /send is idempotent per device and transaction id. */
export const eventTransactions = sqliteTable(
  "event_transactions",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    txnId: text("txn_id").notNull(),
    /** Transactions are scoped to the endpoint too (send vs redact), per the spec. */
    scope: text("scope").notNull(),
    eventId: text("event_id").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.deviceId, table.scope, table.txnId] })],
);

/**
 * Transaction ids since migration 0015: (user, device, scope, txnId) -> event,
 * in the order they were made. The rows are found through an index in memory
 * (the tuple's 53-bit hash to its rows, src/store/transactions.ts), so the
 * table's only b-tree is the rowid's and the rows of one group commit share its
 * last page. Keyed by the hash itself (migration 0014), each send wrote a page
 * of its own: a third of the pages a send wrote. Rows are kept for a day
 * (Synapse keeps its transaction ids as long), 250,000 at most.
 * event_transactions is still read for transactions recorded before migration
 * 0014.
 */
export const transactionLog = sqliteTable("transaction_log", {
  seq: integer("seq").primaryKey(),
  /** The tuple's hash, 53 bits: the in-memory index's key. */
  key: integer("key").notNull(),
  /** A second hash of the tuple (64 bits, bound as a BigInt): tells apart tuples whose keys collide. */
  check: integer("check").notNull(),
  /** The event's id; empty for send-to-device transactions, which create no event. */
  eventId: text("event_id").notNull(),
  /** When it was recorded (ms): rows older than the retention are deleted. */
  createdTs: integer("created_ts").notNull(),
});

export const stateHistory = sqliteTable(
  "state_history",
  {
    roomId: text("room_id").notNull(),
    type: text("type").notNull(),
    stateKey: text("state_key").notNull(),
    eventId: text("event_id").notNull(),
    /** Stream position of the event that set this state. */
    fromPos: integer("from_pos").notNull(),
    /** Stream position of the event that replaced it; null while current. */
    toPos: integer("to_pos"),
  },
  (table) => [
    index("state_history_lookup").on(table.roomId, table.type, table.stateKey, table.fromPos),
    index("state_history_room_pos").on(table.roomId, table.fromPos),
  ],
);

export const currentState = sqliteTable(
  "current_state",
  {
    roomId: text("room_id").notNull(),
    type: text("type").notNull(),
    stateKey: text("state_key").notNull(),
    eventId: text("event_id").notNull(),
    /** content.membership of m.room.member events, to list a user's rooms and a room's members by index. */
    membership: text("membership"),
  },
  (table) => [
    primaryKey({ columns: [table.roomId, table.type, table.stateKey] }),
    index("current_state_member").on(table.stateKey, table.membership),
  ],
);

export const roomAliases = sqliteTable(
  "room_aliases",
  {
    alias: text("alias").primaryKey(),
    roomId: text("room_id").notNull(),
    creator: text("creator").notNull(),
  },
  (table) => [index("room_aliases_room").on(table.roomId)],
);

/** Rooms a user has forgotten (POST /forget); hidden from them until they join again. */
export const forgottenRooms = sqliteTable(
  "forgotten_rooms",
  {
    userId: text("user_id").notNull(),
    roomId: text("room_id").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.roomId] })],
);
