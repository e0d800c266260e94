CREATE TABLE "login_codes" (
	"hash" text PRIMARY KEY NOT NULL,
	"expires_at" bigint NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL
);
