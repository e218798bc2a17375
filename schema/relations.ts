// Event relationships (spec: Client-Server API, "Forming relationships between
// events"): one row per event whose content carries `m.relates_to` with a
// `rel_type` and an `event_id`, written by appendEvent in the same transaction
// as the event. Redacting the child deletes its row (redaction strips
// `m.relates_to`, so the relation no longer exists).
//
// The full-text search index (FTS5) is not a drizzle table: it is created by
// the custom migration `search` (schema/migrations/*_search.sql).
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const eventRelations = sqliteTable(
  "event_relations",
  {
    /** The child: the event that carries m.relates_to. */
    eventId: text("event_id").primaryKey(),
    /** The parent it points to. */
    relatesTo: text("relates_to").notNull(),
    relType: text("rel_type").notNull(),
    roomId: text("room_id").notNull(),
    /** The child's event type (the eventType filter of /relations). */
    type: text("type").notNull(),
    sender: text("sender").notNull(),
    /** The child's stream position: orders children and bounds them by what a reader may see. */
    streamPos: integer("stream_pos").notNull(),
  },
  (table) => [
    // Children of a page of parents, by type of relation, in stream order (bundles, /relations).
    index("event_relations_parent").on(table.relatesTo, table.relType, table.streamPos),
    // Threads of a room by their latest activity (/threads); also "does this room have relations".
    index("event_relations_room").on(table.roomId, table.relType, table.relatesTo, table.streamPos),
  ],
);
