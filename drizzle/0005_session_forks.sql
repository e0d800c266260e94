ALTER TABLE `sessions` ADD `forked_from_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `forked_from_turn` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `forked_from_offset` text;--> statement-breakpoint
CREATE INDEX `sessions_forked_from_idx` ON `sessions` (`forked_from_id`);