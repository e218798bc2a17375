CREATE TABLE `event_push_actions` (
	`id` integer PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`stream_pos` integer NOT NULL,
	`room_id` text NOT NULL,
	`event_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`highlight` integer NOT NULL,
	`actions` text NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_push_actions_room` ON `event_push_actions` (`room_id`,`stream_pos`,`user_id`,`thread_id`,`highlight`);--> statement-breakpoint
CREATE TABLE `push_counts` (
	`room_id` text NOT NULL,
	`user_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`notifications` integer NOT NULL,
	`highlights` integer NOT NULL,
	PRIMARY KEY(`room_id`, `user_id`, `thread_id`)
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
CREATE INDEX `pushers_user` ON `pushers` (`user_id`);