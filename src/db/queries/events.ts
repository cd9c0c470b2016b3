/** Reads of company_event_days: what one company's people do. */
import { sql } from 'drizzle-orm';
import { EVENT_WEEKS, type EventHistory } from '../../domain/event-changes.js';
import { dayString, utcDay, windowsFor } from '../../domain/period.js';
import { rows, type Db } from '../client.js';
import { storable } from '../sqlutil.js';

/**
 * Each event of some companies with its windows (domain/event-changes EventHistory): its count
 * over the range, over the trend's recent and baseline windows, today, in each of the 12
 * baseline weeks, and its last day. ONE statement for any number of companies (the keys as one
 * array: `= any(...)`, an index range per key on company_event_days' primary key), so the digest
 * and the alerts read every listed company at once. Events used in none of these days are left
 * out; a key with none maps to [].
 */
export async function eventHistories(db: Db, keys: readonly string[], opts: { now: Date; rangeDays: number }): Promise<Map<string, EventHistory[]>> {
  const wanted = [...new Set(keys.filter(storable))];
  const out = new Map<string, EventHistory[]>(wanted.map((k) => [k, []]));
  if (wanted.length === 0) return out;
  const w = windowsFor(opts.now, opts.rangeDays);
  // The baseline's weeks, oldest first: week i holds the days baselineStart + 7i .. + 7i + 6.
  const weekCols = Array.from({ length: EVENT_WEEKS }, (_, i) => {
    const start = dayString(utcDay(new Date(`${w.baselineStart}T00:00:00Z`), 7 * i));
    const end = dayString(utcDay(new Date(`${w.baselineStart}T00:00:00Z`), 7 * i + 6));
    return sql`coalesce(sum(count) filter (where day between ${start}::date and ${end}::date), 0)::int as ${sql.raw(`w${i}`)}`;
  });
  const found = await rows<Record<string, number | string | null> & { k: string; event: string; last: string | null }>(
    db,
    sql`select company_key as k, event,
               coalesce(sum(count) filter (where day >= ${w.rangeStart}::date), 0)::int as n,
               coalesce(sum(count) filter (where day between ${w.recentStart}::date and ${w.recentEnd}::date), 0)::int as r,
               coalesce(sum(count) filter (where day between ${w.baselineStart}::date and ${w.baselineEnd}::date), 0)::int as b,
               coalesce(sum(count) filter (where day = ${w.today}::date), 0)::int as t,
               max(day)::text as last,
               ${sql.join(weekCols, sql`, `)}
        from company_event_days
        where company_key = any(array(select jsonb_array_elements_text(${JSON.stringify(wanted)}::jsonb)))
          and day between ${w.earliest}::date and ${w.today}::date
        group by company_key, event`,
  );
  for (const r of found) {
    out.get(r.k)?.push({
      name: r.event,
      count: Number(r.n),
      recent: Number(r.r),
      baseline: Number(r.b),
      today: Number(r.t),
      weeks: Array.from({ length: EVENT_WEEKS }, (_, i) => Number(r[`w${i}`] ?? 0)),
      lastDay: r.last,
    });
  }
  return out;
}
