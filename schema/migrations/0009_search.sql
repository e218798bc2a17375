-- Full-text search over room events (spec: Client-Server API, "Server Side
-- Search"). One FTS5 row per searchable event, its rowid the event's stream
-- position; one column per searchable key (content.body of m.room.message,
-- content.name of m.room.name, content.topic of m.room.topic), so that `keys`
-- becomes an FTS5 column filter; and `room`, the room's search token
-- ("r" + the stream position of its m.room.create event), so that the rooms a
-- user may search are part of the FTS5 query and ranking happens in the index.
-- Contentless: the text is already in `events`; contentless_delete lets a
-- redaction remove the event from the index.
CREATE VIRTUAL TABLE `event_search` USING fts5(`body`, `name`, `topic`, `room`, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
-- Backfill: index the events stored before this migration (not redacted).
INSERT INTO `event_search` (rowid, `body`, `name`, `topic`, `room`)
SELECT e.`stream_pos`,
  CASE WHEN e.`type` = 'm.room.message' THEN json_extract(e.`pdu`, '$.content.body') END,
  CASE WHEN e.`type` = 'm.room.name' THEN json_extract(e.`pdu`, '$.content.name') END,
  CASE WHEN e.`type` = 'm.room.topic' THEN json_extract(e.`pdu`, '$.content.topic') END,
  'r' || c.`stream_pos`
FROM `events` e
JOIN `current_state` cs ON cs.`room_id` = e.`room_id` AND cs.`type` = 'm.room.create' AND cs.`state_key` = ''
JOIN `events` c ON c.`event_id` = cs.`event_id`
WHERE e.`redacted_by` IS NULL AND (
  (e.`type` = 'm.room.message' AND json_type(e.`pdu`, '$.content.body') = 'text') OR
  (e.`type` = 'm.room.name' AND e.`state_key` = '' AND json_type(e.`pdu`, '$.content.name') = 'text') OR
  (e.`type` = 'm.room.topic' AND e.`state_key` = '' AND json_type(e.`pdu`, '$.content.topic') = 'text'));
--> statement-breakpoint
-- Backfill of event_relations (migration relations) for events stored before it.
INSERT OR IGNORE INTO `event_relations` (`event_id`, `relates_to`, `rel_type`, `room_id`, `type`, `sender`, `stream_pos`)
SELECT `event_id`, json_extract(`pdu`, '$.content."m.relates_to".event_id'), json_extract(`pdu`, '$.content."m.relates_to".rel_type'),
  `room_id`, `type`, `sender`, `stream_pos`
FROM `events`
WHERE `redacted_by` IS NULL
  AND json_type(`pdu`, '$.content."m.relates_to".rel_type') = 'text'
  AND json_type(`pdu`, '$.content."m.relates_to".event_id') = 'text';
