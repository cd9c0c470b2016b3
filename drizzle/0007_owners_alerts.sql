CREATE TABLE "alert_messages" (
	"user_id" text NOT NULL,
	"day" text NOT NULL,
	"slot" smallint NOT NULL,
	"status" text NOT NULL,
	"run_id" text NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"message_ts" text,
	"may_have_posted" boolean DEFAULT false NOT NULL,
	CONSTRAINT "alert_messages_user_id_day_slot_pk" PRIMARY KEY("user_id","day","slot")
);
--> statement-breakpoint
CREATE TABLE "alert_recipients" (
	"user_id" text PRIMARY KEY NOT NULL,
	"dm_channel" text
);
--> statement-breakpoint
CREATE TABLE "alerts_sent" (
	"user_id" text NOT NULL,
	"company_key" text NOT NULL,
	"fall_no" integer NOT NULL,
	"day" text NOT NULL,
	"slot" smallint NOT NULL,
	CONSTRAINT "alerts_sent_user_id_company_key_fall_no_pk" PRIMARY KEY("user_id","company_key","fall_no")
);
--> statement-breakpoint
CREATE TABLE "company_falls" (
	"company_key" text PRIMARY KEY NOT NULL,
	"fall_no" integer NOT NULL,
	"falling" boolean NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "company_owners" (
	"company_key" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"set_by" text,
	"set_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "company_watchers" (
	"company_key" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "company_watchers_company_key_user_id_pk" PRIMARY KEY("company_key","user_id")
);
--> statement-breakpoint
CREATE TABLE "slack_user_lookups" (
	"email" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"looked_up_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "alerts_sent_message_idx" ON "alerts_sent" USING btree ("user_id","day","slot");--> statement-breakpoint
CREATE INDEX "company_watchers_user_idx" ON "company_watchers" USING btree ("user_id");