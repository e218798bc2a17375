DROP INDEX `events_room_pos`;--> statement-breakpoint
CREATE INDEX `events_room_pos_type_sender` ON `events` (`room_id`,`stream_pos`,`type`,`sender`);