/**
 * Reads of the company rollups. Every function takes the database first and
 * `now` explicitly; day windows come from domain/period.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Metric } from '../../domain/types.js';
import { dayString, utcDay, windowsFor, weekBlocks, type Windows } from '../../domain/period.js';
import { EVIDENCE_METRICS, type NoisePrior } from '../../domain/trend.js';
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
  /** The other metrics' trend windows and noise (domain/trend EVIDENCE_METRICS but the asked one). */
  evidence: EvidenceWindows[];
}

/** Another metric's trend windows and noise, from the company summary: evidence for a thin asked metric. */
export interface EvidenceWindows {
  metric: Metric;
  recent: number;
  baseline: number;
  noise: { phi: number | null; activeWeeks: number };
}

/** The metrics whose windows come along as evidence when `m` is asked (domain/trend EVIDENCE_METRICS). */
export const evidenceMetrics = (m: Metric): Metric[] => EVIDENCE_METRICS.filter((e) => e !== m);

/** The evidence metrics' columns from company_summary `s` (as r_<metric>, b_, phi_, act_), each after a comma (none: ''). */
const evidenceColumns = (m: Metric) =>
  evidenceMetrics(m)
    .map((e) => `, coalesce(s.recent_${e}, 0)::float8 as r_${e}, coalesce(s.base_${e}, 0)::float8 as b_${e}, s.phi_${e}::float8 as phi_${e}, coalesce(s.active_weeks_${e}, 0)::float8 as act_${e}`)
    .join('');

/** The evidence metrics' windows from a row read with evidenceColumns. */
function evidenceOf(m: Metric, r: Record<string, unknown>): EvidenceWindows[] {
  return evidenceMetrics(m).map((e) => {
    const phi = r[`phi_${e}`];
    return {
      metric: e,
      recent: Number(r[`r_${e}`] ?? 0),
      baseline: Number(r[`b_${e}`] ?? 0),
      noise: { phi: phi === null || phi === undefined || phi === '' ? null : Number(phi), activeWeeks: Number(r[`act_${e}`] ?? 0) },
    };
  });
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

const toStats = (m: Metric) => (r: StatsRow): CompanyStats => ({
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
  evidence: evidenceOf(m, r as unknown as Record<string, unknown>),
});

/** The noise columns of metric m from company_summary `s` (as phi, act), and the evidence metrics' windows. */
const noiseColumns = (m: Metric) => `s.phi_${m}::float8 as phi, coalesce(s.active_weeks_${m}, 0)::float8 as act${evidenceColumns(m)}`;

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
  return result.map(toStats(m));
}

/**
 * The two trend windows of `metric` summed over every company: the book's move.
 * One scan of company_summary and nothing else: a summary row exists only for a key
 * of `companies` (ingestion writes both in one transaction, the rebuild reads the
 * rollups of those companies), so no join is needed (test/summary.test.ts checks the
 * sum against every company's live windows).
 */
export async function bookWindows(db: Db, opts: { now: Date; metric: Metric }): Promise<BookWindows> {
  await ensureSummaryFresh(db, opts.now);
  const [r] = await rows<Record<string, number | string>>(db, sql.raw(bookWindowsSql(opts.metric)));
  return bookWindowsOf(opts.metric, r, '');
}

/** The book's two sums of the asked metric, and of each evidence metric (the book's move on it). */
export interface BookWindows {
  recent: number;
  baseline: number;
  evidence: Partial<Record<Metric, { recent: number; baseline: number }>>;
}

function bookWindowsOf(m: Metric, r: Record<string, unknown> | undefined, prefix: string): BookWindows {
  const num = (k: string) => Number(r?.[prefix + k] ?? 0);
  const evidence: BookWindows['evidence'] = {};
  for (const e of evidenceMetrics(m)) evidence[e] = { recent: num(`recent_${e}`), baseline: num(`baseline_${e}`) };
  return { recent: num('recent'), baseline: num('baseline'), evidence };
}

/** Sums of the evidence metrics' windows (columns recent_<m>, baseline_<m>, named with `prefix`), each after a comma (none: ''). */
const evidenceSums = (m: Metric, prefix: string, r: (e: Metric) => string, b: (e: Metric) => string) =>
  evidenceMetrics(m)
    .map((e) => `, coalesce(sum(${r(e)}), 0)::float8 as ${prefix}recent_${e}, coalesce(sum(${b(e)}), 0)::float8 as ${prefix}baseline_${e}`)
    .join('');

function bookWindowsSql(metric: Metric): string {
  const m = checkedMetric(metric);
  return `select coalesce(sum(recent_${m}), 0)::float8 as recent, coalesce(sum(base_${m}), 0)::float8 as baseline
                 ${evidenceSums(m, '', (e) => `recent_${e}`, (e) => `base_${e}`)}
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
): Promise<{ stats: CompanyStats | null; book: BookWindows }> {
  if (!storable(key)) return { stats: null, book: bookWindowsOf(opts.metric, undefined, '') };
  const n = opts.rangeDays;
  if (!isSummaryRange(n)) {
    const [stats, book] = await Promise.all([companyStatsLive(db, { ...opts, key }), bookWindows(db, opts)]);
    return { stats: stats[0] ?? null, book };
  }
  const m = checkedMetric(opts.metric);
  // The summary's day comes back with its rows, in one snapshot: only a stale summary
  // (the first read of a day) costs a second round trip, after the rebuild.
  const read = () =>
    rows<StatsRow & { as_of: string | null } & Record<string, unknown>>(
      db,
      sql`select (select as_of::text from summary_state where id = 1) as as_of,
                 ${sql.raw(STATS_COLUMNS(n, m))}, ${sql.raw(['recent', 'baseline', ...evidenceMetrics(m).flatMap((e) => [`recent_${e}`, `baseline_${e}`])].map((c) => `b.${c} as book_${c}`).join(', '))}
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
    stats: r && r.key !== null ? toStats(m)(r) : null,
    book: bookWindowsOf(m, r, 'book_'),
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
  return result.map(toStats(m));
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
export async function findCompanies(
  db: Db,
  query: string,
  limit = 20,
): Promise<{ how: 'key' | 'prefix' | 'substring' | 'none'; matches: CompanyName[]; /** More matched than `limit` (only the first `limit` are here). */ more?: boolean }> {
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
        order by tier, lower(name) = ${lower} desc, last_seen_at desc nulls last, company_key limit ${limit + 1}`,
  );
  const tier = Number(found[0]?.tier ?? 0);
  const all = found.filter((m) => Number(m.tier) === tier).map(({ key, name }) => ({ key, name }));
  const more = all.length > limit;
  const matches = all.slice(0, limit);
  if (tier === 1) {
    // An exact name (case-insensitive) wins over longer names that merely start with it.
    const same = matches.filter((m) => m.name?.toLowerCase() === lower);
    return same.length > 0 ? { how: 'prefix', matches: same } : { how: 'prefix', matches, ...(more ? { more } : {}) };
  }
  return { how: matches.length > 0 ? 'substring' : 'none', matches, ...(more ? { more } : {}) };
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

/** Whole days from a first-seen timestamp's UTC day to `today` (the rule's age); null when never seen. */
const ageSql = (fs: string, today: string) => `(date '${today}' - (${fs} at time zone 'UTC')::date)`;

/** The UTC midnight `days` after `today`'s, as a timestamptz literal (dates generated here, never input). */
const midnightSql = (today: string, days: number) => `timestamptz '${dayString(utcDay(new Date(`${today}T00:00:00Z`), days))}T00:00:00Z'`;

/**
 * Every company with its summary for range n and metric m as one derived table `w`
 * (key, name, people, events, key_actions, sessions, r = recent, b = baseline, fs = first
 * seen, bd = days of baseline it had, old = old enough for a trend; the evidence metrics'
 * windows and noise, evidenceColumns).
 * `offset 0` keeps PostgreSQL from folding it into the outer query, so each row's columns
 * are computed once, not per use.
 *
 * The age (whole UTC days since first seen) is not computed for every company: its time zone
 * conversion was a tenth of report's statement at 100,000 companies. `old` (age at least
 * newBeforeDays) and a full baseline (age at least recentDays + baselineDays: bd is
 * baselineDays, most companies) are comparisons of first_seen_at with a UTC midnight, exactly
 * equivalent; only younger companies have their age computed. ageSql gives it to those who need it.
 */
function windowed(n: SummaryRange, m: Metric, today: string, t: TrendConstants): string {
  const fullBefore = midnightSql(today, 1 - t.recentDays - t.baselineDays);
  const oldBefore = midnightSql(today, 1 - t.newBeforeDays);
  return `(select v.*,
             (case when v.fs is null or v.fs < ${fullBefore} then ${t.baselineDays}
                   else greatest(1, least(${t.baselineDays}, ${ageSql('v.fs', today)} - ${t.recentDays})) end)::float8 as bd,
             coalesce(v.fs < ${oldBefore}, false) as old from (
           select c.company_key as key, c.name,
             coalesce(s.people_${n}, 0)::float8 as people, coalesce(s.events_${n}, 0)::float8 as events,
             coalesce(s.recent_${m}, 0)::float8 as r, coalesce(s.base_${m}, 0)::float8 as b,
             s.phi_${m}::float8 as phi, coalesce(s.active_weeks_${m}, 0) as act${evidenceColumns(m)},
             c.first_seen_at as fs
           from companies c left join company_summary s on s.company_key = c.company_key
           where c.company_key <> '' offset 0) v offset 0) w`;
}

const num = (x: number) => (Number.isFinite(x) ? String(x) : '0');

/** domain/trend priorDispersion as SQL over a weekly volume expression (numbers only, generated here). */
function priorSql(t: TrendConstants, perWeek: string): string {
  const pr = t.prior;
  if (!pr || pr.perWeek.length === 0) return `(${num(t.d0)} + ${num(t.cv * t.cv)} * ${perWeek})`;
  return atVolumeSql(pr.perWeek, pr.phi, perWeek);
}

/** domain/trend priorWeightAt as SQL: the book's weight in the shrinkage at this weekly volume. */
function priorWeightSql(t: TrendConstants, perWeek: string): string {
  const pr = t.prior;
  if (!pr || !pr.weight || pr.weight.length !== pr.perWeek.length || pr.perWeek.length === 0) return num(t.priorWeight);
  return atVolumeSql(pr.perWeek, pr.weight, perWeek);
}

/** domain/trend atVolume as SQL: ys at the volume, linear in its log between the knots xs, flat outside. */
function atVolumeSql(xs: readonly number[], ys: readonly number[], perWeek: string): string {
  const parts = [`when ${perWeek} <= ${num(xs[0])} then ${num(ys[0])}`];
  for (let i = 1; i < xs.length; i++) {
    const slope = (ys[i] - ys[i - 1]) / (Math.log(xs[i]) - Math.log(xs[i - 1]));
    parts.push(`when ${perWeek} <= ${num(xs[i])} then ${num(ys[i - 1])} + (ln(${perWeek}) - ${num(Math.log(xs[i - 1]))}) * ${num(slope)}`);
  }
  return `(case ${parts.join(' ')} else ${num(ys[ys.length - 1])} end)`;
}

/** Conditions over `w` (see windowed) that are NECESSARY for the rule's verdicts. */
function trendTerms(t: TrendConstants, m: Metric) {
  // Days of baseline the company had (domain/trend baselineDays), computed once per row in `windowed`.
  const bdays = 'w.bd';
  // A hair wider than the rule's thresholds, so float rounding never drops a candidate.
  const down = `(w.r * ${bdays} <= w.b * ${t.recentDays} * (1 + ${t.downMin}) * (1 + 1e-9))`;
  const up = `(w.r * ${bdays} >= w.b * ${t.recentDays} * (1 + ${t.upMin}) * (1 - 1e-9))`;
  // Old enough for a trend (age at least newBeforeDays), computed in `windowed`.
  const old = `w.old`;
  // Used to be active: the minimum a week, or silent now after activity (gone quiet, whatever the size).
  const used = `(${old} and (w.b * 7 >= ${t.minBaselinePerWeek} * ${bdays} or (w.r = 0 and w.b > 0)))`;
  // The dispersion the rule uses for this company (domain/trend dispersionOf): its own, as
  // the rollover measured it, shrunk toward the book's typical one at its volume, at least 1.
  const p = `(${t.recentDays}::float8 / (${t.recentDays} + ${bdays}))`;
  // The own swing's weight (whole baseline weeks less the skipped ones, as differences; integer
  // division is floor here, the weeks being at least 0) and the weekly volume: columns of their
  // own (volumeColumns), so the interpolation below reads them instead of recomputing them.
  // The weeks are floor(greatest(0, least(baselineDays, age - recentDays)) / 7), which is
  // floor(bd / 7): bd differs from that least(...) only where it is 1 instead of 0 or less.
  const volume = `${t.ownWeight}::float8 * greatest(0, floor(${bdays} / 7) - ${t.ownSkipWeeks} - 1) as wo, w.b * 7 / ${bdays} as pw`;
  const prior = priorSql(t, 'w.pw');
  const wp = priorWeightSql(t, 'w.pw');
  const phi = `greatest(1, case when w.wo > 0 and w.phi is not null then (w.wo * w.phi + ${wp} * ${prior}) / (w.wo + ${wp}) else ${prior} end)`;
  // The count test can only pass where the company's own window (no book factor: the milder
  // verdict needs it) is unusual at that dispersion: |z| of at least STEADY_BELOW_Z, whatever
  // the deflated binomial variance (domain/trend; pinned by test/trend-noise.test.ts, exact
  // tails under it never pass). A silent account may be gone quiet. Reads w.rphi and w.p (ruleColumns).
  const npq = `((w.r + w.b) * w.p * (1 - w.p))`;
  const unusual = `(w.r = 0 or abs(w.r - (w.r + w.b) * w.p) >= ${t.steadyBelowZ} * sqrt(${npq} * w.rphi))`;
  // The evidence of the other metrics may turn a steady verdict into a fall (domain/trend
  // mayTakeEvidence): old enough, a thin asked metric (under evidenceThinPerWeek a week) whose
  // change is a fall's, and (necessary for a fall on that metric's own test) an evidence metric
  // whose own change is one too. Those go to Node unless SQL finds them falling by themselves.
  // Each evidence metric's own test at f = 1 can pass only with its change a fall's and its window
  // at least EVIDENCE_STEADY_BELOW_Z standard deviations below expectation at the dispersion the
  // rule uses for it (its own noise shrunk toward the book's on that metric, as for the asked
  // one): the bound for the evidence's own level, looser than the asked metric's.
  const pe = `(${t.recentDays}::float8 / (${t.recentDays} + ${bdays}))`;
  const evPrior = (e: Metric) => priorSql({ ...t, prior: t.evidencePriors?.[e] ?? null }, `(w.b_${e} * 7 / ${bdays})`);
  const evWeight = (e: Metric) => priorWeightSql({ ...t, prior: t.evidencePriors?.[e] ?? null }, `(w.b_${e} * 7 / ${bdays})`);
  const evPhi = (e: Metric) =>
    `greatest(1, case when w.wo > 0 and w.phi_${e} is not null then (w.wo * w.phi_${e} + ${evWeight(e)} * ${evPrior(e)}) / (w.wo + ${evWeight(e)}) else ${evPrior(e)} end)`;
  const evDown = (e: Metric) =>
    `(w.b_${e} > 0 and w.r_${e} * ${bdays} <= w.b_${e} * ${t.recentDays} * (1 + ${t.downMin}) * (1 + 1e-9)
      and (w.r_${e} = 0 or abs(w.r_${e} - (w.r_${e} + w.b_${e}) * ${pe}) >= ${t.evidenceSteadyBelowZ} * sqrt((w.r_${e} + w.b_${e}) * ${pe} * (1 - ${pe}) * ${evPhi(e)}) * (1 - 1e-9)))`;
  const evs = evidenceMetrics(m);
  const askedDown = `(w.r * ${bdays} <= w.b * ${t.recentDays} * (1 + ${t.evidenceMinChange}) * (1 + 1e-9))`;
  const evidence =
    t.evidenceThinPerWeek > 0 && evs.length > 0
      ? `(${old} and w.b > 0 and w.b * 7 < ${t.evidenceThinPerWeek} * ${bdays} * (1 + 1e-9) and ${down} and ${askedDown} and (${evs.map(evDown).join(' or ')}))`
      : 'false';
  return {
    old,
    used,
    bdays,
    /** The own swing's weight and the weekly volume (wo, pw), which ruleColumns read. */
    volumeColumns: volume,
    /** The rule's dispersion (rphi) and the recent window's share under no change (p, f = 1). */
    ruleColumns: `${phi} as rphi, ${p} as p, ${evidence} as ev`,
    /** Cheap necessary conditions, before ruleColumns are computed; then the test's (`unusual`). */
    moving: { cheap: `(${old} and ((w.b = 0 and w.r > 0) or (w.b > 0 and (${down} or ${up}))))`, then: `(w.b = 0 or ${unusual} or w.ev)` },
    falling: { cheap: `(${used} and ${down})`, then: `(${unusual} or w.ev)` },
  };
}

/**
 * `windowed` cut to the companies that could be moving (or falling), with the rule's columns
 * (rphi, p). Layers of subqueries (`offset 0`: each computed once per row, in one pass, no
 * per-row joins): the cheap conditions first, so the dispersion is computed only for the
 * companies whose change crosses a threshold.
 */
function candidates(source: string, t: TrendConstants, m: Metric, which: 'moving' | 'falling'): string {
  const terms = trendTerms(t, m);
  const cut = terms[which];
  const cheap = `(select w.*, ${terms.volumeColumns} from ${source} where ${cut.cheap} offset 0) w`;
  const rule = `(select w.*, ${terms.ruleColumns} from ${cheap} offset 0) w`;
  return `(select w.* from ${rule} where ${cut.then} offset 0) w`;
}

export interface TrendConstants {
  /** domain/trend OWN_WEIGHT_PER_WEEK, PRIOR_WEIGHT (where the prior has no weights), OWN_SKIP_WEEKS, COUNT_DISPERSION, WEEKLY_SWING_CV and the book's typical noise: the dispersion the rule uses. */
  ownWeight: number;
  priorWeight: number;
  ownSkipWeeks: number;
  /** domain/trend NORMAL_ENOUGH and STEADY_BELOW_Z: windows the test cannot call. */
  normalEnough: number;
  steadyBelowZ: number;
  /** domain/trend CLEAR_Z and ORDINARY_Z: beyond / within them the test's verdict is certain (decidedWindows). */
  clearZ: number;
  ordinaryZ: number;
  /** domain/trend MARKET_FACTOR_MIN and MARKET_FACTOR_MAX: the clamp of the book's move. */
  marketMin: number;
  marketMax: number;
  d0: number;
  cv: number;
  prior: NoisePrior | null;
  recentDays: number;
  baselineDays: number;
  newBeforeDays: number;
  downMin: number;
  upMin: number;
  minBaselinePerWeek: number;
  /** domain/trend EVIDENCE_THIN_PER_WEEK: under it a week the other metrics' evidence may turn a steady verdict into a fall (0: never). */
  evidenceThinPerWeek: number;
  /** domain/trend EVIDENCE_MIN_CHANGE: the asked metric's change at or below which evidence may count. */
  evidenceMinChange: number;
  /** domain/trend EVIDENCE_STEADY_BELOW_Z: what STEADY_BELOW_Z is at the evidence's level. */
  evidenceSteadyBelowZ: number;
  /** The book's typical noise of each evidence metric (the rule's dispersion on it). */
  evidencePriors?: Partial<Record<Metric, NoisePrior | null>>;
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
    return (await rows<StatsRow>(db, sql.raw(query))).map(toStats(m));
  }
  const keys = JSON.stringify(opts.select.keys);
  const result = await rows<StatsRow>(
    db,
    sql`select ${sql.raw(STATS_COLUMNS(n, m))} from companies c left join company_summary s on s.company_key = c.company_key
        where c.company_key in (select jsonb_array_elements_text(${keys}::jsonb))`,
  );
  return result.map(toStats(m));
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
  /** The same of each evidence metric. */
  evidence: BookWindows['evidence'];
}

/** Counts and window sums over every company, in one scan. */
export async function bookStats(
  db: Db,
  opts: { now: Date; rangeDays: SummaryRange; metric: Metric; trend: TrendConstants },
): Promise<BookStats> {
  const n = opts.rangeDays;
  const m = checkedMetric(opts.metric);
  await ensureSummaryFresh(db, opts.now);
  const t = trendTerms(opts.trend, m);
  const [r] = await rows<Record<string, number | string>>(
    db,
    sql.raw(`select count(*)::float8 as total${evidenceSums(m, '', (e) => `w.r_${e}`, (e) => `w.b_${e}`)},
               count(*) filter (where w.events > 0 or w.people > 0)::float8 as active,
               count(*) filter (where not ${t.old})::float8 as young,
               count(*) filter (where ${t.used} and w.r = 0)::float8 as "goneQuiet",
               coalesce(sum(w.r), 0)::float8 as recent, coalesce(sum(w.b), 0)::float8 as baseline
             from ${windowed(n, m, dayString(opts.now), opts.trend)}`),
  );
  const num = (k: keyof BookStats) => Number(r?.[k] ?? 0);
  const evidence = bookWindowsOf(m, r, '').evidence;
  return { total: num('total'), active: num('active'), young: num('young'), goneQuiet: num('goneQuiet'), recent: num('recent'), baseline: num('baseline'), evidence };
}

/** The trend windows the rule reads for one company (TrendWindows without `weeks`). */
export interface KeyedWindows {
  key: string;
  recent: number;
  baseline: number;
  ageDays: number;
  noise: { phi: number | null; activeWeeks: number };
  /** The evidence metrics' windows (see CompanyStats.evidence). */
  evidence: EvidenceWindows[];
}

/**
 * The sign of the rule's level (domain/trend levelWithPhi) against the baseline scaled by `f`,
 * where PostgreSQL can be sure of it, else null: -1 down, 1 up, 0 steady. Certain means the
 * change is clearly on one side of DOWN_MIN_CHANGE / UP_MIN_CHANGE (a relative hair, 1e-9, of
 * float rounding left to Node) and either |z| within STEADY_BELOW_Z (no exact tail there passes,
 * whatever the variance) or, with a deflated binomial variance of at least NORMAL_ENOUGH, |z|
 * beyond CLEAR_Z (the test passes) or within ORDINARY_Z (it fails): where the rule itself takes
 * the normal tail's word. Reads `w` (candidates: the rule's dispersion is w.rphi).
 */
function levelSql(t: TrendConstants, bdays: string, f: string, p: string): string {
  const R = t.recentDays;
  const n = `(w.r + w.b)`;
  const big = `(${n} * ${p} * (1 - ${p}) >= ${t.normalEnough} * w.rphi * (1 + 1e-9))`;
  const dev = `abs(w.r - ${n} * ${p})`;
  const sd = `sqrt(w.rphi * ${n} * ${p} * (1 - ${p}))`;
  const lhs = `(w.r * ${bdays})`;
  const rhs = `(w.b * ${R} * ${f})`;
  const downClear = `(w.b > 0 and ${lhs} <= ${rhs} * (1 + ${t.downMin}) * (1 - 1e-9))`;
  const downNone = `(w.b = 0 or ${lhs} > ${rhs} * (1 + ${t.downMin}) * (1 + 1e-9))`;
  const upClear = `(w.b = 0 or ${lhs} >= ${rhs} * (1 + ${t.upMin}) * (1 + 1e-9))`;
  const upNone = `(w.b > 0 and ${lhs} < ${rhs} * (1 + ${t.upMin}) * (1 - 1e-9))`;
  return `(case when ${downNone} and ${upNone} then 0
                when w.b > 0 and ${dev} < ${t.steadyBelowZ} * ${sd} * (1 - 1e-9) then 0
                when not ${big} then null
                when ${dev} <= ${t.ordinaryZ} * ${sd} * (1 - 1e-9) then 0
                when ${dev} >= ${t.clearZ} * ${sd} * (1 + 1e-9) and ${downClear} then -1
                when ${dev} >= ${t.clearZ} * ${sd} * (1 + 1e-9) and ${upClear} then 1
                else null end)`;
}

/**
 * The verdict's sign where PostgreSQL can be sure of it (domain/trend verdictWith): the
 * company's own test (f = 1) and the test against the rest of the book's move (f, from the
 * book's sums `bk` less the company's own windows, clamped as marketFactor does); the milder
 * wins, so either steady is steady, both down is down, both up is up. Null, for Node to
 * decide: a silent account (gone quiet is Node's), either test uncertain, or a baseline of
 * exactly MIN_BASELINE_PER_WEEK a week (usedToBeActive's boundary, rounded differently in Node).
 */
function decidedSql(t: TrendConstants, from: string): string {
  const R = t.recentDays;
  const rest = `((bk.book_r - w.r) > 0 and (bk.book_b - w.b) > 0)`;
  const f = `(case when ${rest} then least(${t.marketMax}, greatest(${t.marketMin}, ((bk.book_r - w.r) / ${R}) / ((bk.book_b - w.b) / ${t.baselineDays}))) else 1 end)`;
  const withF = `(select w.*, ${f} as f from ${from} cross join bk offset 0) w`;
  const withP = `(select w.*, ${R} * w.f / (${R} * w.f + w.bd) as pf from ${withF} offset 0) w`;
  const levels = `(select w.*, ${levelSql(t, 'w.bd', '1', 'w.p')} as l1, ${levelSql(t, 'w.bd', 'w.f', 'w.pf')} as l2 from ${withP} offset 0) w`;
  // An evidence candidate (w.ev) that its own metric does not find falling is Node's: the other
  // metrics' evidence may make it a fall.
  const lv = `case when w.r = 0 or w.b * 7 = ${t.minBaselinePerWeek} * w.bd then null
                   when w.ev and (w.l1 is distinct from -1 or w.l2 is distinct from -1) then null
                   when w.l1 = 0 or w.l2 = 0 then 0
                   when w.l1 is null or w.l2 is null then null
                   when w.l1 = w.l2 then w.l1
                   else 0 end`;
  return `(select w.*, ${lv} as lv from ${levels}) w`;
}

export interface DecidedWindows {
  /** bookStats, from the same scan. */
  book: BookStats;
  /** Decided in PostgreSQL: rising, falling, and falling after at least the minimum a week (at risk). */
  up: number;
  down: number;
  downUsed: number;
  /** With `falling`: the first `top` of the decided falling ones, biggest drop first (then Node's compareByDrop). */
  downTop: KeyedWindows[];
  /** The candidates PostgreSQL could not be sure of, for domain/trend to decide. */
  undecided: KeyedWindows[];
}

/** The statement of decidedWindows (exported for EXPLAIN in benches). */
export function decidedWindowsSql(opts: { now: Date; rangeDays: SummaryRange; metric: Metric; trend: TrendConstants; falling?: boolean; top?: number }): string {
  const m = checkedMetric(opts.metric);
  const t = trendTerms(opts.trend, m);
  const top = Math.max(0, Math.floor(opts.top ?? 0));
  const R = opts.trend.recentDays;
  // Numbers travel as one text value (a driver's per-row cost dominates at this many rows);
  // keys as a JSON array, so any key survives. One aggregate node feeds both in the same order.
  const evs = evidenceMetrics(m);
  // The evidence metrics' windows only where the evidence may count (w.ev, necessary for it):
  // elsewhere the rule never reads them (domain/trend mayTakeEvidence, or no fall on them).
  const evNums = evs.length === 0 ? `''` : `case when c.ev then concat_ws(',', ''${evs.map((e) => `, c.r_${e}, c.b_${e}, coalesce(c.phi_${e}::text, ''), c.act_${e}`).join('')}) else '' end`;
  const nums = `concat_ws(',', c.r, c.b, c.age, coalesce(c.phi::text, ''), c.act) || ${evNums}`;
  const evCols = evs.map((e) => `, w.r_${e}, w.b_${e}, w.phi_${e}, w.act_${e}`).join('');
  const today = dayString(opts.now);
  // `w` once (the join of companies and their summary), for the book's counts and sums and for
  // the candidates: bookStats's figures and the book's move in one scan.
  const from = candidates('w', opts.trend, m, opts.falling ? 'falling' : 'moving');
  const query = `with w as materialized (
      select w.key, w.people, w.events, w.r, w.b, w.phi, w.act, w.fs, w.bd, w.old${evCols} from ${windowed(opts.rangeDays, m, today, opts.trend)}
    ),
    bk as (
      select count(*)::float8 as total,
             count(*) filter (where w.events > 0 or w.people > 0)::float8 as active,
             count(*) filter (where not ${t.old})::float8 as young,
             count(*) filter (where ${t.used} and w.r = 0)::float8 as "goneQuiet",
             coalesce(sum(w.r), 0)::float8 as book_r, coalesce(sum(w.b), 0)::float8 as book_b
             ${evidenceSums(m, 'book_', (e) => `w.r_${e}`, (e) => `w.b_${e}`)}
      from w
    ),
    c as materialized (
      select w.key, w.r, w.b, ${ageSql('w.fs', today)} as age, w.phi, w.act, w.lv, w.ev${evCols},
             case when w.b > 0 then (w.r / ${R}) / (w.b / w.bd) - 1 end as change, greatest(0, (w.b / w.bd) * ${R} - w.r) as lost,
             ${t.used} as used
      from ${decidedSql(opts.trend, from)}
    )
    select bk.*, n.*, tt.*, u.*
    from bk cross join (select count(*) filter (where lv = 1)::float8 as up, count(*) filter (where lv = -1)::float8 as down,
                 count(*) filter (where lv = -1 and used)::float8 as down_used from c) n
    cross join (select json_agg(c.key)::text as top_keys, string_agg(${nums}, ';') as top_nums
                from (select * from c where lv = -1 order by change, lost desc, key limit ${top}) c) tt
    cross join (select json_agg(c.key)::text as keys, string_agg(${nums}, ';') as nums from c where lv is null) u`;
  return query;
}

/**
 * The companies that could be moving (or, with `falling`, falling), decided in PostgreSQL
 * where the rule's verdict is certain and counted there; only the uncertain band (and silent
 * accounts) travel to Node with their windows. At 100,000 companies about half move by 25 %
 * in the seeded book, nearly all of them clearly: reading each into Node cost report about
 * 400 ms. `report` needs only the counts; `quiet` also the decided falling ones with the
 * biggest drops (each one's change computed in SQL as trendChange does, so the order agrees).
 */
export async function decidedWindows(
  db: Db,
  opts: { now: Date; rangeDays: SummaryRange; metric: Metric; trend: TrendConstants; falling?: boolean; top?: number },
): Promise<DecidedWindows> {
  await ensureSummaryFresh(db, opts.now);
  const top = Math.max(0, Math.floor(opts.top ?? 0));
  const query = decidedWindowsSql(opts);
  type Num = number | string | null;
  const [r] = await rows<{
    total: Num; active: Num; young: Num; goneQuiet: Num; book_r: Num; book_b: Num;
    up: Num; down: Num; down_used: Num; top_keys: string | null; top_nums: string | null; keys: string | null; nums: string | null;
  } & Record<string, Num>>(db, sql.raw(query));
  const num = (x: Num | undefined) => Number(x ?? 0);
  const m = checkedMetric(opts.metric);
  const evidence = bookWindowsOf(m, r, 'book_').evidence;
  const parse = (k: string | null, n: string | null) => parseWindows(m, k, n);
  return {
    book: { total: num(r?.total), active: num(r?.active), young: num(r?.young), goneQuiet: num(r?.goneQuiet), recent: num(r?.book_r), baseline: num(r?.book_b), evidence },
    up: Number(r?.up ?? 0),
    down: Number(r?.down ?? 0),
    downUsed: Number(r?.down_used ?? 0),
    downTop: top > 0 ? parse(r?.top_keys ?? null, r?.top_nums ?? null) : [],
    undecided: parse(r?.keys ?? null, r?.nums ?? null),
  };
}

function parseWindows(m: Metric, keysText: string | string[] | null, nums: string | null): KeyedWindows[] {
  if (!keysText || !nums) return [];
  const keys: string[] = typeof keysText === 'string' ? JSON.parse(keysText) : keysText;
  const evs = evidenceMetrics(m);
  return nums.split(';').map((row, i) => {
    const [r, b, a, phi, act, ...rest] = row.split(',');
    // The evidence windows come only where they may count (decidedWindowsSql); elsewhere none.
    const evidence = rest.length === 0 ? [] : evs.map((e, j) => {
      const [er, eb, ephi, eact] = rest.slice(4 * j, 4 * j + 4);
      return { metric: e, recent: Number(er), baseline: Number(eb), noise: { phi: ephi === '' ? null : Number(ephi), activeWeeks: Number(eact) } };
    });
    return { key: keys[i], recent: Number(r), baseline: Number(b), ageDays: Number(a), noise: { phi: phi === '' ? null : Number(phi), activeWeeks: Number(act) }, evidence };
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
