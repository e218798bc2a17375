CREATE TABLE `media` (
	`media_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_ts` integer NOT NULL,
	`expires_ts` integer,
	`sha256` text,
	`size` integer,
	`content_type` text,
	`upload_name` text,
	`uploaded_ts` integer
);
--> statement-breakpoint
CREATE INDEX `media_user` ON `media` (`user_id`);--> statement-breakpoint
CREATE INDEX `media_sha256` ON `media` (`sha256`);--> statement-breakpoint
CREATE TABLE `media_thumbnails` (
	`media_id` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`method` text NOT NULL,
	`content_type` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	PRIMARY KEY(`media_id`, `width`, `height`, `method`)
);
--> statement-breakpoint
CREATE INDEX `media_thumbnails_sha256` ON `media_thumbnails` (`sha256`);