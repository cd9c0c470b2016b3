/**
 * Reads of the company rollups. Every function takes the database first and
 * `now` explicitly; day windows come from domain/period.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Metric } from '../../domain/types.js';
import { dayString, utcDay, windowsFor, weekBlocks, type Windows } from '../../domain/period.js';
import type { NoisePrior } from '../../domain/trend.js';
import { rows, type Db } from '../client.js';
import { storable } from '../sqlutil.js';
import { ensureSummaryFresh, isSummaryRange, type SummaryRange } from './summary.js';

/** The company_days column a metric's trend is computed on (people: person-days). */
const METRIC_COLUMN: Record<Metric, SQL> = {
  key_actions: sql.raw('key_actions'),
  events: sql.raw('events'),
  sessions: sql.raw('sessions'),
  people: sql.raw('people'),
};

/** A metric name, checked before it becomes part of a column name. */
function checkedMetric(m: Metric): Metric {
  if (!Object.prototype.hasOwnProperty.call(METRIC_COLUMN, m)) throw new Error(`unknown metric ${String(m)}`);
  return m;
}

export interface CompanyStats {
  key: string;
  name: string | null;
  firstSeen: Date | null;
  lastSeen: Date | null;
  people: number;
  events: number;
  keyActions: number;
  sessions: number;
  recent: number;
  baseline: number;
  /** The trend's noise measured by the rollover (see TrendWindows.noise). */
  noise: { phi: number | null; activeWeeks: number };
}

interface StatsRow {
  key: string;
  name: string | null;
  /** timestamp text, or epoch milliseconds */
  first_seen: string | number | null;
  last_seen: string | number | null;
  people: number;
  events: number;
  key_actions: number;
  sessions: number;
  recent: number;
  baseline: number;
  phi: number | string | null;
  act: number | string | null;
}

const toStats = (r: StatsRow): CompanyStats => ({
  key: r.key,
  name: r.name,
  firstSeen: r.first_seen === null ? null : new Date(r.first_seen),
  lastSeen: r.last_seen === null ? null : new Date(r.last_seen),
  people: Number(r.people),
  events: Number(r.events),
  keyActions: Number(r.key_actions),
  sessions: Number(r.sessions),
  recent: Number(r.recent),
  baseline: Number(r.baseline),
  noise: { phi: r.phi === null || r.phi === undefined ? null : Number(r.phi), activeWeeks: Number(r.act ?? 0) },
});

/** The noise columns of metric m from company_summary `s` (as phi, act). */
const noiseColumns = (m: Metric) => `s.phi_${m}::float8 as phi, coalesce(s.active_weeks_${m}, 0)::float8 as act`;

/**
 * Every company with its activity over the range and its two trend windows for
 * `metric`.
 *
 * All companies over 7, 30 or 90 days (the standard ranges) read the company
 * summary, one row per company, after making it valid for `now`'s day. Other
 * ranges sum company_days live; both give the same numbers (test/summary.test.ts).
 * One company's detail: companyStatsOf.
 */
export async function companyStats(db: Db, opts: { now: Date; rangeDays: number; metric: Metric }): Promise<CompanyStats[]> {
  if (isSummaryRange(opts.rangeDays)) return companyStatsFromSummary(db, { ...opts, rangeDays: opts.rangeDays });
  return companyStatsLive(db, opts);
}

/** companyStats from company_summary (ranges 7/30/90, every company). */
export async function companyStatsFromSummary(db: Db, opts: { now: Date; rangeDays: SummaryRange; metric: Metric }): Promise<CompanyStats[]> {
  const n = opts.rangeDays;
  const m = checkedMetric(opts.metric);
  await ensureSummaryFresh(db, opts.now);
  const result = await rows<StatsRow>(
    db,
    // Cheap types for 100,000 rows: float8 numbers and epoch milliseconds parse faster than int8 and timestamp text.
    sql.raw(`select c.company_key as key, c.name,
               (extract(epoch from c.first_seen_at) * 1000)::float8 as first_seen, (extract(epoch from c.last_seen_at) * 1000)::float8 as last_seen,
               coalesce(s.people_${n}, 0)::float8 as people, coalesce(s.events_${n}, 0)::float8 as events,
               coalesce(s.key_actions_${n}, 0)::float8 as key_actions, coalesce(s.sessions_${n}, 0)::float8 as sessions,
               coalesce(s.recent_${m}, 0)::float8 as recent, coalesce(s.base_${m}, 0)::float8 as baseline, ${noiseColumns(m)}
        from companies c left join company_summary s on s.company_key = c.company_key
        where c.company_key <> ''`),
  );
  return result.map(toStats);
}

/**
 * The two trend windows of `metric` summed over every company: the book's move.
 * One scan of company_summary and nothing else: a summary row exists only for a key
 * of `companies` (ingestion writes both in one transaction, the rebuild reads the
 * rollups of those companies), so no join is needed (test/summary.test.ts checks the
 * sum against every company's live windows).
 */
export async function bookWindows(db: Db, opts: { now: Date; metric: Metric }): Promise<{ recent: number; baseline: number }> {
  await ensureSummaryFresh(db, opts.now);
  const [r] = await rows<{ recent: number | string; baseline: number | string }>(db, sql.raw(bookWindowsSql(opts.metric)));
  return { recent: Number(r?.recent ?? 0), baseline: Number(r?.baseline ?? 0) };
}

function bookWindowsSql(metric: Metric): string {
  const m = checkedMetric(metric);
  return `select coalesce(sum(recent_${m}), 0)::float8 as recent, coalesce(sum(base_${m}), 0)::float8 as baseline
          from company_summary where company_key <> ''`;
}

/**
 * One company's stats over the range, and the book's trend windows its trend is judged
 * against; null stats when there is no such company. A standard range reads the
 * company's summary row (a primary-key lookup) and the book's sums in one statement;
 * another range sums the company's own company_days and people live (index ranges).
 */
export async function companyStatsOf(
  db: Db,
  key: string,
  opts: { now: Date; rangeDays: number; metric: Metric },
): Promise<{ stats: CompanyStats | null; book: { recent: number; baseline: number } }> {
  if (!storable(key)) return { stats: null, book: { recent: 0, baseline: 0 } };
  const n = opts.rangeDays;
  if (!isSummaryRange(n)) {
    const [stats, book] = await Promise.all([companyStatsLive(db, { ...opts, key }), bookWindows(db, opts)]);
    return { stats: stats[0] ?? null, book };
  }
  const m = checkedMetric(opts.metric);
  // The summary's day comes back with its rows, in one snapshot: only a stale summary
  // (the first read of a day) costs a second round trip, after the rebuild.
  const read = () =>
    rows<StatsRow & { as_of: string | null; book_recent: number | string; book_baseline: number | string }>(
      db,
      sql`select (select as_of::text from summary_state where id = 1) as as_of,
                 ${sql.raw(STATS_COLUMNS(n, m))}, b.recent as book_recent, b.baseline as book_baseline
          from (${sql.raw(bookWindowsSql(m))}) b
          left join companies c on c.company_key = ${key} and c.company_key <> ''
          left join company_summary s on s.company_key = c.company_key`,
    );
  let [r] = await read();
  if (r?.as_of !== dayString(utcDay(opts.now))) {
    await ensureSummaryFresh(db, opts.now);
    [r] = await read();
  }
  return {
    stats: r && r.key !== null ? toStats(r) : null,
    book: { recent: Number(r?.book_recent ?? 0), baseline: Number(r?.book_baseline ?? 0) },
  };
}

/**
 * companyStats summed live from company_days: any range, every company or one (`key`:
 * equality on the key, so each table is read by its index, never scanned).
 */
export async function companyStatsLive(
  db: Db,
  opts: { now: Date; rangeDays: number; metric: Metric; key?: string },
): Promise<CompanyStats[]> {
  const w = windowsFor(opts.now, opts.rangeDays);
  const col = METRIC_COLUMN[opts.metric];
  const rangeStartTs = `${w.rangeStart}T00:00:00Z`;
  if (opts.key !== undefined && !storable(opts.key)) return [];
  // The trend's noise is measured by the daily rollover: the live sums read it from the summary.
  await ensureSummaryFresh(db, opts.now);
  const m = checkedMetric(opts.metric);
  const only = opts.key !== undefined ? sql`and company_key = ${opts.key}` : sql``;
  const result = await rows<StatsRow>(
    db,
    sql`with days as (
          select company_key,
                 coalesce(sum(events) filter (where day >= ${w.rangeStart}::date), 0)::int as events,
                 coalesce(sum(key_actions) filter (where day >= ${w.rangeStart}::date), 0)::int as key_actions,
                 coalesce(sum(sessions) filter (where day >= ${w.rangeStart}::date), 0)::int as sessions,
                 coalesce(sum(${col}) filter (where day between ${w.recentStart}::date and ${w.recentEnd}::date), 0)::int as recent,
                 coalesce(sum(${col}) filter (where day between ${w.baselineStart}::date and ${w.baselineEnd}::date), 0)::int as baseline
          from company_days
          where day >= ${w.earliest}::date and day <= ${w.today}::date and company_key <> '' ${only}
          group by company_key
        ), active as (
          select company_key, count(*)::int as people
          from company_people
          where last_seen_at >= ${rangeStartTs}::timestamptz and company_key <> '' ${only}
          group by company_key
        )
        select c.company_key as key, c.name, c.first_seen_at::text as first_seen, c.last_seen_at::text as last_seen,
               coalesce(a.people, 0) as people, coalesce(d.events, 0) as events, coalesce(d.key_actions, 0) as key_actions,
               coalesce(d.sessions, 0) as sessions, coalesce(d.recent, 0) as recent, coalesce(d.baseline, 0) as baseline,
               ${sql.raw(noiseColumns(m))}
        from companies c
        left join days d on d.company_key = c.company_key
        left join active a on a.company_key = c.company_key
        left join company_summary s on s.company_key = c.company_key
        where c.company_key <> '' ${opts.key !== undefined ? sql`and c.company_key = ${opts.key}` : sql``}`,
  );
  return result.map(toStats);
}

export interface CompanyRecord {
  key: string;
  name: string | null;
  traits: Record<string, unknown>;
  firstSeen: Date | null;
  lastSeen: Date | null;
  peopleKnown: number;
}

export async function companyRecord(db: Db, key: string): Promise<CompanyRecord | null> {
  if (!storable(key)) return null;
  const [r] = await rows<{ key: string; name: string | null; traits: Record<string, unknown> | string; first_seen: string | null; last_seen: string | null; known: number }>(
    db,
    sql`select c.company_key as key, c.name, c.traits, c.first_seen_at::text as first_seen, c.last_seen_at::text as last_seen,
               (select count(*)::int from company_people p where p.company_key = c.company_key) as known
        from companies c where c.company_key = ${key}`,
  );
  if (!r) return null;
  return {
    key: r.key,
    name: r.name,
    traits: typeof r.traits === 'string' ? JSON.parse(r.traits) : r.traits ?? {},
    firstSeen: r.first_seen ? new Date(r.first_seen) : null,
    lastSeen: r.last_seen ? new Date(r.last_seen) : null,
    peopleKnown: Number(r.known),
  };
}

/** One company's metric in 12 blocks of 7 days ending today, oldest first. */
export async function weeklySeries(db: Db, key: string, now: Date, metric: Metric): Promise<{ start: string; value: number }[]> {
  const blocks = weekBlocks(now);
  const col = METRIC_COLUMN[metric];
  const found = !storable(key) ? [] : await rows<{ day: string; v: number }>(
    db,
    sql`select day::text as day, ${col}::int as v from company_days
        where company_key = ${key} and day between ${blocks[0].start}::date and ${blocks[blocks.length - 1].end}::date`,
  );
  return blocks.map((b) => ({
    start: b.start,
    value: found.filter((r) => r.day >= b.start && r.day <= b.end).reduce((s, r) => s + Number(r.v), 0),
  }));
}

export interface PersonActivity {
  id: string;
  name: string | null;
  email: string | null;
  events: number;
  keyActions: number;
  sessions: number;
  lastSeen: Date;
}

/** A company's people: activity over the range, last seen; the most active first. */
export async function companyPeople(db: Db, key: string, opts: { now: Date; rangeDays: number; limit: number }): Promise<PersonActivity[]> {
  if (!storable(key)) return [];
  const w: Windows = windowsFor(opts.now, opts.rangeDays);
  const found = await rows<{ id: string; name: string | null; email: string | null; events: number; key_actions: number; sessions: number; last_seen: string }>(
    db,
    sql`select cp.person_id as id, p.name, p.email, cp.last_seen_at::text as last_seen,
               coalesce(d.events, 0)::int as events, coalesce(d.key_actions, 0)::int as key_actions, coalesce(d.sessions, 0)::int as sessions
        from company_people cp
        left join people p on p.person_id = cp.person_id
        left join (
          select person_id, sum(events) as events, sum(key_actions) as key_actions, sum(sessions) as sessions
          from company_person_days
          where company_key = ${key} and day between ${w.rangeStart}::date and ${w.today}::date
          group by person_id
        ) d on d.person_id = cp.person_id
        where cp.company_key = ${key}
        order by coalesce(d.key_actions, 0) desc, coalesce(d.events, 0) desc, cp.last_seen_at desc, cp.person_id
        limit ${opts.limit}`,
  );
  return found.map((r) => ({
    id: r.id,
    name: r.name,
    email: r.email,
    events: Number(r.events),
    keyActions: Number(r.key_actions),
    sessions: Number(r.sessions),
    lastSeen: new Date(r.last_seen),
  }));
}

export interface CompanyName {
  key: string;
  name: string | null;
}

/** Find companies by key (exact), then name prefix, then name or key substring; case-insensitive. */
export async function findCompanies(db: Db, query: string, limit = 20): Promise<{ how: 'key' | 'prefix' | 'substring' | 'none'; matches: CompanyName[] }> {
  const q = query.trim();
  if (!storable(q)) return { how: 'none', matches: [] };
  const exact = await rows<CompanyName>(db, sql`select company_key as key, name from companies where company_key = ${q} and company_key <> ''`);
  if (exact.length > 0) return { how: 'key', matches: exact };
  const like = q.replace(/[\\%_]/g, (c) => `\\${c}`).toLowerCase();
  const lower = q.toLowerCase();
  // Prefix matches (tier 1) and substring matches (tier 2) in one scan: every prefix
  // match is a substring match too, so the first `limit` rows ordered by tier hold
  // tier 1's first `limit` whenever it has any; only the best tier is kept.
  const found = await rows<CompanyName & { tier: number }>(
    db,
    sql`select company_key as key, name,
               case when lower(name) like ${`${like}%`} or lower(company_key) = ${lower} then 1 else 2 end as tier
        from companies
        where company_key <> '' and (lower(name) like ${`%${like}%`} or lower(company_key) like ${`%${like}%`})
        order by tier, lower(name) = ${lower} desc, last_seen_at desc nulls last, company_key limit ${limit}`,
  );
  const tier = Number(found[0]?.tier ?? 0);
  const matches = found.filter((m) => Number(m.tier) === tier).map(({ key, name }) => ({ key, name }));
  if (tier === 1) {
    // An exact name (case-insensitive) wins over longer names that merely start with it.
    const same = matches.filter((m) => m.name?.toLowerCase() === lower);
    return { how: 'prefix', matches: same.length > 0 ? same : matches };
  }
  return { how: matches.length > 0 ? 'substring' : 'none', matches };
}

/** Every company's key and name (for suggestions and split detection). */
export async function allCompanyNames(db: Db): Promise<CompanyName[]> {
  return rows<CompanyName>(db, sql`select company_key as key, name from companies where company_key <> '' order by company_key`);
}

export interface Coverage {
  days: number;
  events: number;
  eventsWithCompany: number;
  people: number;
  peopleWithCompany: number;
}

/** Share of activity and of active people that carried a company, over the last `days` days. */
export async function keyCoverage(db: Db, now: Date, days: number): Promise<Coverage> {
  const w = windowsFor(now, days);
  const [r] = await rows<{ events: number; grouped: number; people: number; people_grouped: number }>(
    db,
    sql`select
          (select coalesce(sum(events), 0)::int from company_days where day between ${w.rangeStart}::date and ${w.today}::date) as events,
          (select coalesce(sum(events), 0)::int from company_days where day between ${w.rangeStart}::date and ${w.today}::date and company_key <> '') as grouped,
          (select count(*)::int from people where last_active_at >= ${`${w.rangeStart}T00:00:00Z`}::timestamptz) as people,
          (select count(*)::int from people where last_active_at >= ${`${w.rangeStart}T00:00:00Z`}::timestamptz and company_key is not null) as people_grouped`,
  );
  return { days, events: Number(r.events), eventsWithCompany: Number(r.grouped), people: Number(r.people), peopleWithCompany: Number(r.people_grouped) };
}

// ---------------------------------------------------------------------------
// Reads that let PostgreSQL do the cutting (standard ranges, every company).
// At 100,000 companies, shipping every row to decide every trend costs about a
// second; these move tens or hundreds of rows. Each filter is a NECESSARY
// condition of what the caller then decides exactly with domain/trend, so the
// answers equal the full computation (test/summary-filters.test.ts).

/**
 * Every company with its summary for range n and metric m as one derived table `w`
 * (key, name, people, events, key_actions, sessions, r = recent, b = baseline,
 * age = whole days since first activity). `offset 0` keeps PostgreSQL from folding
 * it into the outer query, so each row's age is computed once, not per use.
 */
function windowed(n: SummaryRange, m: Metric, today: string): string {
  return `(select c.company_key as key, c.name,
             coalesce(s.people_${n}, 0)::float8 as people, coalesce(s.events_${n}, 0)::float8 as events,
             coalesce(s.recent_${m}, 0)::float8 as r, coalesce(s.base_${m}, 0)::float8 as b,
             s.phi_${m}::float8 as phi, coalesce(s.active_weeks_${m}, 0) as act,
             (date '${today}' - (c.first_seen_at at time zone 'UTC')::date) as age
           from companies c left join company_summary s on s.company_key = c.company_key
           where c.company_key <> '' offset 0) w`;
}

/** domain/trend priorDispersion as SQL over a weekly volume expression (numbers only, generated here). */
function priorSql(t: TrendConstants, perWeek: string): string {
  const num = (x: number) => (Number.isFinite(x) ? String(x) : '0');
  const pr = t.prior;
  if (!pr || pr.perWeek.length === 0) return `(${num(t.d0)} + ${num(t.cv * t.cv)} * ${perWeek})`;
  const xs = pr.perWeek;
  const ys = pr.phi;
  const parts = [`when ${perWeek} <= ${num(xs[0])} then ${num(ys[0])}`];
  for (let i = 1; i < xs.length; i++) {
    const slope = (ys[i] - ys[i - 1]) / (Math.log(xs[i]) - Math.log(xs[i - 1]));
    parts.push(`when ${perWeek} <= ${num(xs[i])} then ${num(ys[i - 1])} + (ln(${perWeek}) - ${num(Math.log(xs[i - 1]))}) * ${num(slope)}`);
  }
  return `(case ${parts.join(' ')} else ${num(ys[ys.length - 1])} end)`;
}

/** Conditions over `w` (see windowed) that are NECESSARY for the rule's verdicts. */
function trendTerms(t: TrendConstants) {
  const bdays = `greatest(1, least(${t.baselineDays}, w.age - ${t.recentDays}))::float8`;
  // A hair wider than the rule's thresholds, so float rounding never drops a candidate.
  const down = `(w.r * ${bdays} <= w.b * ${t.recentDays} * (1 + ${t.downMin}) * (1 + 1e-9))`;
  const up = `(w.r * ${bdays} >= w.b * ${t.recentDays} * (1 + ${t.upMin}) * (1 - 1e-9))`;
  const old = `(w.age is not null and w.age >= ${t.newBeforeDays})`;
  // Used to be active: the minimum a week, or silent now after activity (gone quiet, whatever the size).
  const used = `(${old} and (w.b * 7 >= ${t.minBaselinePerWeek} * ${bdays} or (w.r = 0 and w.b > 0)))`;
  // The dispersion the rule uses for this company (domain/trend dispersionOf): its own, as
  // the rollover measured it, shrunk toward the book's typical one at its volume, at least 1.
  const p = `(${t.recentDays}::float8 / (${t.recentDays} + ${bdays}))`;
  const wo = `(${t.ownWeight} * greatest(0, floor(least(${t.baselineDays}, w.age - ${t.recentDays}) / 7.0) - ${t.ownSkipWeeks} - 1))`;
  const prior = priorSql(t, `(w.b * 7 / ${bdays})`);
  const phi = `greatest(1, case when ${wo} > 0 and w.phi is not null then (${wo} * w.phi + ${t.priorWeight} * ${prior}) / (${wo} + ${t.priorWeight}) else ${prior} end)`;
  // Computed once per row (offset 0 keeps PostgreSQL from pasting the expressions into each use).
  const lateral = `cross join lateral (select ${phi} as phi, ${p} as p, ((w.r + w.b) * ${p} * (1 - ${p})) as npq offset 0) x`;
  // The count test can only pass where the company's own window (no book factor: the milder
  // verdict needs it) is unusual at that dispersion: |z| of at least STEADY_BELOW_Z when the
  // deflated npq is NORMAL_ENOUGH or more (domain/trend). A silent account may be gone quiet.
  const unusual = `(w.r = 0 or x.npq < ${t.normalEnough} * x.phi or abs(w.r - (w.r + w.b) * x.p) >= ${t.steadyBelowZ} * sqrt(x.npq * x.phi))`;
  return {
    old,
    used,
    /** Joins `x` (phi, p, npq), which `moving` and `falling` read. */
    lateral,
    moving: `(${old} and ((w.b = 0 and w.r > 0) or (w.b > 0 and (${down} or ${up}) and ${unusual})))`,
    falling: `(${used} and ${down} and ${unusual})`,
  };
}

export interface TrendConstants {
  /** domain/trend OWN_WEIGHT_PER_WEEK, PRIOR_WEIGHT, OWN_SKIP_WEEKS, COUNT_DISPERSION, WEEKLY_SWING_CV and the book's typical noise: the dispersion the rule uses. */
  ownWeight: number;
  priorWeight: number;
  ownSkipWeeks: number;
  /** domain/trend NORMAL_ENOUGH and STEADY_BELOW_Z: windows the test cannot call. */
  normalEnough: number;
  steadyBelowZ: number;
  d0: number;
  cv: number;
  prior: NoisePrior | null;
  recentDays: number;
  baselineDays: number;
  newBeforeDays: number;
  downMin: number;
  upMin: number;
  minBaselinePerWeek: number;
}

const STATS_COLUMNS = (n: SummaryRange, m: Metric) => `c.company_key as key, c.name,
  (extract(epoch from c.first_seen_at) * 1000)::float8 as first_seen, (extract(epoch from c.last_seen_at) * 1000)::float8 as last_seen,
  coalesce(s.people_${n}, 0)::float8 as people, coalesce(s.events_${n}, 0)::float8 as events,
  coalesce(s.key_actions_${n}, 0)::float8 as key_actions, coalesce(s.sessions_${n}, 0)::float8 as sessions,
  coalesce(s.recent_${m}, 0)::float8 as recent, coalesce(s.base_${m}, 0)::float8 as baseline, ${noiseColumns(m)}`;

export type Selection =
  /** The most active companies by `rankBy` over the range (ties: people, then name, in code-point order). */
  | { kind: 'top'; limit: number; rankBy: Metric }
  /** These companies. */
  | { kind: 'keys'; keys: string[] };

export async function selectedCompanyStats(
  db: Db,
  opts: { now: Date; rangeDays: SummaryRange; metric: Metric; select: Selection },
): Promise<CompanyStats[]> {
  const n = opts.rangeDays;
  const m = checkedMetric(opts.metric);
  await ensureSummaryFresh(db, opts.now);
  if (opts.select.kind === 'top') {
    const rankBy = checkedMetric(opts.select.rankBy);
    const limit = Math.max(0, Math.min(1000, Math.floor(opts.select.limit)));
    // The top of the summary first (one scan, no join), with every row tied with the
    // last on the metric and people, so the caller's tie-break by name cuts exactly.
    const query = `with t as (
               select * from company_summary s
               where s.company_key <> '' and (s.events_${n} > 0 or s.people_${n} > 0)
               order by s.${rankBy}_${n} desc, s.people_${n} desc
               fetch first ${limit} rows with ties
             )
             select ${STATS_COLUMNS(n, m)} from t s join companies c on c.company_key = s.company_key`;
    return (await rows<StatsRow>(db, sql.raw(query))).map(toStats);
  }
  const keys = JSON.stringify(opts.select.keys);
  const result = await rows<StatsRow>(
    db,
    sql`select ${sql.raw(STATS_COLUMNS(n, m))} from companies c left join company_summary s on s.company_key = c.company_key
        where c.company_key in (select jsonb_array_elements_text(${keys}::jsonb))`,
  );
  return result.map(toStats);
}

export interface BookStats {
  total: number;
  /** Any activity in the range. */
  active: number;
  /** No activity yet, or first seen too recently for a trend. */
  young: number;
  /** Used to be active, nothing in the recent window. */
  goneQuiet: number;
  /** The trend windows of the metric summed over every company: the book's move. */
  recent: number;
  baseline: number;
}

/** Counts and window sums over every company, in one scan. */
export async function bookStats(
  db: Db,
  opts: { now: Date; rangeDays: SummaryRange; metric: Metric; trend: TrendConstants },
): Promise<BookStats> {
  const n = opts.rangeDays;
  const m = checkedMetric(opts.metric);
  await ensureSummaryFresh(db, opts.now);
  const t = trendTerms(opts.trend);
  const [r] = await rows<Record<keyof BookStats, number | string>>(
    db,
    sql.raw(`select count(*)::float8 as total,
               count(*) filter (where w.events > 0 or w.people > 0)::float8 as active,
               count(*) filter (where not ${t.old})::float8 as young,
               count(*) filter (where ${t.used} and w.r = 0)::float8 as "goneQuiet",
               coalesce(sum(w.r), 0)::float8 as recent, coalesce(sum(w.b), 0)::float8 as baseline
             from ${windowed(n, m, dayString(opts.now))}`),
  );
  const num = (k: keyof BookStats) => Number(r?.[k] ?? 0);
  return { total: num('total'), active: num('active'), young: num('young'), goneQuiet: num('goneQuiet'), recent: num('recent'), baseline: num('baseline') };
}

/**
 * Only the key, trend windows and age of the companies that could be moving (or,
 * with `falling`, falling): tens of thousands of rows at 100,000 companies, so a
 * few values each. `report` needs only their trend words; `quiet` sorts them and
 * reads the details of the first few.
 */
export async function movingWindows(
  db: Db,
  opts: { now: Date; rangeDays: SummaryRange; metric: Metric; trend: TrendConstants; falling?: boolean },
): Promise<{ key: string; recent: number; baseline: number; ageDays: number; noise: { phi: number | null; activeWeeks: number } }[]> {
  const m = checkedMetric(opts.metric);
  await ensureSummaryFresh(db, opts.now);
  const t = trendTerms(opts.trend);
  // Numbers travel as one text value (a driver's per-row cost dominates at this many rows);
  // keys as a JSON array, so any key survives. One aggregate node feeds both in the same order.
  const [agg] = await rows<{ keys: string | string[] | null; nums: string | null }>(
    db,
    sql.raw(`select json_agg(w.key)::text as keys, string_agg(concat_ws(',', w.r, w.b, w.age, coalesce(w.phi::text, ''), w.act), ';') as nums
             from ${windowed(opts.rangeDays, m, dayString(opts.now))} ${t.lateral}
             where ${opts.falling ? t.falling : t.moving}`),
  );
  if (!agg?.nums || !agg.keys) return [];
  const keys: string[] = typeof agg.keys === 'string' ? JSON.parse(agg.keys) : agg.keys;
  return agg.nums.split(';').map((triple, i) => {
    const [r, b, a, phi, act] = triple.split(',');
    return { key: keys[i], recent: Number(r), baseline: Number(b), ageDays: Number(a), noise: { phi: phi === '' ? null : Number(phi), activeWeeks: Number(act) } };
  });
}

// ---------------------------------------------------------------------------
// Weekly sums of the baseline (issue 12): the replies read the noise the rollover measured
// from them (company_summary.phi_*); this reads the weeks themselves, for checking it.

/** Weeks of 7 days in the baseline window (BASELINE_DAYS / 7). */
const BASELINE_WEEKS = 12;

/**
 * The metric over each 7-day week of the baseline window (oldest first, 12 weeks) for these
 * companies. Companies with nothing in the baseline are absent (all zeros).
 */
export async function baselineWeekly(db: Db, opts: { now: Date; metric: Metric; keys: string[] }): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (opts.keys.length === 0) return out;
  const m = checkedMetric(opts.metric);
  const w = windowsFor(opts.now, 1);
  const found = await rows<{ key: string; sums: string }>(
    db,
    sql`select company_key as key, string_agg(wk || ':' || v, ',') as sums from (
          select company_key, (day - ${w.baselineStart}::date) / 7 as wk, sum(${METRIC_COLUMN[m]})::float8 as v
          from company_days
          where company_key in (select jsonb_array_elements_text(${JSON.stringify(opts.keys)}::jsonb))
            and day between ${w.baselineStart}::date and ${w.baselineEnd}::date
          group by 1, 2
        ) x group by company_key`,
  );
  for (const r of found) out.set(r.key, parseWeeks(r.sums));
  return out;
}

function parseWeeks(sums: string): number[] {
  const weeks = new Array<number>(BASELINE_WEEKS).fill(0);
  for (const part of sums.split(',')) {
    const [i, v] = part.split(':');
    const wk = Number(i);
    if (wk >= 0 && wk < BASELINE_WEEKS) weeks[wk] = Number(v);
  }
  return weeks;
}
