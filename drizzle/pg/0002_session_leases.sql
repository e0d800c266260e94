CREATE TABLE "session_leases" (
	"session_id" text PRIMARY KEY NOT NULL,
	"node_id" text NOT NULL,
	"fence" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tether_nodes" (
	"node_id" text PRIMARY KEY NOT NULL,
	"capacity" bigint NOT NULL,
	"running" bigint NOT NULL,
	"heartbeat_at" bigint NOT NULL,
	"draining" boolean NOT NULL
);
--> statement-breakpoint
CREATE INDEX "session_leases_node_idx" ON "session_leases" USING btree ("node_id");--> statement-breakpoint
CREATE INDEX "session_leases_expires_idx" ON "session_leases" USING btree ("expires_at");