CREATE TABLE `session_view_checkpoints` (
	`session_id` text PRIMARY KEY NOT NULL,
	`stream_offset` text NOT NULL,
	`format` integer NOT NULL,
	`body` text NOT NULL,
	`saved_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
