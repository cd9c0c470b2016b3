import { sql } from 'drizzle-orm';
import type { Db } from '../client.js';

/** Message ids are kept this long for dedup (Segment keeps at least 24 hours). */
export const DEDUP_DAYS = 7;

export async function pruneMessages(db: Db, now: Date): Promise<void> {
  const before = new Date(now.getTime() - DEDUP_DAYS * 86_400_000).toISOString();
  await db.execute(sql`delete from messages where received_at < ${before}::timestamptz`);
}
