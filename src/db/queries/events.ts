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
          select event, sum(count)::bigint as n from company_event_days
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
