ALTER TABLE "company_summary" ADD COLUMN "phi_events" double precision;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "phi_key_actions" double precision;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "phi_sessions" double precision;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "phi_people" double precision;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "active_weeks_events" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "active_weeks_key_actions" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "active_weeks_sessions" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "company_summary" ADD COLUMN "active_weeks_people" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "summary_state" ADD COLUMN "noise_prior" jsonb;--> statement-breakpoint
CREATE INDEX "company_summary_unmeasured_idx" ON "company_summary" USING btree ("company_key") WHERE base_events > 0 and active_weeks_events = 0;--> statement-breakpoint
-- The trend's noise columns are filled by the daily rollover: make the next read run it.
UPDATE "summary_state" SET "as_of" = '1970-01-01';
