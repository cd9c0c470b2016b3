/**
 * The company summary (schema: company_summary, summary_state): per company the
 * sums that the all-companies reads need, valid for one UTC day A (as_of).
 *
 * Exactness, and why the two writers never interleave:
 * - ingestion adds its request's increments, computed relative to A, in the
 *   request's own transaction, after reading A with `FOR SHARE` (held to commit);
 * - the rollover (when a read finds A is not today) first UPDATEs summary_state,
 *   which waits for every ingestion holding the share lock to commit and makes
 *   new ones wait; then it locks company_summary EXCLUSIVE and recomputes every
 *   row from company_days / company_people with a fresh snapshot. An ingestion
 *   whose rollup writes were not yet committed at that snapshot adds its
 *   increments afterwards, relative to the new A. So each change is counted
 *   exactly once, whatever the interleaving.
 * - distinct people per range: last_seen_at only grows, and a person's rows are
 *   written by one transaction at a time (ingestion locks the person), so a
 *   person enters a range's count exactly when their last_seen_at crosses the
 *   range start: ingestion gets the old and new last_seen_at and adds 1 there.
 */
import { sql } from 'drizzle-orm';
import { dayString, utcDay, windowsFor } from '../../domain/period.js';
import { rows, type Db } from '../client.js';
import { recordset } from '../sqlutil.js';

/** Ranges the summary holds; other ranges are read live from company_days. */
export const SUMMARY_RANGES = [7, 30, 90] as const;
export type SummaryRange = (typeof SUMMARY_RANGES)[number];
export const isSummaryRange = (n: number): n is SummaryRange => (SUMMARY_RANGES as readonly number[]).includes(n);

const METRICS = ['events', 'key_actions', 'sessions', 'people'] as const;
/** Every value column, in one fixed order. */
export const SUMMARY_COLUMNS: readonly string[] = [
  ...METRICS.map((m) => `recent_${m}`),
  ...METRICS.map((m) => `base_${m}`),
  ...SUMMARY_RANGES.flatMap((n) => METRICS.map((m) => `${m}_${n}`)),
];

/** The day boundaries of the summary for as_of A. */
export function summaryBounds(asOf: string) {
  const now = new Date(`${asOf}T00:00:00Z`);
  const w = windowsFor(now, 7);
  const ranges = SUMMARY_RANGES.map((n) => ({ n, start: windowsFor(now, n).rangeStart }));
  return {
    asOf,
    recentStart: w.recentStart,
    recentEnd: w.recentEnd,
    baselineStart: w.baselineStart,
    baselineEnd: w.baselineEnd,
    ranges: ranges.map((r) => ({ ...r, startMs: Date.parse(`${r.start}T00:00:00Z`) })),
  };
}

export interface DayCounts {
  c: string;
  /** 'YYYY-MM-DD' */
  d: string;
  e: number;
  k: number;
  s: number;
  /** new person-days */
  n: number;
}

export interface LastSeenMove {
  c: string;
  /** epoch ms; null for a new (company, person) */
  old: number | null;
  new: number;
}

/** Per-company increments of every summary column for as_of A; only companies with a non-zero one. */
export function summaryIncrements(asOf: string, days: Iterable<DayCounts>, moves: Iterable<LastSeenMove>): { c: string; v: number[] }[] {
  const b = summaryBounds(asOf);
  const out = new Map<string, number[]>();
  const vec = (c: string) => {
    let v = out.get(c);
    if (!v) out.set(c, (v = new Array(SUMMARY_COLUMNS.length).fill(0)));
    return v;
  };
  const add = (v: number[], at: number, x: DayCounts) => {
    v[at] += x.e;
    v[at + 1] += x.k;
    v[at + 2] += x.s;
    v[at + 3] += x.n;
  };
  for (const x of days) {
    if (x.c === '' || x.d < b.baselineStart || x.d > b.asOf) continue;
    const v = vec(x.c);
    if (x.d >= b.recentStart && x.d <= b.recentEnd) add(v, 0, x);
    if (x.d >= b.baselineStart && x.d <= b.baselineEnd) add(v, 4, x);
    b.ranges.forEach((r, i) => {
      if (x.d >= r.start) add(v, 8 + 4 * i, { ...x, n: 0 });
    });
  }
  for (const m of moves) {
    if (m.c === '') continue;
    b.ranges.forEach((r, i) => {
      if (m.new >= r.startMs && (m.old === null || m.old < r.startMs)) vec(m.c)[8 + 4 * i + 3] += 1;
    });
  }
  return [...out].filter(([, v]) => v.some((x) => x !== 0)).map(([c, v]) => ({ c, v }));
}

/**
 * Inside an ingestion transaction: read A (FOR SHARE, so a rollover waits for
 * this commit), then add the increments. Call it last: the share lock is held to commit.
 */
export async function addToSummary(t: Db, days: Iterable<DayCounts>, moves: Iterable<LastSeenMove>): Promise<void> {
  const [state] = await rows<{ as_of: string }>(t, sql`select as_of::text as as_of from summary_state where id = 1 for share`);
  if (!state) return; // not migrated yet: the first read builds it
  const inc = summaryIncrements(state.as_of, days, moves).sort((a, b) => (a.c < b.c ? -1 : a.c > b.c ? 1 : 0));
  if (inc.length === 0) return;
  const cols = SUMMARY_COLUMNS;
  const data = inc.map((r) => {
    const o: Record<string, number | string> = { c: r.c };
    cols.forEach((col, i) => (o[`v${i}`] = r.v[i]));
    return o;
  });
  await t.execute(
    sql`insert into company_summary as s (company_key, ${sql.raw(cols.join(', '))})
        select c, ${sql.raw(cols.map((_, i) => `v${i}`).join(', '))}
        from ${recordset(data, 'x', ['c text', ...cols.map((_, i) => `v${i} bigint`)].join(', '))} order by c
        on conflict (company_key) do update set ${sql.raw(cols.map((col) => `${col} = s.${col} + excluded.${col}`).join(', '))}`,
  );
}

/** The day the summary is valid for, or null before the first build. */
export async function summaryAsOf(db: Db): Promise<string | null> {
  const [state] = await rows<{ as_of: string }>(db, sql`select as_of::text as as_of from summary_state where id = 1`);
  return state && state.as_of !== '1970-01-01' ? state.as_of : null;
}

/**
 * Make the summary valid for `now`'s UTC day (past or future days too, for
 * tests), recomputing it when it is not. Reads call this first, so they never
 * see stale windows. Returns whether this call rebuilt it.
 */
export async function ensureSummaryFresh(db: Db, now: Date): Promise<boolean> {
  const today = dayString(utcDay(now));
  const [state] = await rows<{ as_of: string }>(db, sql`select as_of::text as as_of from summary_state where id = 1`);
  if (state?.as_of === today) return false;
  return rebuildSummary(db, today);
}

/** Recompute every row for as_of `day` (no-op when another process just did). */
export async function rebuildSummary(db: Db, day: string, opts: { force?: boolean } = {}): Promise<boolean> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    // First the state row: waits for ingestion holding it FOR SHARE, and makes new ones wait.
    const changed = await rows<{ id: number }>(
      t,
      sql`insert into summary_state (id, as_of) values (1, ${day}::date)
          on conflict (id) do update set as_of = excluded.as_of
          where summary_state.as_of <> excluded.as_of or ${opts.force === true}
          returning id`,
    );
    if (changed.length === 0) return false;
    await t.execute(sql`lock table company_summary in exclusive mode`);
    await t.execute(sql`delete from company_summary`);
    const b = summaryBounds(day);
    const sumIf = (col: string, from: string, to: string) =>
      `coalesce(sum(${col}) filter (where day between '${from}' and '${to}'), 0)`;
    const dayCols = [
      ...METRICS.map((m) => sumIf(m, b.recentStart, b.recentEnd)),
      ...METRICS.map((m) => sumIf(m, b.baselineStart, b.baselineEnd)),
      ...b.ranges.flatMap((r) => METRICS.map((m) => (m === 'people' ? '0' : sumIf(m, r.start, b.asOf)))),
    ];
    const peopleCols = b.ranges.map((r) => `count(*) filter (where last_seen_at >= '${r.start}T00:00:00Z'::timestamptz)`);
    // Dates are generated here (YYYY-MM-DD), never from input: safe to inline.
    await t.execute(
      sql.raw(`insert into company_summary (company_key, ${SUMMARY_COLUMNS.join(', ')})
        select k, ${SUMMARY_COLUMNS.map((col, i) => {
          const r = SUMMARY_RANGES.findIndex((n) => col === `people_${n}`);
          return r >= 0 ? `coalesce(p.p${r}, 0)` : `coalesce(d.v${i}, 0)`;
        }).join(', ')}
        from (select company_key as k, ${dayCols.map((x, i) => `${x} as v${i}`).join(', ')}
              from company_days
              where day between '${b.baselineStart}' and '${b.asOf}' and company_key <> ''
              group by company_key) d
        full join (select company_key as k, ${peopleCols.map((x, i) => `${x} as p${i}`).join(', ')}
              from company_people
              where last_seen_at >= '${b.ranges[b.ranges.length - 1].start}T00:00:00Z'::timestamptz and company_key <> ''
              group by company_key) p using (k)`),
    );
    return true;
  });
}
