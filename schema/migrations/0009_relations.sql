CREATE TABLE `event_relations` (
	`event_id` text PRIMARY KEY NOT NULL,
	`relates_to` text NOT NULL,
	`rel_type` text NOT NULL,
	`room_id` text NOT NULL,
	`type` text NOT NULL,
	`sender` text NOT NULL,
	`stream_pos` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_relations_parent` ON `event_relations` (`relates_to`,`rel_type`,`stream_pos`);--> statement-breakpoint
CREATE INDEX `event_relations_room` ON `event_relations` (`room_id`,`rel_type`,`relates_to`,`stream_pos`);