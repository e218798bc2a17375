-- Full-text search over room events (spec: Client-Server API, "Server Side
-- Search"). One FTS5 row per searchable event, its rowid the event's stream
-- position; one column per searchable key (content.body of m.room.message,
-- content.name of m.room.name, content.topic of m.room.topic), so that `keys`
-- becomes an FTS5 column filter; and the room, not indexed but stored beside
-- the text, so that the rooms a user may search are a filter inside the same
-- table: ranking never reads the events of rooms the user is not searching.
CREATE VIRTUAL TABLE `event_search` USING fts5(`body`, `name`, `topic`, `room_id` UNINDEXED, tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
-- Backfill: index the events stored before this migration (not redacted).
INSERT INTO `event_search` (rowid, `body`, `name`, `topic`, `room_id`)
SELECT `stream_pos`,
  CASE WHEN `type` = 'm.room.message' THEN json_extract(`pdu`, '$.content.body') END,
  CASE WHEN `type` = 'm.room.name' THEN json_extract(`pdu`, '$.content.name') END,
  CASE WHEN `type` = 'm.room.topic' THEN json_extract(`pdu`, '$.content.topic') END,
  `room_id`
FROM `events`
WHERE `redacted_by` IS NULL AND (
  (`type` = 'm.room.message' AND json_type(`pdu`, '$.content.body') = 'text') OR
  (`type` = 'm.room.name' AND `state_key` = '' AND json_type(`pdu`, '$.content.name') = 'text') OR
  (`type` = 'm.room.topic' AND `state_key` = '' AND json_type(`pdu`, '$.content.topic') = 'text'));
--> statement-breakpoint
-- Backfill of event_relations (migration relations) for events stored before it.
INSERT OR IGNORE INTO `event_relations` (`event_id`, `relates_to`, `rel_type`, `room_id`, `type`, `sender`, `stream_pos`)
SELECT `event_id`, json_extract(`pdu`, '$.content."m.relates_to".event_id'), json_extract(`pdu`, '$.content."m.relates_to".rel_type'),
  `room_id`, `type`, `sender`, `stream_pos`
FROM `events`
WHERE `redacted_by` IS NULL
  AND json_type(`pdu`, '$.content."m.relates_to".rel_type') = 'text'
  AND json_type(`pdu`, '$.content."m.relates_to".event_id') = 'text';
