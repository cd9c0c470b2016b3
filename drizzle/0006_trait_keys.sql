ALTER TABLE "companies" ADD COLUMN "trait_keys" jsonb;--> statement-breakpoint
ALTER TABLE "people" ADD COLUMN "trait_keys" jsonb;