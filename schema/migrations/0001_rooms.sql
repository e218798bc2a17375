CREATE TABLE `current_state` (
	`room_id` text NOT NULL,
	`type` text NOT NULL,
	`state_key` text NOT NULL,
	`event_id` text NOT NULL,
	`membership` text,
	PRIMARY KEY(`room_id`, `type`, `state_key`)
);
--> statement-breakpoint
CREATE INDEX `current_state_member` ON `current_state` (`state_key`,`membership`);--> statement-breakpoint
CREATE TABLE `event_transactions` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`txn_id` text NOT NULL,
	`scope` text NOT NULL,
	`event_id` text NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`, `scope`, `txn_id`)
);
--> statement-breakpoint
CREATE TABLE `events` (
	`stream_pos` integer PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`room_id` text NOT NULL,
	`type` text NOT NULL,
	`state_key` text,
	`sender` text NOT NULL,
	`origin_server_ts` integer NOT NULL,
	`pdu` text NOT NULL,
	`replaces_state` text,
	`redacted_by` text,
	`txn_device_id` text,
	`txn_id` text,
	`contains_url` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_event_id` ON `events` (`event_id`);--> statement-breakpoint
CREATE INDEX `events_room_pos` ON `events` (`room_id`,`stream_pos`);--> statement-breakpoint
CREATE TABLE `forgotten_rooms` (
	`user_id` text NOT NULL,
	`room_id` text NOT NULL,
	PRIMARY KEY(`user_id`, `room_id`)
);
--> statement-breakpoint
CREATE TABLE `room_aliases` (
	`alias` text PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`creator` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `room_aliases_room` ON `room_aliases` (`room_id`);--> statement-breakpoint
CREATE TABLE `rooms` (
	`room_id` text PRIMARY KEY NOT NULL,
	`room_version` text NOT NULL,
	`creator` text NOT NULL,
	`created_ts` integer NOT NULL,
	`published` integer DEFAULT false NOT NULL,
	`last_event_id` text,
	`last_depth` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `state_history` (
	`room_id` text NOT NULL,
	`type` text NOT NULL,
	`state_key` text NOT NULL,
	`event_id` text NOT NULL,
	`from_pos` integer NOT NULL,
	`to_pos` integer
);
--> statement-breakpoint
CREATE INDEX `state_history_lookup` ON `state_history` (`room_id`,`type`,`state_key`,`from_pos`);--> statement-breakpoint
CREATE INDEX `state_history_room_pos` ON `state_history` (`room_id`,`from_pos`);