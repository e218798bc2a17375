// Reports of rooms, events and users (spec: Client-Server API, "Reporting
// content"), kept for the server's admins.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const contentReports = sqliteTable(
  "content_reports",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** "room", "event" or "user": what was reported. */
    kind: text("kind").notNull(),
    reporter: text("reporter").notNull(),
    roomId: text("room_id"),
    eventId: text("event_id"),
    /** The reported user (kind "user"), or the sender of the reported event. */
    targetUserId: text("target_user_id"),
    reason: text("reason"),
    /** -100 (most offensive) to 0; removed from the spec in v1.18 but still sent by clients. */
    score: integer("score"),
    receivedTs: integer("received_ts").notNull(),
  },
  (table) => [index("content_reports_room").on(table.roomId)],
);
