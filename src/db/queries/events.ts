/** Reads of company_event_days (through its view company_event_counts, a row per name): what one company's people do. */
import { sql } from 'drizzle-orm';
import { EVENT_WEEKS, type EventHistory } from '../../domain/event-changes.js';
import { dayString, utcDay, windowsFor } from '../../domain/period.js';
import { rows, type Db } from '../client.js';
import { OTHER_EVENTS } from '../../ingest/event-names.js';
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
        from company_event_counts
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

/**
 * The first UTC day each of these companies has in company_event_days ('YYYY-MM-DD'), or none.
 * The event rollup may be younger than the company (it began with migration 0009, or an import
 * may not have carried its history): its events have no baseline before that day, and are
 * judged as those of a company that young. One index probe per key (the primary key's first
 * two columns).
 */
export async function eventRollupStarts(db: Db, keys: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(keys.filter(storable))];
  const out = new Map<string, string>();
  if (wanted.length === 0) return out;
  const found = await rows<{ k: string; first: string | null }>(
    db,
    sql`select k, (select min(day) from company_event_days e where e.company_key = k)::text as first
        from jsonb_array_elements_text(${JSON.stringify(wanted)}::jsonb) as k`,
  );
  for (const r of found) if (r.first) out.set(r.k, r.first);
  return out;
}

/** One page of a company's whole event list (`show NAME events`), and the list's size. */
export interface EventListPage {
  /** This page's entries, most first then by name (code-point order); "other events" last of the whole list. */
  rows: { name: string; count: number }[];
  /** Distinct names counted in the range, not "other events". */
  names: number;
  /** Events counted under "other events" in the range (names past the company's bound); 0 when none. */
  other: number;
  /** Every event of the company in the range, "other events" included. */
  total: number;
}

/**
 * Every event name of a company with its count over the range, one page of it: most first, then
 * by name in code-point order (PostgreSQL's "C" collation), with "other events" (the names past
 * EVENT_NAMES_PER_COMPANY, folded at write time) last of the whole list, whatever its count. The
 * list has `names + (other > 0 ? 1 : 0)` entries; `offset` and `limit` cut the page from it. One
 * index range on company_event_days' primary key, grouped; the page and the list's size in one
 * statement (a page past the end comes back empty, with the sizes).
 */
export async function companyEventList(db: Db, key: string, opts: { now: Date; rangeDays: number; offset: number; limit: number }): Promise<EventListPage> {
  if (!storable(key)) return { rows: [], names: 0, other: 0, total: 0 };
  const w = windowsFor(opts.now, opts.rangeDays);
  const offset = Math.max(0, Math.floor(opts.offset));
  const limit = Math.max(0, Math.floor(opts.limit));
  const found = await rows<{ event: string | null; n: string | number; r: string | number; names: string | number; other: string | number }>(
    db,
    sql`with t as (
          select event, sum(count)::bigint as n from company_event_counts
          where company_key = ${key} and day between ${w.rangeStart}::date and ${w.today}::date
          group by event
        ),
        page as (
          select event, n, row_number() over (order by event = ${OTHER_EVENTS}, n desc, event collate "C") as r
          from t order by r offset ${offset} limit ${limit}
        )
        select event, n, r, 0 as names, 0 as other from page
        union all
        select null, coalesce(sum(n), 0), 0, count(*) filter (where event <> ${OTHER_EVENTS}), coalesce(sum(n) filter (where event = ${OTHER_EVENTS}), 0) from t`,
  );
  const sizes = found.find((f) => f.event === null);
  return {
    rows: found
      .filter((f) => f.event !== null)
      .sort((a, b) => Number(a.r) - Number(b.r))
      .map((f) => ({ name: f.event as string, count: Number(f.n) })),
    names: Number(sizes?.names ?? 0),
    other: Number(sizes?.other ?? 0),
    total: Number(sizes?.n ?? 0),
  };
}

/**
 * Key actions stored before KEY_ACTIONS named them. KEY_ACTIONS applies to events as they
 * arrive, so a name added to it later leaves the history's events of that name uncounted as
 * key actions, and trends by key actions read `steady` or `new` until 14 weeks of them exist.
 * The per-event rollup still holds those events by name: this compares, on two sample weeks
 * (the last 7 complete days, and the 7 days that open the trend's baseline, 92 to 98 days
 * ago), the events the rollup holds under KEY_ACTIONS' names with the key actions counted,
 * on the days the rollup covers (its events equal company_days' there). Two weeks of rows,
 * not the whole 98 days: a change anywhere in the trend's windows shows in one of them.
 */
export async function uncountedKeyActions(db: Db, keyActions: readonly string[], now: Date): Promise<{ named: number; counted: number } | null> {
  if (keyActions.length === 0) return null;
  const today = utcDay(now);
  const day = (ago: number) => dayString(new Date(today.getTime() - ago * 86_400_000));
  const inSample = (col: string) => sql`(${sql.raw(col)} between ${day(7)}::date and ${day(1)}::date or ${sql.raw(col)} between ${day(98)}::date and ${day(92)}::date)`;
  const perDay = await rows<{ day: string; named: string | number; rolled: string | number; counted: string | number; events: string | number }>(
    db,
    sql`with r as (
          select d.day, sum(u.k) filter (where u.e = any(array(select jsonb_array_elements_text(${JSON.stringify(keyActions)}::jsonb)))) as named, sum(u.k) as rolled
          from company_event_days d cross join lateral unnest(d.events, d.counts) as u(e, k)
          where ${inSample('d.day')} group by d.day
        ), c as (
          select day, sum(key_actions) as counted, sum(events) as events from company_days where ${inSample('day')} group by day
        )
        select r.day::text, coalesce(r.named, 0) as named, r.rolled, c.counted, c.events from r join c on c.day = r.day`,
  );
  let named = 0;
  let counted = 0;
  for (const d of perDay) {
    // A day the rollup does not fully cover (before migration 0009) says nothing.
    if (Number(d.rolled) < Number(d.events)) continue;
    named += Number(d.named);
    counted += Number(d.counted);
  }
  return { named, counted };
}

/**
 * The start-up warning when KEY_ACTIONS names events the history holds uncounted (see
 * uncountedKeyActions): more than a tenth of them, and at least 20.
 */
export function uncountedKeyActionsWarning(found: { named: number; counted: number } | null): string | null {
  if (!found) return null;
  const missing = found.named - found.counted;
  if (missing < 20 || missing < 0.1 * found.named) return null;
  return (
    `KEY_ACTIONS names events stored before it named them: ${missing.toLocaleString('en-US')} of the ${found.named.toLocaleString('en-US')} such events in two sample weeks are not counted as key actions ` +
    '(KEY_ACTIONS applies to events as they arrive). Trends by key actions read steady or new until 14 weeks of them are counted, and the digest may miss falling accounts meanwhile; ' +
    '`/groups top by events` reads the whole history'
  );
}
