CREATE TABLE "companies" (
	"company_key" text PRIMARY KEY NOT NULL,
	"name" text,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"traits_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "company_days" (
	"company_key" text NOT NULL,
	"day" date NOT NULL,
	"events" integer DEFAULT 0 NOT NULL,
	"key_actions" integer DEFAULT 0 NOT NULL,
	"sessions" integer DEFAULT 0 NOT NULL,
	"people" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "company_days_company_key_day_pk" PRIMARY KEY("company_key","day")
);
--> statement-breakpoint
CREATE TABLE "company_people" (
	"company_key" text NOT NULL,
	"person_id" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"events" integer DEFAULT 0 NOT NULL,
	"key_actions" integer DEFAULT 0 NOT NULL,
	"sessions" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "company_people_company_key_person_id_pk" PRIMARY KEY("company_key","person_id")
);
--> statement-breakpoint
CREATE TABLE "company_person_days" (
	"company_key" text NOT NULL,
	"person_id" text NOT NULL,
	"day" date NOT NULL,
	"events" integer DEFAULT 0 NOT NULL,
	"key_actions" integer DEFAULT 0 NOT NULL,
	"sessions" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "company_person_days_company_key_person_id_day_pk" PRIMARY KEY("company_key","person_id","day")
);
--> statement-breakpoint
CREATE TABLE "digest_runs" (
	"channel" text NOT NULL,
	"week" text NOT NULL,
	"status" text NOT NULL,
	"run_id" text NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"posted_at" timestamp with time zone,
	"message_ts" text,
	CONSTRAINT "digest_runs_channel_week_pk" PRIMARY KEY("channel","week")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"source" text NOT NULL,
	"message_id" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_message_id_source_pk" PRIMARY KEY("message_id","source")
);
--> statement-breakpoint
CREATE TABLE "people" (
	"person_id" text PRIMARY KEY NOT NULL,
	"company_key" text,
	"company_at" timestamp with time zone,
	"name" text,
	"email" text,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"traits_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_active_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "person_sessions" (
	"person_id" text NOT NULL,
	"session_key" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"company_key" text NOT NULL,
	"day" date NOT NULL,
	CONSTRAINT "person_sessions_person_id_session_key_pk" PRIMARY KEY("person_id","session_key")
);
--> statement-breakpoint
CREATE INDEX "company_days_day_idx" ON "company_days" USING btree ("day","company_key");--> statement-breakpoint
CREATE INDEX "company_people_last_seen_idx" ON "company_people" USING btree ("company_key","last_seen_at");--> statement-breakpoint
CREATE INDEX "company_people_active_idx" ON "company_people" USING btree ("last_seen_at","company_key");--> statement-breakpoint
CREATE INDEX "messages_received_idx" ON "messages" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "people_last_active_idx" ON "people" USING btree ("last_active_at");--> statement-breakpoint
CREATE INDEX "person_sessions_span_idx" ON "person_sessions" USING btree ("person_id","ended_at");