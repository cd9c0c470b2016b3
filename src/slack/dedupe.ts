/**
 * Slack's Events API retries a delivery (up to 3 times, with X-Slack-Retry-Num
 * and X-Slack-Retry-Reason) when it did not see our 200 in time. Bolt does not
 * dedupe them. This global middleware records each `event_id` in
 * `slack_events_seen` (a unique row, so it holds across processes sharing the
 * database) and skips a delivery whose id is already there. Bolt acknowledges
 * events before global middleware runs, so a skipped retry still gets its 200.
 *
 * If the database cannot be asked, the event is handled anyway: a rare double
 * Home refresh is better than a lost one.
 */
import type { AnyMiddlewareArgs, App } from '@slack/bolt';
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import type { Logger } from '../log.js';

/** Slack retries within minutes; an hour of ids is plenty. */
export const SEEN_EVENT_TTL_MS = 3_600_000;
const PRUNE_EVERY_MS = 600_000;

/** True the first time an event id is claimed, false for every later delivery of it. */
export async function claimEvent(db: Db, eventId: string): Promise<boolean> {
  const claimed = await rows<{ event_id: string }>(
    db,
    sql`insert into slack_events_seen (event_id) values (${eventId}) on conflict (event_id) do nothing returning event_id`,
  );
  return claimed.length === 1;
}

export async function pruneSeenEvents(db: Db, now: Date): Promise<void> {
  const before = new Date(now.getTime() - SEEN_EVENT_TTL_MS).toISOString();
  await db.execute(sql`delete from slack_events_seen where seen_at < ${before}::timestamptz`);
}

export function registerEventDedupe(app: App, db: Db, log: Logger): void {
  let lastPrune = 0;
  app.use(async (args) => {
    const { body, next } = args as AnyMiddlewareArgs & { next: () => Promise<void> };
    const b = body as { type?: unknown; event_id?: unknown; event?: { type?: unknown } };
    if (b.type !== 'event_callback' || typeof b.event_id !== 'string' || b.event_id.length === 0 || b.event_id.length > 128) {
      return next();
    }
    const retry = (args as { context?: { retryNum?: number; retryReason?: string } }).context;
    let first = true;
    try {
      first = await claimEvent(db, b.event_id);
    } catch (error) {
      log.warn('could not check whether a Slack event was seen before; handling it', { error });
    }
    if (!first) {
      log.info('skipped a Slack event delivered again', {
        eventId: b.event_id,
        event: typeof b.event?.type === 'string' ? b.event.type : undefined,
        retryNum: retry?.retryNum,
        retryReason: retry?.retryReason,
      });
      return;
    }
    const now = Date.now();
    if (now - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now;
      pruneSeenEvents(db, new Date(now)).catch((error) => log.warn('could not prune old Slack event ids', { error }));
    }
    await next();
  });
}
