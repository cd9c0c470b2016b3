/** Reads of company_event_days: what one company's people do. */
import { sql } from 'drizzle-orm';
import { windowsFor } from '../../domain/period.js';
import type { EventCounts } from '../../domain/types.js';
import { OTHER_EVENTS } from '../../ingest/event-names.js';
import { rows, type Db } from '../client.js';
import { storable } from '../sqlutil.js';

/**
 * A company's most frequent events over the range (most first, then by name), how many names
 * it used in the range, and the count under "other events" (names past the bound). One index
 * range on company_event_days' primary key (company, day, event).
 */
export async function companyEvents(db: Db, key: string, opts: { now: Date; rangeDays: number; limit: number }): Promise<EventCounts> {
  if (!storable(key)) return { top: [], names: 0, other: 0 };
  const w = windowsFor(opts.now, opts.rangeDays);
  const found = await rows<{ event: string; n: number; names: number; other: boolean }>(
    db,
    sql`with t as (
          select event, sum(count)::int as n from company_event_days
          where company_key = ${key} and day between ${w.rangeStart}::date and ${w.today}::date
          group by event
        ),
        ranked as (
          select event, n, row_number() over (order by n desc, event collate "C") as r, count(*) over () as names
          from t where event <> ${OTHER_EVENTS}
        )
        select event, n, names::int as names, false as other from ranked where r <= ${opts.limit}
        union all
        select event, n, 0, true from t where event = ${OTHER_EVENTS}`,
  );
  const top = found.filter((r) => !r.other).sort((a, b) => b.n - a.n || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
  return {
    top: top.map((r) => ({ name: r.event, count: Number(r.n) })),
    names: top.length > 0 ? Number(top[0].names) : 0,
    other: Number(found.find((r) => r.other)?.n ?? 0),
  };
}
