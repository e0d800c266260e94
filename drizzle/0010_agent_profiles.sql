CREATE TABLE `agent_profiles` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`adapter` text NOT NULL,
	`provider` text,
	`model` text,
	`system_prompt` text,
	`allowed_tools` text,
	`max_budget_usd` real,
	`max_turns` integer,
	`credential_ciphertext` text,
	`credential_iv` text,
	`credential_tag` text,
	`credential_updated_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agent_profiles_user_idx` ON `agent_profiles` (`user_id`);