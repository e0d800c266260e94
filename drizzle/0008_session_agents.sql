ALTER TABLE `model_calls` ADD `agent_id` text;--> statement-breakpoint
CREATE INDEX `model_calls_session_agent_idx` ON `model_calls` (`session_id`,`agent_id`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `agents` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `agent_routing` text DEFAULT '{}' NOT NULL;