/**
 * The company summary (schema: company_summary, summary_state): per company the
 * sums that the all-companies reads need, valid for one UTC day A (as_of).
 *
 * Exactness, and why the two writers never interleave:
 * - ingestion reads A with `FOR SHARE` (held to commit) before any write to
 *   company_days / company_people, and adds its request's increments, computed
 *   relative to that A, in the request's own transaction;
 * - the rollover (when a read finds A is not today) first UPDATEs summary_state,
 *   which waits for every ingestion holding the share lock to commit and makes
 *   new ones wait; then it locks company_summary EXCLUSIVE and recomputes every
 *   row from company_days / company_people with a fresh snapshot. An ingestion
 *   that read A before the rollover has committed by then, so its rollup
 *   writes are in that snapshot (and the increments it added are recomputed);
 *   one that reads A after it gets the new A before writing anything, and adds
 *   its increments relative to that. So each change is counted exactly once,
 *   whatever the interleaving.
 * - distinct people per range: last_seen_at only grows, and a person's rows are
 *   written by one transaction at a time (ingestion locks the person), so a
 *   person enters a range's count exactly when their last_seen_at crosses the
 *   range start: ingestion gets the old and new last_seen_at and adds 1 there.
 */
import { sql, type SQL } from 'drizzle-orm';
import { dayString, utcDay, windowsFor } from '../../domain/period.js';
import {
  BASELINE_DAYS,
  bookWeekFactors,
  fitNoisePriorFrom,
  ownDispersion,
  OWN_SKIP_WEEKS,
  RECENT_DAYS,
  withoutBookMove,
  type NoisePrior,
} from '../../domain/trend.js';
import type { Metric } from '../../domain/types.js';
import { rows, type Db } from '../client.js';

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

/**
 * Inside an ingestion transaction, before any write to the rollups: read A.
 * FOR SHARE, held to commit, so a rollover waits for this commit (and this
 * read waits for a rollover in progress, then sees its new A).
 */
export function summaryStateForShare(): SQL {
  return sql`select as_of::text as as_of from summary_state where id = 1 for share`;
}

/**
 * The statement adding a request's increments, relative to A (read with
 * summaryStateForShare in the same transaction), to company_summary. It is a
 * part of the ingestion's WITH statement and reads two of its relations, so it
 * runs in the same statement as the writes it follows:
 * - `days` (c text, d date, e, k, s, n int): per company and day, the events, key
 *   actions and sessions added, and n, the person-days created (new rows of
 *   company_person_days);
 * - `moved` (c text, o timestamptz, nw timestamptz): a person's last_seen_at at
 *   company c moved from o (null: a new person there) to nw.
 * A day adds to a window that holds it (recent, baseline; a range from its
 * start to A); a person adds 1 to a range's people when last_seen_at crosses
 * the range's start. Only companies with a non-zero increment are written.
 */
export function summaryAddSql(asOf: string, days: string, moved: string): SQL {
  const key = `${asOf}\u0000${days}\u0000${moved}`;
  let q = summaryAddCache.get(key);
  if (!q) {
    // Built once per day A (and relation names): it changes only when A does.
    if (summaryAddCache.size > 8) summaryAddCache.clear();
    summaryAddCache.set(key, (q = buildSummaryAdd(asOf, days, moved)));
  }
  return q;
}

const summaryAddCache = new Map<string, SQL>();

function buildSummaryAdd(asOf: string, days: string, moved: string): SQL {
  const b = summaryBounds(asOf);
  const date = (d: string) => sql`${d}::date`;
  const within = (from: string, to: string) => sql`d between ${date(from)} and ${date(to)}`;
  const sum = (col: string, cond: SQL) => sql`coalesce(sum(${sql.raw(col)}) filter (where ${cond}), 0)`;
  const exprs: SQL[] = [
    ...['e', 'k', 's', 'n'].map((col) => sum(col, within(b.recentStart, b.recentEnd))),
    ...['e', 'k', 's', 'n'].map((col) => sum(col, within(b.baselineStart, b.baselineEnd))),
    ...b.ranges.flatMap((r) => {
      const start = sql`${`${r.start}T00:00:00Z`}::timestamptz`;
      return [
        ...['e', 'k', 's'].map((col) => sum(col, sql`d >= ${date(r.start)}`)),
        sql`count(*) filter (where mv and nw >= ${start} and (o is null or o < ${start}))`,
      ];
    }),
  ];
  const cols = SUMMARY_COLUMNS;
  const v = cols.map((_, i) => `v${i}`);
  return sql`insert into company_summary as s (company_key, ${sql.raw(cols.join(', '))})
    select c, ${sql.raw(v.join(', '))} from (
      select c, ${sql.join(exprs.map((x, i) => sql`${x} as ${sql.raw(v[i])}`), sql`, `)}
      from (
        select c, d, e, k, s, n, null::timestamptz as o, null::timestamptz as nw, false as mv
        from ${sql.raw(days)} where c <> '' and ${within(b.baselineStart, b.asOf)}
        union all
        select c, null, 0, 0, 0, 0, o, nw, true from ${sql.raw(moved)} where c <> ''
      ) u
      group by c
    ) z
    where ${sql.raw(v.map((x) => `${x} <> 0`).join(' or '))}
    order by c
    on conflict (company_key) do update set ${sql.raw(cols.map((col) => `${col} = s.${col} + excluded.${col}`).join(', '))}`;
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
  if (state?.as_of === today) {
    await measureNewNoise(db, today);
    return false;
  }
  return rebuildSummary(db, today);
}

/** At most this many companies' noise measured by one read (the rest by the next reads). */
const NEW_NOISE_BATCH = 5_000;

/**
 * The noise of companies whose summary row ingestion wrote after the day's rollover (a
 * baseline, no active baseline week: company_summary_unmeasured_idx), measured now as the
 * rollover would, so a company imported or first seen with history today is judged on its own
 * swing (and can be gone quiet) today, not tomorrow. With the book's weekly move the rollover
 * stored; a book too small for a prior has it recomputed whole (cheap there). Under the
 * summary's day locked FOR UPDATE, so neither a rollover nor another measurer interleaves.
 */
async function measureNewNoise(db: Db, day: string): Promise<void> {
  // Only companies old enough for a baseline week (had >= 1: 21 days): a younger one has no
  // week to count and would stay in the index until it has.
  const waitingSql = (limit: number) =>
    sql`select s.company_key as k from company_summary s join companies c on c.company_key = s.company_key
        where s.base_events > 0 and s.active_weeks_events = 0 and (c.first_seen_at at time zone 'UTC')::date <= ${day}::date - ${RECENT_DAYS + 7}::int
        limit ${limit}`;
  if ((await rows<{ k: string }>(db, waitingSql(1))).length === 0) return;
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    // FOR UPDATE: one measurer at a time (two would deadlock on the rows they both update);
    // ingestion, which reads the day FOR SHARE, waits the few milliseconds this takes.
    const [state] = await rows<{ as_of: string; prior: unknown }>(t, sql`select as_of::text as as_of, noise_prior as prior from summary_state where id = 1 for update`);
    if (state?.as_of !== day) return;
    const waiting = await rows<{ k: string }>(t, waitingSql(NEW_NOISE_BATCH));
    if (waiting.length === 0) return; // another process measured them
    const all = (typeof state.prior === 'string' ? JSON.parse(state.prior) : state.prior) as Record<string, NoisePrior | null> | null;
    const factors = NOISE_METRICS.map((x) => all?.[x.m]?.weekFactors);
    if (factors.some((f) => f === undefined)) await rebuildNoise(t, summaryBounds(day));
    else await rebuildNoise(t, summaryBounds(day), { keys: waiting.map((w) => w.k), factors: factors as number[][] });
  });
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
    await rebuildNoise(t, b);
    return true;
  });
}

const NOISE_METRICS: readonly { m: Metric; col: string; suffix: string }[] = [
  { m: 'events', col: 'events', suffix: 'events' },
  { m: 'key_actions', col: 'key_actions', suffix: 'key_actions' },
  { m: 'sessions', col: 'sessions', suffix: 'sessions' },
  { m: 'people', col: 'people', suffix: 'people' },
];
const WEEKS = BASELINE_DAYS / 7;

/**
 * The trend's noise (issue 12), part of the rollover: per company and metric, its own
 * week-to-week dispersion over the baseline weeks it had and how many of them had activity,
 * computed by the domain's own functions (ownDispersion on the weeks with the book's move
 * taken out, the latest OWN_SKIP_WEEKS left out) from one grouped read of the baseline; then
 * the book's typical noise by volume (fitNoisePrior) into summary_state.
 */
async function rebuildNoise(t: Db, b: ReturnType<typeof summaryBounds>, only?: { keys: string[]; factors: number[][] }): Promise<void> {
  const bs = b.baselineStart;
  const some = only ? `and company_key in (select jsonb_array_elements_text('${JSON.stringify(only.keys).replace(/'/g, "''")}'::jsonb))` : '';
  // Dates are generated here (YYYY-MM-DD), never from input: safe to inline.
  const found = await rows<{ k: string; had: number | string; weeks: string }>(
    t,
    sql.raw(`select w.k, greatest(0, floor(least(${BASELINE_DAYS}, (date '${b.asOf}' - (c.first_seen_at at time zone 'UTC')::date) - ${RECENT_DAYS}) / 7.0))::int as had,
                    string_agg(concat_ws(':', w.i, ${NOISE_METRICS.map((x) => `w.${x.col}`).join(', ')}), ',') as weeks
             from (select company_key as k, (day - date '${bs}') / 7 as i, ${NOISE_METRICS.map((x) => `sum(${x.col}) as ${x.col}`).join(', ')}
                   from company_days where day between '${bs}' and '${b.baselineEnd}' and company_key <> '' ${some} group by 1, 2) w
             join companies c on c.company_key = w.k
             group by w.k, c.first_seen_at`),
  );
  const companies = found.map((r) => {
    const weeks = NOISE_METRICS.map(() => new Array<number>(WEEKS).fill(0));
    for (const part of r.weeks.split(',')) {
      const [i, ...vals] = part.split(':').map(Number);
      if (i >= 0 && i < WEEKS) vals.forEach((v, j) => (weeks[j][i] = v));
    }
    return { k: r.k, had: Math.min(WEEKS, Number(r.had)), weeks };
  });
  // The book's move per week, over the companies with a full baseline.
  const full = companies.filter((c) => c.had === WEEKS);
  // Some companies only: the book's move as the rollover measured it (the prior is not refitted).
  const factors = only ? only.factors : NOISE_METRICS.map((_, j) => bookWeekFactors(full.map((c) => c.weeks[j])));
  const points: { perWeek: number; phi: number }[][] = NOISE_METRICS.map(() => []);
  const updates = companies.map((c) => {
    const u: Record<string, string | number | null> = { k: c.k };
    NOISE_METRICS.forEach((x, j) => {
      const had = c.weeks[j].slice(WEEKS - c.had);
      const adjusted = withoutBookMove(had, factors[j]);
      const own = ownDispersion(adjusted.slice(0, Math.max(0, adjusted.length - OWN_SKIP_WEEKS)));
      u[`p_${x.suffix}`] = own ? own.phi : null;
      u[`a_${x.suffix}`] = had.filter((v) => v > 0).length;
      if (c.had === WEEKS && own) points[j].push({ perWeek: had.reduce((s, v) => s + v, 0) / WEEKS, phi: own.phi });
    });
    return u;
  });
  for (let i = 0; i < updates.length; i += NOISE_UPDATE_BATCH) {
    const batch = JSON.stringify(updates.slice(i, i + NOISE_UPDATE_BATCH));
    await t.execute(
      sql`update company_summary s set ${sql.raw(NOISE_METRICS.map((x) => `phi_${x.suffix} = u.p_${x.suffix}, active_weeks_${x.suffix} = u.a_${x.suffix}`).join(', '))}
          from jsonb_to_recordset(${batch}::jsonb) as u(k text, ${sql.raw(NOISE_METRICS.map((x) => `p_${x.suffix} float8, a_${x.suffix} smallint`).join(', '))})
          where s.company_key = u.k`,
    );
  }
  if (only) return;
  const priors: Record<string, NoisePrior | null> = {};
  NOISE_METRICS.forEach((x, j) => (priors[x.m] = fitNoisePriorFrom(points[j], factors[j])));
  await t.execute(sql`update summary_state set noise_prior = ${JSON.stringify(priors)}::jsonb where id = 1`);
}
const NOISE_UPDATE_BATCH = 20_000;

/** The book's typical noise for a metric as the last rollover fitted it (null: too few companies; the assumed noise holds). */
export async function noisePrior(db: Db, now: Date, metric: Metric): Promise<NoisePrior | null> {
  return (await noisePriors(db, now))[metric] ?? null;
}

/** The book's typical noise of every metric, in one read (the asked metric's and its evidence's). */
export async function noisePriors(db: Db, now: Date): Promise<Partial<Record<Metric, NoisePrior | null>>> {
  await ensureSummaryFresh(db, now);
  const [r] = await rows<{ prior: unknown }>(db, sql`select noise_prior as prior from summary_state where id = 1`);
  const all = (typeof r?.prior === 'string' ? JSON.parse(r.prior) : r?.prior) as Partial<Record<Metric, NoisePrior | null>> | null | undefined;
  return all ?? {};
}
