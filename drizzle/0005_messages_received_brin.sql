DROP INDEX "messages_received_idx";--> statement-breakpoint
CREATE INDEX "messages_received_idx" ON "messages" USING brin ("received_at");