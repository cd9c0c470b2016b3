-- One company_event_days row per company and day, its names and counts in arrays (was one row per
-- name), and one company_event_names row per company, its names in first-seen order (was one row
-- per name). Written by hand so that the rows of 0009 carry over (drizzle-kit would drop them).
ALTER TABLE "company_event_days" RENAME TO "company_event_days_0009";--> statement-breakpoint
ALTER TABLE "company_event_names" RENAME TO "company_event_names_0009";--> statement-breakpoint
CREATE TABLE "company_event_days" (
	"company_key" text NOT NULL,
	"day" date NOT NULL,
	"events" text[] NOT NULL,
	"counts" integer[] NOT NULL,
	CONSTRAINT "company_event_days_company_key_day_pk" PRIMARY KEY("company_key","day")
);--> statement-breakpoint
CREATE TABLE "company_event_names" (
	"company_key" text PRIMARY KEY NOT NULL,
	"names" text[] NOT NULL
);--> statement-breakpoint
INSERT INTO "company_event_days" ("company_key", "day", "events", "counts")
	SELECT "company_key", "day", array_agg("event" ORDER BY "event"), array_agg("count" ORDER BY "event")
	FROM "company_event_days_0009" GROUP BY "company_key", "day";--> statement-breakpoint
INSERT INTO "company_event_names" ("company_key", "names")
	SELECT "company_key", array_agg("event" ORDER BY "event") FROM "company_event_names_0009" GROUP BY "company_key";--> statement-breakpoint
DROP TABLE "company_event_days_0009";--> statement-breakpoint
DROP TABLE "company_event_names_0009";--> statement-breakpoint
CREATE VIEW "public"."company_event_counts" AS (select d.company_key, d.day, u.event, u.count from company_event_days d cross join lateral unnest(d.events, d.counts) as u(event, count));
