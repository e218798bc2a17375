CREATE TABLE `event_push_actions` (
	`id` integer PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`stream_pos` integer NOT NULL,
	`room_id` text NOT NULL,
	`event_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`notify` integer NOT NULL,
	`highlight` integer NOT NULL,
	`actions` text NOT NULL,
	`ts` integer NOT NULL,
	`notifications_delta` integer NOT NULL,
	`highlights_delta` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `event_push_actions_user` ON `event_push_actions` (`user_id`,`stream_pos`);--> statement-breakpoint
CREATE INDEX `event_push_actions_user_room` ON `event_push_actions` (`user_id`,`room_id`,`stream_pos`);--> statement-breakpoint
CREATE TABLE `push_counts` (
	`room_id` text NOT NULL,
	`user_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`notifications` integer NOT NULL,
	`highlights` integer NOT NULL,
	`room_notifications` integer,
	`room_highlights` integer,
	PRIMARY KEY(`room_id`, `user_id`, `thread_id`)
);
--> statement-breakpoint
CREATE TABLE `push_room_counts` (
	`room_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`notifications` integer NOT NULL,
	`highlights` integer NOT NULL,
	PRIMARY KEY(`room_id`, `thread_id`)
);
--> statement-breakpoint
CREATE TABLE `pushers` (
	`user_id` text NOT NULL,
	`app_id` text NOT NULL,
	`pushkey` text NOT NULL,
	`kind` text NOT NULL,
	`app_display_name` text NOT NULL,
	`device_display_name` text NOT NULL,
	`profile_tag` text,
	`lang` text NOT NULL,
	`data` text NOT NULL,
	`device_id` text,
	`pushkey_ts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pushers_key` ON `pushers` (`app_id`,`pushkey`,`user_id`);--> statement-breakpoint
CREATE INDEX `pushers_user` ON `pushers` (`user_id`);--> statement-breakpoint
CREATE TABLE `room_push_actions` (
	`stream_pos` integer PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`event_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`highlight` integer NOT NULL,
	`actions` text NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `room_push_actions_room` ON `room_push_actions` (`room_id`,`stream_pos`,`thread_id`,`highlight`);