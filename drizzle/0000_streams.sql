CREATE TABLE `messages` (
	`stream_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`end_pos` integer NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	`data` blob NOT NULL,
	PRIMARY KEY(`stream_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `producers` (
	`stream_id` integer NOT NULL,
	`producer_id` text NOT NULL,
	`epoch` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`stream_id`, `producer_id`)
);
--> statement-breakpoint
CREATE TABLE `streams` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`path` text NOT NULL,
	`content_type` text NOT NULL,
	`json_mode` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`ttl_seconds` integer,
	`expires_at` text,
	`last_access_at` integer NOT NULL,
	`deadline_at` integer,
	`tail_seq` integer DEFAULT 0 NOT NULL,
	`tail_pos` integer DEFAULT 0 NOT NULL,
	`closed` integer DEFAULT 0 NOT NULL,
	`closed_by_producer` text,
	`closed_by_epoch` integer,
	`closed_by_seq` integer,
	`last_stream_seq` text,
	`fork_source_id` integer,
	`fork_seq` integer,
	`fork_pos` integer,
	`fork_offset` text,
	`fork_sub_offset` integer,
	`ref_count` integer DEFAULT 0 NOT NULL,
	`soft_deleted` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `streams_path_unique` ON `streams` (`path`);--> statement-breakpoint
CREATE INDEX `streams_deadline_idx` ON `streams` (`deadline_at`) WHERE "streams"."deadline_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `streams_fork_source_idx` ON `streams` (`fork_source_id`) WHERE "streams"."fork_source_id" IS NOT NULL;