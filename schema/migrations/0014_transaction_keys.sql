CREATE TABLE `transaction_keys` (
	`key` integer PRIMARY KEY NOT NULL,
	`check` integer NOT NULL,
	`event_id` text NOT NULL
);
