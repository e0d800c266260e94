CREATE TABLE `session_leases` (
	`session_id` text PRIMARY KEY NOT NULL,
	`node_id` text NOT NULL,
	`fence` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `session_leases_node_idx` ON `session_leases` (`node_id`);--> statement-breakpoint
CREATE INDEX `session_leases_expires_idx` ON `session_leases` (`expires_at`);--> statement-breakpoint
CREATE TABLE `tether_nodes` (
	`node_id` text PRIMARY KEY NOT NULL,
	`capacity` integer NOT NULL,
	`running` integer NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`draining` integer NOT NULL
);
