CREATE TABLE `purges` (
	`stream_id` integer PRIMARY KEY NOT NULL,
	`through_seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ds_signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`material` text NOT NULL,
	`public_jwk` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ds_subscription_links` (
	`subscription_id` text NOT NULL,
	`path` text NOT NULL,
	`explicit` integer NOT NULL,
	`glob` integer NOT NULL,
	`acked_offset` text NOT NULL,
	PRIMARY KEY(`subscription_id`, `path`)
);
--> statement-breakpoint
CREATE TABLE `ds_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`incarnation` text NOT NULL,
	`type` text NOT NULL,
	`pattern` text,
	`config_streams` text NOT NULL,
	`webhook_url` text,
	`wake_stream` text,
	`lease_ttl_ms` integer NOT NULL,
	`description` text,
	`config_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`callback_url` text NOT NULL,
	`jwks_url` text NOT NULL,
	`status` text NOT NULL,
	`generation` integer NOT NULL,
	`wake_id` text,
	`wake_snapshot` text,
	`holder` text,
	`lease_expires_at` integer,
	`retry_count` integer NOT NULL,
	`next_attempt_at` integer
);
