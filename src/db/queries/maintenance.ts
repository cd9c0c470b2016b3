import { sql } from 'drizzle-orm';
import { rows, type Db } from '../client.js';
import { appendMessageDays, lockMessageDays, messageHash } from '../../ingest/message-ids.js';

/** Message ids are kept as rows this long (Segment retries for at least 24 hours); then compactly, for good. */
export const DEDUP_DAYS = 7;

/**
 * Moves the message ids received more than DEDUP_DAYS ago from their rows into the compact
 * per-day store (`message_days`, src/ingest/message-ids.ts), where they stay: one
 * transaction, under the exclusive locks of their (source, day) pairs, so a live request or
 * an import slice checking one of those days sees each id in one store or the other. A row
 * stored before the `day` column existed is filed under the day it was received (for live
 * traffic, its event's day within the window of a day either side, nearly always).
 */
export async function pruneMessages(db: Db, now: Date): Promise<void> {
  const before = new Date(now.getTime() - DEDUP_DAYS * 86_400_000).toISOString();
  const dayOf = sql`coalesce(day, (received_at at time zone 'UTC')::date)`;
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await rows(t, lockMessageDays(sql`(select distinct source as s, ${dayOf} as d from messages where received_at < ${before}::timestamptz) p`, 'exclusive'));
    await rows(t, sql`with moved as (
        delete from messages where received_at < ${before}::timestamptz
        returning source as s, ${dayOf} as d, message_id as m
      )
      ${appendMessageDays(sql`(select s, d, ${messageHash(sql`m`)} as h from moved) z`)}`);
  });
}
