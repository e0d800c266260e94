CREATE TABLE "session_view_checkpoints" (
	"session_id" text PRIMARY KEY NOT NULL,
	"stream_offset" text NOT NULL,
	"format" bigint NOT NULL,
	"body" text NOT NULL,
	"saved_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "session_view_checkpoints" ADD CONSTRAINT "session_view_checkpoints_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;