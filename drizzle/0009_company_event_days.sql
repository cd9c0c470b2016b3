CREATE TABLE "company_event_days" (
	"company_key" text NOT NULL,
	"event" text NOT NULL,
	"day" date NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "company_event_days_company_key_day_event_pk" PRIMARY KEY("company_key","day","event")
);
--> statement-breakpoint
CREATE TABLE "company_event_names" (
	"company_key" text NOT NULL,
	"event" text NOT NULL,
	CONSTRAINT "company_event_names_company_key_event_pk" PRIMARY KEY("company_key","event")
);
