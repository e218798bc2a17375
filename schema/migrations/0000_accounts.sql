CREATE TABLE `access_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`created_ts` integer NOT NULL,
	`expires_ts` integer
);
--> statement-breakpoint
CREATE INDEX `access_tokens_device` ON `access_tokens` (`user_id`,`device_id`);--> statement-breakpoint
CREATE TABLE `devices` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`display_name` text,
	`last_seen_ts` integer,
	`last_seen_ip` text,
	`created_ts` integer NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`)
);
--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`created_ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `refresh_tokens_device` ON `refresh_tokens` (`user_id`,`device_id`);--> statement-breakpoint
CREATE TABLE `registration_tokens` (
	`token` text PRIMARY KEY NOT NULL,
	`uses_allowed` integer,
	`completed` integer DEFAULT 0 NOT NULL,
	`expiry_time` integer,
	`grants_admin` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`user_id` text PRIMARY KEY NOT NULL,
	`password_hash` text,
	`is_admin` integer DEFAULT false NOT NULL,
	`is_guest` integer DEFAULT false NOT NULL,
	`deactivated` integer DEFAULT false NOT NULL,
	`created_ts` integer NOT NULL,
	`display_name` text,
	`avatar_url` text
);
