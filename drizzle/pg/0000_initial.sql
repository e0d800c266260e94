CREATE TABLE "account_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"session_id" text,
	"role" text,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "session_members" (
	"session_id" text NOT NULL,
	"user_id" text NOT NULL,
	"role" text NOT NULL,
	"added_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "session_members_session_id_user_id_pk" PRIMARY KEY("session_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"subject" text NOT NULL,
	"email" text,
	"email_verified" boolean DEFAULT false NOT NULL,
	"name" text,
	"created_at" bigint NOT NULL,
	"last_sign_in_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_profiles" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"adapter" text NOT NULL,
	"provider" text,
	"model" text,
	"system_prompt" text,
	"allowed_tools" jsonb,
	"max_budget_usd" double precision,
	"max_turns" bigint,
	"credential_ciphertext" text,
	"credential_iv" text,
	"credential_tag" text,
	"credential_updated_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_calls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"agent_id" text,
	"model" text NOT NULL,
	"status" text NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"estimate_usd" double precision DEFAULT 0 NOT NULL,
	"error" text,
	"started_at" bigint NOT NULL,
	"ended_at" bigint
);
--> statement-breakpoint
CREATE TABLE "user_quotas" (
	"user_id" text PRIMARY KEY NOT NULL,
	"limits" text NOT NULL,
	"updated_at" bigint NOT NULL,
	"updated_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_session_starts" (
	"session_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"pattern" text NOT NULL,
	"status" text NOT NULL,
	"title" text,
	"agent_config" text DEFAULT '{}' NOT NULL,
	"agents" text DEFAULT '[]' NOT NULL,
	"agent_routing" text DEFAULT '{}' NOT NULL,
	"metadata" text DEFAULT '{}' NOT NULL,
	"max_idle_time_ms" bigint,
	"max_lifetime_ms" bigint,
	"max_budget_usd" double precision,
	"max_turns" bigint,
	"tokens_in" bigint DEFAULT 0 NOT NULL,
	"tokens_out" bigint DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"turns" bigint DEFAULT 0 NOT NULL,
	"last_activity_at" bigint,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"ended_at" bigint,
	"end_reason" text,
	"forked_from_id" text,
	"forked_from_turn" bigint,
	"forked_from_offset" text
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"stream_id" bigint NOT NULL,
	"seq" bigint NOT NULL,
	"end_pos" bigint NOT NULL,
	"count" bigint DEFAULT 1 NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "messages_stream_id_seq_pk" PRIMARY KEY("stream_id","seq")
);
--> statement-breakpoint
CREATE TABLE "producers" (
	"stream_id" bigint NOT NULL,
	"producer_id" text NOT NULL,
	"epoch" bigint NOT NULL,
	"last_seq" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "producers_stream_id_producer_id_pk" PRIMARY KEY("stream_id","producer_id")
);
--> statement-breakpoint
CREATE TABLE "purges" (
	"stream_id" bigint PRIMARY KEY NOT NULL,
	"through_seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "streams" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"path" text NOT NULL,
	"content_type" text NOT NULL,
	"json_mode" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"ttl_seconds" bigint,
	"expires_at" text,
	"last_access_at" bigint NOT NULL,
	"deadline_at" bigint,
	"tail_seq" bigint DEFAULT 0 NOT NULL,
	"tail_pos" bigint DEFAULT 0 NOT NULL,
	"closed" bigint DEFAULT 0 NOT NULL,
	"closed_by_producer" text,
	"closed_by_epoch" bigint,
	"closed_by_seq" bigint,
	"last_stream_seq" text,
	"fork_source_id" bigint,
	"fork_seq" bigint,
	"fork_pos" bigint,
	"fork_offset" text,
	"fork_sub_offset" bigint,
	"ref_count" bigint DEFAULT 0 NOT NULL,
	"soft_deleted" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "streams_path_unique" UNIQUE("path")
);
--> statement-breakpoint
CREATE TABLE "ds_signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"material" text NOT NULL,
	"public_jwk" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ds_subscription_links" (
	"subscription_id" text NOT NULL,
	"path" text NOT NULL,
	"explicit" boolean NOT NULL,
	"glob" boolean NOT NULL,
	"acked_offset" text NOT NULL,
	CONSTRAINT "ds_subscription_links_subscription_id_path_pk" PRIMARY KEY("subscription_id","path")
);
--> statement-breakpoint
CREATE TABLE "ds_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"incarnation" text NOT NULL,
	"type" text NOT NULL,
	"pattern" text,
	"config_streams" text NOT NULL,
	"webhook_url" text,
	"wake_stream" text,
	"lease_ttl_ms" bigint NOT NULL,
	"description" text,
	"config_hash" text NOT NULL,
	"created_at" text NOT NULL,
	"callback_url" text NOT NULL,
	"jwks_url" text NOT NULL,
	"status" text NOT NULL,
	"generation" bigint NOT NULL,
	"wake_id" text,
	"wake_snapshot" text,
	"holder" text,
	"lease_expires_at" bigint,
	"retry_count" bigint NOT NULL,
	"next_attempt_at" bigint
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"attempt" bigint NOT NULL,
	"status" bigint,
	"outcome" text NOT NULL,
	"error" text,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"events" text NOT NULL,
	"description" text,
	"created_at" bigint NOT NULL,
	"created_by" text,
	"cursor_offset" text NOT NULL,
	"cursor_skip" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "account_sessions_user_idx" ON "account_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_idx" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_user_idx" ON "api_keys" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "session_members_user_idx" ON "session_members" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_provider_subject_idx" ON "users" USING btree ("provider","subject");--> statement-breakpoint
CREATE INDEX "users_email_idx" ON "users" USING btree ("email");--> statement-breakpoint
CREATE INDEX "agent_profiles_user_idx" ON "agent_profiles" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "model_calls_session_idx" ON "model_calls" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "model_calls_started_idx" ON "model_calls" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "model_calls_session_agent_idx" ON "model_calls" USING btree ("session_id","agent_id");--> statement-breakpoint
CREATE INDEX "user_session_starts_user_idx" ON "user_session_starts" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "sessions_status_idx" ON "sessions" USING btree ("status");--> statement-breakpoint
CREATE INDEX "sessions_pattern_idx" ON "sessions" USING btree ("pattern");--> statement-breakpoint
CREATE INDEX "sessions_created_idx" ON "sessions" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "sessions_forked_from_idx" ON "sessions" USING btree ("forked_from_id");--> statement-breakpoint
CREATE INDEX "streams_deadline_idx" ON "streams" USING btree ("deadline_at") WHERE "streams"."deadline_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "streams_fork_source_idx" ON "streams" USING btree ("fork_source_id") WHERE "streams"."fork_source_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries" USING btree ("endpoint_id","id");