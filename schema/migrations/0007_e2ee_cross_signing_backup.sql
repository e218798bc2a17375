CREATE TABLE `cross_signing_keys` (
	`user_id` text NOT NULL,
	`usage` text NOT NULL,
	`public_key` text NOT NULL,
	`json` text NOT NULL,
	PRIMARY KEY(`user_id`, `usage`)
);
--> statement-breakpoint
CREATE TABLE `dehydrated_devices` (
	`user_id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`device_data` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `key_signatures` (
	`target_user_id` text NOT NULL,
	`target_key_id` text NOT NULL,
	`signer_user_id` text NOT NULL,
	`signer_key_id` text NOT NULL,
	`signature` text NOT NULL,
	PRIMARY KEY(`target_user_id`, `target_key_id`, `signer_user_id`, `signer_key_id`)
);
--> statement-breakpoint
CREATE TABLE `room_key_backup_sessions` (
	`user_id` text NOT NULL,
	`version` integer NOT NULL,
	`room_id` text NOT NULL,
	`session_id` text NOT NULL,
	`first_message_index` integer NOT NULL,
	`forwarded_count` integer NOT NULL,
	`is_verified` integer NOT NULL,
	`session_data` text NOT NULL,
	PRIMARY KEY(`user_id`, `version`, `room_id`, `session_id`)
);
--> statement-breakpoint
CREATE TABLE `room_key_backup_versions` (
	`user_id` text NOT NULL,
	`version` integer NOT NULL,
	`algorithm` text NOT NULL,
	`auth_data` text NOT NULL,
	`etag` integer DEFAULT 0 NOT NULL,
	`deleted` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`user_id`, `version`)
);
