ALTER TABLE `access_tokens` ADD `refresh_token_hash` text;--> statement-breakpoint
ALTER TABLE `access_tokens` ADD `replaces_refresh_hash` text;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `replaces_hash` text;