CREATE TABLE "company_summary" (
	"company_key" text PRIMARY KEY NOT NULL,
	"recent_events" bigint DEFAULT 0 NOT NULL,
	"recent_key_actions" bigint DEFAULT 0 NOT NULL,
	"recent_sessions" bigint DEFAULT 0 NOT NULL,
	"recent_people" bigint DEFAULT 0 NOT NULL,
	"base_events" bigint DEFAULT 0 NOT NULL,
	"base_key_actions" bigint DEFAULT 0 NOT NULL,
	"base_sessions" bigint DEFAULT 0 NOT NULL,
	"base_people" bigint DEFAULT 0 NOT NULL,
	"events_7" bigint DEFAULT 0 NOT NULL,
	"key_actions_7" bigint DEFAULT 0 NOT NULL,
	"sessions_7" bigint DEFAULT 0 NOT NULL,
	"people_7" bigint DEFAULT 0 NOT NULL,
	"events_30" bigint DEFAULT 0 NOT NULL,
	"key_actions_30" bigint DEFAULT 0 NOT NULL,
	"sessions_30" bigint DEFAULT 0 NOT NULL,
	"people_30" bigint DEFAULT 0 NOT NULL,
	"events_90" bigint DEFAULT 0 NOT NULL,
	"key_actions_90" bigint DEFAULT 0 NOT NULL,
	"sessions_90" bigint DEFAULT 0 NOT NULL,
	"people_90" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "summary_state" (
	"id" smallint PRIMARY KEY NOT NULL,
	"as_of" date NOT NULL
);
--> statement-breakpoint
-- The day the summary is valid for; 1970-01-01 means "not built": the first read builds it.
INSERT INTO "summary_state" ("id", "as_of") VALUES (1, '1970-01-01') ON CONFLICT DO NOTHING;
