CREATE TABLE `stream_mark` (
	`id` integer PRIMARY KEY NOT NULL,
	`pos` integer NOT NULL
);
