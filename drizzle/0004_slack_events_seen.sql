CREATE TABLE "slack_events_seen" (
	"event_id" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
