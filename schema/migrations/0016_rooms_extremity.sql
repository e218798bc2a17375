ALTER TABLE `rooms` DROP COLUMN `last_event_id`;--> statement-breakpoint
ALTER TABLE `rooms` DROP COLUMN `last_depth`;