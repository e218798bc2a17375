CREATE TABLE `device_keys` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`)
);
--> statement-breakpoint
CREATE TABLE `device_list_changes` (
	`stream_pos` integer PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `device_list_changes_user` ON `device_list_changes` (`user_id`,`stream_pos`);--> statement-breakpoint
CREATE TABLE `fallback_keys` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`algorithm` text NOT NULL,
	`key_id` text NOT NULL,
	`json` text NOT NULL,
	`used` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`, `algorithm`)
);
--> statement-breakpoint
CREATE TABLE `one_time_keys` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`algorithm` text NOT NULL,
	`key_id` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`, `algorithm`, `key_id`)
);
