-- Custom migration: drizzle cannot declare WITHOUT ROWID tables, so rebuild the two hot
-- tables as clustered B-trees keyed by their primary keys (no separate rowid index).
DROP TABLE `messages`;
--> statement-breakpoint
CREATE TABLE `messages` (
	`stream_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`end_pos` integer NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	`data` blob NOT NULL,
	PRIMARY KEY(`stream_id`, `seq`)
) WITHOUT ROWID;
--> statement-breakpoint
DROP TABLE `producers`;
--> statement-breakpoint
CREATE TABLE `producers` (
	`stream_id` integer NOT NULL,
	`producer_id` text NOT NULL,
	`epoch` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`stream_id`, `producer_id`)
) WITHOUT ROWID;
