CREATE TABLE `content_reports` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`reporter` text NOT NULL,
	`room_id` text,
	`event_id` text,
	`target_user_id` text,
	`reason` text,
	`score` integer,
	`received_ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `content_reports_room` ON `content_reports` (`room_id`);--> statement-breakpoint
CREATE TABLE `openid_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`expires_ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `openid_tokens_expiry` ON `openid_tokens` (`expires_ts`);