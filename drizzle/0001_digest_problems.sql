CREATE TABLE "digest_problems" (
	"channel" text PRIMARY KEY NOT NULL,
	"week" text NOT NULL,
	"error" text NOT NULL,
	"fix" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
