/**
 * Application verbs behind `/groups`, the terminal and the digest: read the
 * rollups, decide trends, rank; return data for the renderers. No Slack here.
 */
import type { Db } from '../db/client.js';
import {
  allCompanyNames,
  bookStats,
  bookWindows,
  decidedWindows,
  companyPeople,
  companyRecord,
  companyStats,
  companyStatsOf,
  findCompanies,
  keyCoverage,
  selectedCompanyStats,
  weeklySeries,
  type BookWindows,
  type CompanyName,
  type CompanyStats,
  type KeyedWindows,
  type Selection,
  type TrendConstants,
} from '../db/queries/companies.js';
import { eventHistories, eventRollupStarts } from '../db/queries/events.js';
import { eventChanges, fellMostInLine } from '../domain/event-changes.js';
import { isSummaryRange, noisePrior, noisePriors, type SummaryRange } from '../db/queries/summary.js';
import { metricTotal } from '../domain/metric.js';
import { daysBetween } from '../domain/period.js';
import { editDistance } from '../domain/edit-distance.js';
import { findSplits, looksLikeName } from '../domain/splits.js';
import {
  BASELINE_DAYS,
  compareByDrop,
  DOWN_MIN_CHANGE,
  isFalling,
  isRising,
  MIN_BASELINE_PER_WEEK,
  NEW_BEFORE_DAYS,
  NORMAL_ENOUGH,
  CLEAR_Z,
  ORDINARY_Z,
  MARKET_FACTOR_MAX,
  MARKET_FACTOR_MIN,
  COUNT_DISPERSION,
  EVIDENCE_MIN_CHANGE,
  EVIDENCE_THIN_PER_WEEK,
  OWN_SKIP_WEEKS,
  OWN_WEIGHT_PER_WEEK,
  WEEKLY_SWING_CV,
  PRIOR_WEIGHT,
  RECENT_DAYS,
  STEADY_BELOW_Z,
  EVIDENCE_STEADY_BELOW_Z,
  trendChange,
  trendWithEvidence,
  UP_MIN_CHANGE,
  usedToBeActive,
  type NoisePrior,
  type TrendVerdict,
} from '../domain/trend.js';
import type { CompanyDetail, CompanyRow, EventDrop, KeyHealth, Metric, Range, ReportCounts, TrendWindows } from '../domain/types.js';

export interface GroupsContext {
  db: Db;
  keyActions: readonly string[];
}

/** The metric a reply uses when none was asked for. */
export function defaultMetric(ctx: GroupsContext): Metric {
  return ctx.keyActions.length > 0 ? 'key_actions' : 'events';
}

/** Every company as a row: activity over the range and trend of the metric (against the book's move). */
export async function companyRows(ctx: GroupsContext, opts: { now: Date; range: Range; metric: Metric }): Promise<CompanyRow[]> {
  const [stats, priors] = await Promise.all([companyStats(ctx.db, { now: opts.now, rangeDays: opts.range.days, metric: opts.metric }), bookNoise(ctx, opts)]);
  const market = sumWindows(stats);
  return stats.map((s) => toRow(s, opts.now, market, priors, opts.metric));
}

/** The book's typical noise of each metric (the empirical Bayes priors), as the daily rollover fitted them. */
type Priors = Partial<Record<Metric, NoisePrior | null>>;

/** The book's typical noise at each volume (the asked metric's and the evidence metrics'), as the daily rollover fitted it. */
async function bookNoise(ctx: GroupsContext, opts: { now: Date }): Promise<Priors> {
  return noisePriors(ctx.db, opts.now);
}

/**
 * The rule's verdict on the asked metric, with the evidence of the other metrics (their windows
 * as read with the company's, the book's move and typical noise on each): domain/trend
 * trendWithEvidence, the one decision behind quiet, the digest, report and show.
 */
export function verdictOf(
  w: Pick<KeyedWindows, 'recent' | 'baseline' | 'ageDays' | 'noise' | 'evidence'>,
  metric: Metric,
  book: Pick<BookWindows, 'recent' | 'baseline' | 'evidence'>,
  priors: Priors,
): TrendVerdict {
  const windows: TrendWindows = { recent: w.recent, baseline: w.baseline, ageDays: w.ageDays, noise: w.noise };
  const evidence = w.evidence.map((e) => ({
    metric: e.metric,
    windows: { recent: e.recent, baseline: e.baseline, ageDays: w.ageDays, noise: e.noise },
    market: book.evidence[e.metric],
    prior: priors[e.metric] ?? null,
  }));
  return trendWithEvidence(windows, book, priors[metric] ?? null, evidence, metric);
}

/** Some companies' rows (a person's own companies, a chart), each read by its key, at once; unknown keys are left out. */
export async function companyRowsOf(ctx: GroupsContext, keys: readonly string[], opts: { now: Date; range: Range; metric: Metric }): Promise<CompanyRow[]> {
  // The book's noise first: reading it also measures companies written since the rollover.
  const priors = await bookNoise(ctx, opts);
  const found = await Promise.all(keys.map((key) => companyStatsOf(ctx.db, key, { now: opts.now, rangeDays: opts.range.days, metric: opts.metric })));
  return found.flatMap((f) => (f.stats ? [toRow(f.stats, opts.now, f.book, priors, opts.metric)] : []));
}

function sumWindows(stats: CompanyStats[]): BookWindows {
  let recent = 0;
  let baseline = 0;
  const evidence: BookWindows['evidence'] = {};
  for (const s of stats) {
    recent += s.recent;
    baseline += s.baseline;
    for (const e of s.evidence) {
      const sum = (evidence[e.metric] ??= { recent: 0, baseline: 0 });
      sum.recent += e.recent;
      sum.baseline += e.baseline;
    }
  }
  return { recent, baseline, evidence };
}

function toRow(s: CompanyStats, now: Date, market: Pick<BookWindows, 'recent' | 'baseline' | 'evidence'>, priors: Priors, metric: Metric): CompanyRow {
  const ageDays = s.firstSeen ? daysBetween(s.firstSeen, now) : 0;
  const windows: TrendWindows = { recent: s.recent, baseline: s.baseline, ageDays, noise: s.noise };
  const v = verdictOf({ ...s, ageDays }, metric, market, priors);
  return {
    key: s.key,
    name: s.name,
    activity: { people: s.people, events: s.events, keyActions: s.keyActions, sessions: s.sessions },
    windows,
    trend: s.firstSeen ? v.trend : 'new',
    change: v.change,
    swing: v.swing,
    z: v.z,
    goneQuiet: v.goneQuiet,
    ...(v.evidence ? { evidence: v.evidence } : {}),
  };
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Most active first; ties by people, then name (code-point order, as PostgreSQL's "C" collation). Companies with no activity in the range are left out. */
export function rankByActivity(rows: CompanyRow[], metric: Metric): CompanyRow[] {
  return rows
    .filter((r) => r.activity.events > 0 || r.activity.people > 0)
    .sort((a, b) => metricTotal(b.activity, metric) - metricTotal(a.activity, metric) || b.activity.people - a.activity.people || byCodePoint(a.name ?? a.key, b.name ?? b.key) || byCodePoint(a.key, b.key));
}

/** Going quiet: falling, and used to be active; biggest drop first (CONTRACT). */
export function quietRows(rows: CompanyRow[]): CompanyRow[] {
  return rows.filter((r) => isFalling(r.trend) && usedToBeActive(r.windows)).sort(compareByDrop);
}

/** Growing most: rising, biggest rise first. */
export function growingRows(rows: CompanyRow[]): CompanyRow[] {
  return rows.filter((r) => isRising(r.trend)).sort((a, b) => (b.change ?? Infinity) - (a.change ?? Infinity));
}

/** The trend rule's thresholds, for the reads that let PostgreSQL pre-select candidates. */
const TREND_CONSTANTS = {
  ownWeight: OWN_WEIGHT_PER_WEEK,
  priorWeight: PRIOR_WEIGHT,
  ownSkipWeeks: OWN_SKIP_WEEKS,
  normalEnough: NORMAL_ENOUGH,
  steadyBelowZ: STEADY_BELOW_Z,
  clearZ: CLEAR_Z,
  ordinaryZ: ORDINARY_Z,
  marketMin: MARKET_FACTOR_MIN,
  marketMax: MARKET_FACTOR_MAX,
  d0: COUNT_DISPERSION,
  cv: WEEKLY_SWING_CV,
  recentDays: RECENT_DAYS,
  baselineDays: BASELINE_DAYS,
  newBeforeDays: NEW_BEFORE_DAYS,
  downMin: DOWN_MIN_CHANGE,
  upMin: UP_MIN_CHANGE,
  minBaselinePerWeek: MIN_BASELINE_PER_WEEK,
  evidenceThinPerWeek: EVIDENCE_THIN_PER_WEEK,
  evidenceMinChange: EVIDENCE_MIN_CHANGE,
  evidenceSteadyBelowZ: EVIDENCE_STEADY_BELOW_Z,
};
/** The rule's constants for the reads that pre-select and decide in PostgreSQL, with the book's noise. */
export const trendConstants = (prior: NoisePrior | null, evidencePriors: Partial<Record<Metric, NoisePrior | null>> = {}): TrendConstants => ({ ...TREND_CONSTANTS, prior, evidencePriors });

type ListOptions = { now: Date; range: Range; metric: Metric };

/** Rows of some companies, with trends decided against the whole book's move. */
async function selectedRows(ctx: GroupsContext, opts: ListOptions & { rangeDays: SummaryRange }, select: Selection) {
  const [stats, book, priors] = await Promise.all([
    selectedCompanyStats(ctx.db, { now: opts.now, rangeDays: opts.rangeDays, metric: opts.metric, select }),
    bookStats(ctx.db, { now: opts.now, rangeDays: opts.rangeDays, metric: opts.metric, trend: trendConstants(null) }),
    bookNoise(ctx, opts),
  ]);
  return { rows: stats.map((s) => toRow(s, opts.now, book, priors, opts.metric)), book };
}

/** `top`: the most active companies, and how many had any activity in the range. */
export async function top(ctx: GroupsContext, opts: ListOptions & { limit: number }) {
  const n = opts.range.days;
  if (!isSummaryRange(n)) {
    const ranked = rankByActivity(await companyRows(ctx, opts), opts.metric);
    return { rows: ranked.slice(0, opts.limit), totalCompanies: ranked.length };
  }
  const { rows, book } = await selectedRows(ctx, { ...opts, rangeDays: n }, { kind: 'top', limit: opts.limit, rankBy: opts.metric });
  return { rows: rankByActivity(rows, opts.metric).slice(0, opts.limit), totalCompanies: book.active };
}

/** How many falling companies `quiet` reads in detail; the rest are counted ("and N more"). */
export const QUIET_DETAILED = 200;

/** `quiet`: the falling companies that used to be active, biggest drop first (the first QUIET_DETAILED in detail). */
export async function quiet(ctx: GroupsContext, opts: ListOptions): Promise<{ rows: CompanyRow[]; total: number }> {
  const n = opts.range.days;
  if (!isSummaryRange(n)) {
    const all = quietRows(await companyRows(ctx, opts));
    return { rows: all.slice(0, QUIET_DETAILED), total: all.length };
  }
  // The book's typical noise first: PostgreSQL pre-selects and decides the clear cases with it.
  const priors = await bookNoise(ctx, opts);
  const q = { now: opts.now, rangeDays: n, metric: opts.metric, trend: trendConstants(priors[opts.metric] ?? null, priors) };
  // The decided falling ones come with the biggest drops first; a margin over QUIET_DETAILED
  // covers near-ties (changes within 1e-12) that compareByDrop orders by volume lost.
  const decided = await decidedWindows(ctx.db, { ...q, falling: true, top: QUIET_DETAILED + 100 });
  const book = decided.book;
  const undecided = decided.undecided
    .map((windows) => ({ key: windows.key, windows, ...verdictOf(windows, opts.metric, book, priors) }))
    .filter((c) => isFalling(c.trend) && usedToBeActive(c.windows));
  const falling = [...decided.downTop.map((windows) => ({ key: windows.key, windows, change: trendChange(windows) })), ...undecided].sort(compareByDrop);
  const first = falling.slice(0, QUIET_DETAILED);
  const stats = await selectedCompanyStats(ctx.db, { now: opts.now, rangeDays: n, metric: opts.metric, select: { kind: 'keys', keys: first.map((c) => c.key) } });
  const byKey = new Map(stats.map((s) => [s.key, toRow(s, opts.now, book, priors, opts.metric)]));
  return { rows: first.map((c) => byKey.get(c.key)).filter((r): r is CompanyRow => r !== undefined), total: decided.down + undecided.length };
}

/** Account-level counts: the honest unit to report. */
export function reportCounts(rows: CompanyRow[]): ReportCounts {
  const c: ReportCounts = { active: 0, growing: 0, steady: 0, atRisk: 0, goneQuiet: 0, new: 0, total: rows.length };
  for (const r of rows) {
    if (r.activity.events > 0 || r.activity.people > 0) c.active++;
    if (r.trend === 'new') c.new++;
    else if (isRising(r.trend)) c.growing++;
    else if (r.trend === 'steady') c.steady++;
    if (usedToBeActive(r.windows) && r.windows.recent === 0 && isFalling(r.trend)) c.goneQuiet++;
    else if (isFalling(r.trend) && usedToBeActive(r.windows)) c.atRisk++;
  }
  return c;
}

export async function report(ctx: GroupsContext, opts: ListOptions): Promise<ReportCounts> {
  const n = opts.range.days;
  if (!isSummaryRange(n)) return reportCounts(await companyRows(ctx, opts));
  // Every company that is old enough and not moving is steady; PostgreSQL counts the movers
  // whose verdict is certain, and only the uncertain ones need the rule here.
  const priors = await bookNoise(ctx, opts);
  const q = { now: opts.now, rangeDays: n, metric: opts.metric, trend: trendConstants(priors[opts.metric] ?? null, priors) };
  const decided = await decidedWindows(ctx.db, q);
  const book = decided.book;
  const counts: ReportCounts = { active: book.active, growing: decided.up, steady: 0, atRisk: decided.downUsed, goneQuiet: 0, new: book.young, total: book.total };
  let falling = decided.down;
  for (const w of decided.undecided) {
    const trend = verdictOf(w, opts.metric, book, priors).trend;
    if (isRising(trend)) counts.growing++;
    if (isFalling(trend)) {
      falling++;
      // Gone quiet and at risk are the falling accounts that used to be active, with nothing / something recent.
      if (usedToBeActive(w)) {
        if (w.recent > 0) counts.atRisk++;
        else counts.goneQuiet++;
      }
    }
  }
  counts.steady = book.total - book.young - counts.growing - falling;
  return counts;
}

export const PEOPLE_LISTED = 50;
/** Events in `show`'s "What they do" (issue 16): the company's most frequent over the range. */
export const EVENTS_LISTED = 8;

export type ShowResult =
  | { kind: 'company'; detail: CompanyDetail }
  | { kind: 'choices'; matches: CompanyName[]; more?: boolean }
  | { kind: 'none'; suggestions: CompanyName[] };

/** `show NAME-OR-KEY`: exact key first, then name by prefix, then substring. */
export async function show(ctx: GroupsContext, query: string, opts: { now: Date; range: Range; metric: Metric }): Promise<ShowResult> {
  const found = await findCompanies(ctx.db, query);
  if (found.matches.length === 0) {
    return { kind: 'none', suggestions: closestNames(query, await allCompanyNames(ctx.db)) };
  }
  if (found.matches.length > 1) return { kind: 'choices', matches: found.matches, more: found.more };
  const detail = await companyDetail(ctx, found.matches[0].key, opts);
  return detail ? { kind: 'company', detail } : { kind: 'none', suggestions: [] };
}

/**
 * One company in detail; null when there is none. The book's noise first (a one-row read,
 * which also measures a company written since the rollover); then its reads go out at once
 * (each an index lookup or range, plus one scan of the summary for the book's move), so a
 * reply waits for the slowest of them, not for their sum.
 */
export async function companyDetail(ctx: GroupsContext, key: string, opts: { now: Date; range: Range; metric: Metric }): Promise<CompanyDetail | null> {
  // The book's noise first: reading it also measures companies written since the rollover.
  const priors = await bookNoise(ctx, opts);
  const [record, found, weeks, people, histories, eventStarts, eventBook] = await Promise.all([
    companyRecord(ctx.db, key),
    companyStatsOf(ctx.db, key, { now: opts.now, rangeDays: opts.range.days, metric: opts.metric }),
    weeklySeries(ctx.db, key, opts.now, opts.metric),
    companyPeople(ctx.db, key, { now: opts.now, rangeDays: opts.range.days, limit: PEOPLE_LISTED }),
    eventHistories(ctx.db, [key], { now: opts.now, rangeDays: opts.range.days }),
    eventRollupStarts(ctx.db, [key]),
    // Each event is judged against the book's move and noise in events (the metric's when it is events).
    opts.metric === 'events' ? null : eventsBook(ctx, opts.now),
  ]);
  if (!record || !found.stats) return null;
  const row = toRow(found.stats, opts.now, found.book, priors, opts.metric);
  const judging = { ageDays: eventAgeDays(row.windows.ageDays, eventStarts.get(key), opts.now), ...(eventBook ?? { book: found.book, prior: priors.events ?? null }) };
  const events = eventChanges(histories.get(key) ?? [], judging, EVENTS_LISTED);
  return {
    ...row,
    traits: record.traits,
    peopleKnown: record.peopleKnown,
    weeks: weeks.map((w) => ({ start: new Date(`${w.start}T00:00:00Z`), value: w.value })),
    people: people.map((p) => ({
      id: p.id,
      // An anonymous visitor is stored as `anon:` + anonymousId and shown as its anonymousId.
      displayName: p.name ?? p.email ?? (p.id.startsWith('anon:') ? p.id.slice('anon:'.length) : p.id),
      activity: { people: 1, events: p.events, keyActions: p.keyActions, sessions: p.sessions },
      lastSeen: p.lastSeen,
    })),
    firstSeen: record.firstSeen ?? opts.now,
    lastSeen: record.lastSeen ?? opts.now,
    events,
  };
}

/**
 * The age an event's baseline is shortened to: the company's, or the event rollup's when that
 * began later (an install from before migration 0009): days before the rollup's first day are
 * not zeros, they were not counted.
 */
function eventAgeDays(companyAgeDays: number, rollupStart: string | undefined, now: Date): number {
  if (!rollupStart) return companyAgeDays;
  return Math.min(companyAgeDays, daysBetween(new Date(`${rollupStart}T00:00:00Z`), now));
}

/** The book's move and typical noise in events, that each event's change is judged against. */
async function eventsBook(ctx: GroupsContext, now: Date) {
  const [book, prior] = await Promise.all([bookWindows(ctx.db, { now, metric: 'events' }), noisePrior(ctx.db, now, 'events')]);
  return { book, prior };
}

/**
 * The events that fell most of each of these companies (the digest's and the alerts' one line),
 * read for all of them in one statement; companies with none are left out of the map.
 */
export async function fellMostOf(ctx: GroupsContext, rows: readonly CompanyRow[], now: Date): Promise<Map<string, EventDrop[]>> {
  const out = new Map<string, EventDrop[]>();
  if (rows.length === 0) return out;
  // Range 1: only the trend's windows matter here, not a range's counts.
  const keys = rows.map((r) => r.key);
  const [histories, starts, book] = await Promise.all([eventHistories(ctx.db, keys, { now, rangeDays: 1 }), eventRollupStarts(ctx.db, keys), eventsBook(ctx, now)]);
  for (const r of rows) {
    const drops = fellMostInLine(histories.get(r.key) ?? [], { ageDays: eventAgeDays(r.windows.ageDays, starts.get(r.key), now), ...book });
    if (drops.length > 0) out.set(r.key, drops);
  }
  return out;
}

/** Closest names to a query that matched nothing: edit distance on normalised text. */
export function closestNames(query: string, names: CompanyName[], max = 3): CompanyName[] {
  if (max <= 0) return [];
  const q = query.toLowerCase();
  const limit = Math.max(1, Math.ceil(q.length / 3));
  const scored: { n: CompanyName; d: number }[] = [];
  // The `max` best distances so far, ascending: a name further than the last of them
  // cannot make the cut, so its distance need not be computed past that bound.
  const best: number[] = [];
  for (const n of names) {
    const bound = best.length === max ? Math.min(limit, best[max - 1]) : limit;
    const label = (n.name ?? n.key).toLowerCase();
    // The whole name, its start as long as the query, or any one of its words.
    let d = editDistance(q, label, bound);
    if (d > 0 && label.length > q.length) d = Math.min(d, editDistance(q, label.slice(0, q.length), Math.min(bound, d - 1)));
    if (d > 0 && /\s/.test(label)) {
      for (const word of label.split(/\s+/)) {
        // A word's distance is at least the difference in length: most words are skipped unread.
        if (Math.abs(word.length - q.length) < d) d = Math.min(d, editDistance(q, word, Math.min(bound, d - 1)));
        if (d === 0) break;
      }
    }
    if (d > bound) continue;
    scored.push({ n, d });
    let i = best.length;
    while (i > 0 && best[i - 1] > d) i--;
    best.splice(i, 0, d);
    if (best.length > max) best.pop();
  }
  // Nearest first; names in the reader's order among equals (only those that can make the cut).
  scored.sort((a, b) => a.d - b.d);
  const cut = scored.length > max ? scored[max - 1].d : Number.POSITIVE_INFINITY;
  return scored
    .filter((s) => s.d <= cut)
    .sort((a, b) => a.d - b.d || collator.compare(a.n.name ?? a.n.key, b.n.name ?? b.n.key))
    .slice(0, max)
    .map((s) => s.n);
}

/** The default locale's order (what String#localeCompare uses), built once. */
const collator = new Intl.Collator();

export { editDistance };

export async function keyHealth(ctx: GroupsContext, now: Date): Promise<KeyHealth> {
  const [week, month, names] = await Promise.all([keyCoverage(ctx.db, now, 7), keyCoverage(ctx.db, now, 30), allCompanyNames(ctx.db)]);
  return {
    coverage: [week, month],
    splits: findSplits(names),
    nameLikeKeys: names.filter((n) => looksLikeName(n.key, n.name)),
  };
}
