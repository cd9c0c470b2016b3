/**
 * What an import did, as counts, and the summary printed at its end. Pure: the caller
 * passes `now` for what the trend can see.
 */
import { BASELINE_DAYS, NEW_BEFORE_DAYS, RECENT_DAYS } from '../domain/trend.js';
import { ACTIVITY_TYPES } from '../ingest/segment.js';
import { UNGROUPED_KEY } from '../ingest/store.js';
import type { SourcedEvent } from './sink.js';

/** How many `file:line` each skip reason keeps. */
export const WHERE_PER_REASON = 10;
/** Distinct skip reasons kept apart; past that they are counted under one line. */
const MAX_REASONS = 50;
const OTHER_REASONS = 'other reasons';

export interface SkipReason {
  reason: string;
  count: number;
  where: string[];
}

export class Skips {
  readonly reasons = new Map<string, SkipReason>();
  total = 0;

  add(reason: string, where: string): void {
    this.total++;
    const r = this.entry(reason);
    r.count++;
    if (r.where.length < WHERE_PER_REASON) r.where.push(where);
  }

  /** Adds what another reader counted (a read worker's, read later in the inputs' order). */
  merge(other: { readonly reasons: ReadonlyMap<string, SkipReason>; readonly total: number }): void {
    for (const o of other.reasons.values()) {
      const r = this.entry(o.reason);
      r.count += o.count;
      r.where.push(...o.where.slice(0, WHERE_PER_REASON - r.where.length));
    }
    this.total += other.total;
  }

  /** The entry a reason counts under: its own, or past MAX_REASONS distinct ones, OTHER_REASONS. */
  private entry(reason: string): SkipReason {
    let r = this.reasons.get(reason);
    if (!r && this.reasons.size >= MAX_REASONS) r = this.reasons.get(OTHER_REASONS);
    if (!r) {
      r = { reason: this.reasons.size >= MAX_REASONS ? OTHER_REASONS : reason, count: 0, where: [] };
      this.reasons.set(r.reason, r);
    }
    return r;
  }
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** What the events written say about companies and days, followed in time order as the bot follows them. */
export class Coverage {
  private personCompany = new Map<string, string>();
  readonly companies = new Set<string>();
  /** UTC days with activity, as days since 1970 (a number per event is cheaper than a date's text). */
  private readonly dayNumbers = new Set<number>();
  activity = 0;
  activityWithCompany = 0;
  firstMs: number | null = null;
  lastMs: number | null = null;
  firstActivityMs: number | null = null;

  add(e: SourcedEvent): void {
    const ms = e.time.getTime();
    if (this.firstMs === null || ms < this.firstMs) this.firstMs = ms;
    if (this.lastMs === null || ms > this.lastMs) this.lastMs = ms;
    if (e.companyKey !== null && e.companyKey !== UNGROUPED_KEY) {
      this.personCompany.set(e.personId, e.companyKey);
      this.companies.add(e.companyKey);
    }
    if (!ACTIVITY_TYPES.has(e.type)) return;
    this.activity++;
    if (this.firstActivityMs === null || ms < this.firstActivityMs) this.firstActivityMs = ms;
    if (e.companyKey !== null || this.personCompany.has(e.personId)) this.activityWithCompany++;
    this.dayNumbers.add(Math.floor(ms / DAY_MS));
  }

  /** UTC days with activity (YYYY-MM-DD). */
  get activityDays(): Set<string> {
    return new Set([...this.dayNumbers].map((d) => dayOf(d * DAY_MS)));
  }
}

export interface FileProblem {
  label: string;
  message: string;
}

export interface ImportReport {
  files: number;
  fileProblems: FileProblem[];
  /** Records read: lines of JSON, rows of CSV. */
  read: number;
  /** Valid events (the ones to write). */
  valid: number;
  /** Records that are not activity nor people (alias, identity bookkeeping), by reason. */
  ignored: Map<string, number>;
  skipped: Skips;
  written: number;
  stored: number;
  duplicates: number;
  coverage: Coverage;
  /** How the run ended. */
  ending: 'done' | 'errors' | 'interrupted' | 'failed';
  /** Why it failed (the sink gave up), when it did. */
  failure?: string;
  dryRun: boolean;
  /** 'accepted': sent to a running bot, which does not say stored from duplicate. */
  counts: 'exact' | 'accepted';
  /** Where the events went, in words. */
  target: string;
  /** A line about the dedup namespace when it cannot meet live traffic. */
  namespaceNote?: string;
  /** The formats read, by file. */
  formats: Map<string, number>;
}

const n = (x: number) => x.toLocaleString('en-US');

/**
 * What the trend can now see: how many of the BASELINE_DAYS baseline days (before the
 * RECENT_DAYS recent ones, today left out) hold imported activity, and whether trends are
 * live (first activity at least NEW_BEFORE_DAYS ago) or companies still read `new`.
 */
export function trendCoverage(days: ReadonlySet<string>, firstMs: number | null, now: Date): string {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const baselineFrom = today - (RECENT_DAYS + BASELINE_DAYS) * DAY_MS;
  const baselineTo = today - RECENT_DAYS * DAY_MS; // exclusive
  let present = 0;
  for (let d = baselineFrom; d < baselineTo; d += DAY_MS) if (days.has(dayOf(d))) present++;
  const head = `${present} of ${BASELINE_DAYS} baseline days present`;
  if (firstMs === null) return `${head}: no activity imported`;
  const firstDay = Math.floor(firstMs / DAY_MS) * DAY_MS;
  const ageDays = Math.round((today - firstDay) / DAY_MS);
  if (ageDays < NEW_BEFORE_DAYS) return `${head}: companies read "new" until ${dayOf(firstDay + NEW_BEFORE_DAYS * DAY_MS)} (${NEW_BEFORE_DAYS} days after the first event)`;
  if (present >= BASELINE_DAYS) return `${head}: trends are live`;
  if (firstDay > baselineFrom) return `${head}: trends are live, on a shorter baseline until ${dayOf(firstDay + (RECENT_DAYS + BASELINE_DAYS) * DAY_MS)}`;
  return `${head}: trends are live (the other baseline days hold no imported activity)`;
}

/** The summary printed at the end of every run (a dry run and a stopped run too). */
export function renderSummary(r: ImportReport, now: Date): string {
  const out: string[] = [];
  const title =
    r.ending === 'interrupted'
      ? 'Import stopped (Ctrl-C)'
      : r.ending === 'errors'
        ? 'Import stopped: too many bad lines'
        : r.ending === 'failed'
          ? 'Import stopped: could not write'
          : r.dryRun
            ? 'Import checked (dry run: nothing written)'
            : 'Import done';
  out.push(`${title}: ${r.target}`);
  const formats = [...r.formats].map(([f, c]) => `${c} ${f}`).join(', ');
  out.push(`  files:       ${n(r.files)} read${formats ? ` (${formats})` : ''}${r.fileProblems.length ? `; ${r.fileProblems.length} not read whole` : ''}`);
  for (const p of r.fileProblems) out.push(`    ${p.label}: ${p.message}`);
  const ignored = [...r.ignored.values()].reduce((a, b) => a + b, 0);
  let events = `  events:      ${n(r.read)} read, ${n(r.valid)} valid`;
  if (r.dryRun) events += `; none written (a dry run does not open the database, so ids stored before are not looked up)`;
  else if (r.counts === 'accepted') events += `; ${n(r.written)} sent and accepted (the bot skips ids it has stored and does not say how many)`;
  else events += `; ${n(r.stored)} stored, ${n(r.duplicates)} duplicate (stored before, or twice in the input)`;
  out.push(events);
  if (r.written < r.valid && !r.dryRun && r.ending !== 'done') out.push(`  not written: ${n(r.valid - r.written)} (run the same command again: what was written is skipped)`);
  if (ignored > 0) {
    out.push(`  left out:    ${n(ignored)} (not activity)`);
    for (const [reason, count] of r.ignored) out.push(`    ${n(count)}: ${reason}`);
  }
  out.push(`  skipped:     ${n(r.skipped.total)}${r.skipped.total ? ' bad lines' : ''}`);
  for (const s of [...r.skipped.reasons.values()].sort((a, b) => b.count - a.count)) {
    out.push(`    ${n(s.count)} × ${s.reason}`);
    out.push(`      ${s.where.join(', ')}${s.count > s.where.length ? ', …' : ''}`);
  }
  const c = r.coverage;
  const days = c.activityDays;
  if (c.firstMs !== null && c.lastMs !== null) {
    out.push(`  date range:  ${dayOf(c.firstMs)} to ${dayOf(c.lastMs)} (UTC), ${n(days.size)} ${days.size === 1 ? 'day' : 'days'} with activity`);
  } else out.push('  date range:  none (no events)');
  out.push(`  companies:   ${n(c.companies.size)}`);
  const share = c.activity === 0 ? 0 : (100 * c.activityWithCompany) / c.activity;
  out.push(`  with a company: ${c.activity === 0 ? 'no activity' : `${share.toFixed(1)} % of activity events (${n(c.activityWithCompany)} of ${n(c.activity)})`}`);
  out.push(`  trend:       ${trendCoverage(days, c.firstActivityMs, now)}`);
  if (r.namespaceNote) out.push(`  note:        ${r.namespaceNote}`);
  if (r.failure) out.push(`  error:       ${r.failure}`);
  return out.join('\n');
}
