CREATE TABLE `account_data` (
	`user_id` text NOT NULL,
	`room_id` text NOT NULL,
	`type` text NOT NULL,
	`content` text NOT NULL,
	`stream_pos` integer NOT NULL,
	PRIMARY KEY(`user_id`, `room_id`, `type`)
);
--> statement-breakpoint
CREATE INDEX `account_data_user_pos` ON `account_data` (`user_id`,`stream_pos`);--> statement-breakpoint
CREATE TABLE `filters` (
	`user_id` text NOT NULL,
	`filter_id` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`user_id`, `filter_id`)
);
--> statement-breakpoint
CREATE TABLE `presence` (
	`user_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`status_msg` text,
	`last_active_ts` integer NOT NULL,
	`stream_pos` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `presence_pos` ON `presence` (`stream_pos`);--> statement-breakpoint
CREATE TABLE `receipts` (
	`room_id` text NOT NULL,
	`receipt_type` text NOT NULL,
	`user_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`event_id` text NOT NULL,
	`ts` integer NOT NULL,
	`stream_pos` integer NOT NULL,
	PRIMARY KEY(`room_id`, `receipt_type`, `user_id`, `thread_id`)
);
--> statement-breakpoint
CREATE INDEX `receipts_room_pos` ON `receipts` (`room_id`,`stream_pos`);--> statement-breakpoint
CREATE TABLE `to_device_messages` (
	`stream_pos` integer PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`sender` text NOT NULL,
	`type` text NOT NULL,
	`content` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `to_device_target` ON `to_device_messages` (`user_id`,`device_id`,`stream_pos`);