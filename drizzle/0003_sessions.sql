CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`pattern` text NOT NULL,
	`status` text NOT NULL,
	`title` text,
	`agent_config` text DEFAULT '{}' NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`max_idle_time_ms` integer,
	`max_lifetime_ms` integer,
	`max_budget_usd` real,
	`max_turns` integer,
	`tokens_in` integer DEFAULT 0 NOT NULL,
	`tokens_out` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`turns` integer DEFAULT 0 NOT NULL,
	`last_activity_at` integer,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ended_at` integer,
	`end_reason` text
);
--> statement-breakpoint
CREATE INDEX `sessions_status_idx` ON `sessions` (`status`);--> statement-breakpoint
CREATE INDEX `sessions_pattern_idx` ON `sessions` (`pattern`);--> statement-breakpoint
CREATE INDEX `sessions_created_idx` ON `sessions` (`created_at`,`id`);