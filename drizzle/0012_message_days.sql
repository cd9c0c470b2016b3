CREATE TABLE "message_days" (
	"source" text NOT NULL,
	"day" date NOT NULL,
	"bucket" smallint NOT NULL,
	"hashes" bigint[] NOT NULL,
	CONSTRAINT "message_days_source_day_bucket_pk" PRIMARY KEY("source","day","bucket")
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "day" date;--> statement-breakpoint
CREATE INDEX "messages_day_idx" ON "messages" USING brin ("day" date_minmax_multi_ops);--> statement-breakpoint
CREATE INDEX "messages_undated_idx" ON "messages" USING btree ("source") WHERE "messages"."day" is null;