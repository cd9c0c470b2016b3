-- The bucket of the names past a company's bound was stored as 'other events', the same text as
-- an event really called so, which then counted with the bucket and was described as names past
-- the bound. The bucket moves to ' other events': it starts with a space, and every sent name is
-- trimmed, so none can equal it. A company that holds a name 'other events' of its own
-- (company_event_names) sent that event: its rows stay. Otherwise they were the bucket.
UPDATE "company_event_days" AS d
	SET "events" = array_replace(d."events", 'other events', ' other events')
	WHERE 'other events' = ANY(d."events")
	AND NOT EXISTS (SELECT 1 FROM "company_event_names" AS n WHERE n."company_key" = d."company_key" AND 'other events' = ANY(n."names"));
