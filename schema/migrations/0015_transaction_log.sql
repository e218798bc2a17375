CREATE TABLE `transaction_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`key` integer NOT NULL,
	`check` integer NOT NULL,
	`event_id` text NOT NULL,
	`created_ts` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `transaction_log` (`key`, `check`, `event_id`, `created_ts`) SELECT `key`, `check`, `event_id`, CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM `transaction_keys` ORDER BY `key`;--> statement-breakpoint
DROP TABLE `transaction_keys`;