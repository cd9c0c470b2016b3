/**
 * What changed in a company's events (issue 16): each event judged against its OWN baseline
 * with the trend's rule (domain/trend verdictWith), so that "Fell most" means what `down`
 * means for a company, and 2 → 0 is never news.
 *
 * Pure: the database layer hands each event's windows (company_event_days summed over the
 * trend's recent and baseline windows, and over each baseline week); nothing here reads a
 * clock or the database.
 *
 * THE RULES (constants below, in one place; docs/trend.md "Events: Fell most and Stopped")
 *   change     recent daily rate / baseline daily rate - 1, the windows of the trend (the last
 *              RECENT_DAYS complete days against the BASELINE_DAYS before, shortened for a young
 *              company exactly like the trend: the company's age, not the event's).
 *   Fell most  the trend's count test on the event's own windows, with its own baseline weeks as
 *              its noise (shrunk toward the book's at its volume) and the rest of the book's move
 *              discounted: trend `down` or `down sharply`. The trend's gone-quiet shortcut is left
 *              out (an event that went silent is judged under Stopped), so only the count test
 *              decides. Largest relative drop first (compareByDrop), at most FELL_MOST_LISTED in
 *              `show` (the stopped ones are under Stopped there), FELL_MOST_IN_LINE in the one
 *              line of the digest and the alerts (stopped ones included: they fell 100 %).
 *   Stopped    used in more than STOPPED_MIN_SHARE of the baseline weeks the company had, and in
 *              at least GONE_QUIET_ACTIVE_WEEKS of them, and not at all in the recent window nor
 *              today. Most used first, at most STOPPED_LISTED.
 *   "other events" (names past the company's bound) is a bucket, not a feature: never listed
 *   under Fell most or Stopped.
 */
import { OTHER_EVENTS } from '../ingest/event-names.js';
import {
  baselineDays,
  baselineWeeksHad,
  BASELINE_DAYS,
  compareByDrop,
  DEFAULT_TREND_PARAMS,
  GONE_QUIET_ACTIVE_WEEKS,
  isFalling,
  RECENT_DAYS,
  verdictWith,
  type BookMove,
  type NoisePrior,
  type TrendParams,
} from './trend.js';
import type { EventChange, EventCounts, EventDrop, EventStop, Trend, TrendWindows } from './types.js';

/** Events listed under "Fell most" in `show` and App Home. */
export const FELL_MOST_LISTED = 5;
/** Events named in the one "fell most:" line of the digest and the direct alerts. */
export const FELL_MOST_IN_LINE = 3;
/** Events listed under "Stopped". */
export const STOPPED_LISTED = 5;
/** Stopped: used in MORE than this share of the baseline weeks the company had. */
export const STOPPED_MIN_SHARE = 0.5;
/** Baseline weeks in one event history (a full baseline). */
export const EVENT_WEEKS = BASELINE_DAYS / 7;

/** The trend's rule for an event: its count test alone (a silent event is judged under Stopped). */
const EVENT_PARAMS: TrendParams = { ...DEFAULT_TREND_PARAMS, goneQuietWeeks: Infinity };

/** One event of one company, as read from company_event_days. */
export interface EventHistory {
  name: string;
  /** Over the reply's range (today included). */
  count: number;
  /** Over the trend's recent window (RECENT_DAYS complete days before today). */
  recent: number;
  /** Over the trend's baseline window (BASELINE_DAYS days before the recent window). */
  baseline: number;
  /** Today (partial: outside both windows). */
  today: number;
  /** Each 7-day week of the full baseline window, oldest first (EVENT_WEEKS of them). */
  weeks: number[];
  /** Last UTC day with any of it ('YYYY-MM-DD') in what was read; null when none. */
  lastDay: string | null;
}

/** What an event's changes are judged with: the company's age, and (optional) the book's move and noise in events. */
export interface EventJudging {
  /** Whole days since the company's first activity (its baseline is shortened like its trend). */
  ageDays: number;
  /** The whole book's events over the two windows (company_summary); the company's own are taken out here. */
  book?: BookMove | null;
  /** The book's typical noise at each weekly volume, for the events metric. */
  prior?: NoisePrior | null;
}

/** One event judged. */
export interface EventJudged {
  name: string;
  count: number;
  windows: TrendWindows;
  trend: Trend;
  change: number | null;
  /** Baseline weeks the company had, and in how many of them the event was used. */
  weeksHad: number;
  activeWeeks: number;
  stopped: boolean;
  lastDay: string | null;
  today: number;
}

/** An event's weekly rate over its baseline and over the recent window. */
export function perWeek(w: TrendWindows): { before: number; now: number } {
  return { before: (Math.max(0, w.baseline) / baselineDays(w)) * 7, now: (Math.max(0, w.recent) / RECENT_DAYS) * 7 };
}

/** Each event judged against its own baseline (see the rules above). */
export function judgeEvents(events: readonly EventHistory[], j: EventJudging): EventJudged[] {
  // The rest of the book: the book's events minus this company's (every name, "other events" included).
  let rest: BookMove | undefined;
  if (j.book) {
    const own = events.reduce((s, e) => ({ recent: s.recent + e.recent, baseline: s.baseline + e.baseline }), { recent: 0, baseline: 0 });
    rest = { recent: Math.max(0, j.book.recent - own.recent), baseline: Math.max(0, j.book.baseline - own.baseline) };
  }
  return events.map((e) => {
    const probe: TrendWindows = { recent: e.recent, baseline: e.baseline, ageDays: j.ageDays };
    const had = Math.min(EVENT_WEEKS, baselineWeeksHad(probe));
    const weeks = e.weeks.slice(Math.max(0, e.weeks.length - had));
    const windows: TrendWindows = { ...probe, weeks };
    // verdictWith takes the judged series' own windows out of `market`: handing it the rest plus
    // the event leaves exactly the rest of the book (the company's other events are not the book).
    const market = rest && { recent: rest.recent + e.recent, baseline: rest.baseline + e.baseline };
    const v = verdictWith(windows, market, EVENT_PARAMS, j.prior);
    const activeWeeks = weeks.filter((x) => x > 0).length;
    const stopped =
      e.name !== OTHER_EVENTS &&
      had > 0 &&
      activeWeeks > STOPPED_MIN_SHARE * had &&
      activeWeeks >= GONE_QUIET_ACTIVE_WEEKS &&
      e.recent === 0 &&
      e.today === 0;
    return { name: e.name, count: e.count, windows, trend: v.trend, change: v.change, weeksHad: had, activeWeeks, stopped, lastDay: e.lastDay, today: e.today };
  });
}

/** The significant drops (trend down or down sharply; never "other events"), largest relative drop first. */
export function significantDrops(judged: readonly EventJudged[]): EventJudged[] {
  return judged
    .filter((e) => e.name !== OTHER_EVENTS && isFalling(e.trend))
    .map((e) => ({ e, row: { change: e.change, windows: e.windows, key: e.name } }))
    .sort((a, b) => compareByDrop(a.row, b.row))
    .map((x) => x.e);
}

function drop(e: EventJudged): EventDrop {
  const rate = perWeek(e.windows);
  return { name: e.name, perWeekBefore: rate.before, perWeekNow: rate.now, change: e.change ?? -1, trend: e.trend };
}

/** What `What they do` says of an event's change: the change, "new" (no baseline, used lately), or nothing. */
function changeOf(e: EventJudged, young: boolean): EventChange {
  if (young) return null;
  if (e.windows.baseline > 0) return e.change;
  return e.windows.recent + e.today > 0 ? 'new' : null;
}

/**
 * A company's events over the range for `show`: the top `limit` by count (each with its change),
 * how many names it used, what "other events" holds, Fell most and Stopped.
 */
export function eventChanges(events: readonly EventHistory[], j: EventJudging, limit: number): EventCounts {
  const judged = judgeEvents(events, j);
  const young = j.ageDays < DEFAULT_TREND_PARAMS.newBeforeDays;
  const inRange = judged.filter((e) => e.count > 0 && e.name !== OTHER_EVENTS);
  inRange.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const stopped: EventStop[] = judged
    .filter((e) => e.stopped)
    .sort((a, b) => b.windows.baseline - a.windows.baseline || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, STOPPED_LISTED)
    .map((e) => ({ name: e.name, perWeekBefore: perWeek(e.windows).before, activeWeeks: e.activeWeeks, weeks: e.weeksHad, lastDay: e.lastDay }));
  return {
    top: inRange.slice(0, limit).map((e) => ({ name: e.name, count: e.count, change: changeOf(e, young) })),
    names: inRange.length,
    other: judged.find((e) => e.name === OTHER_EVENTS)?.count ?? 0,
    // Nothing to judge with no events in the windows (a company older than its event history).
    judged: !young && events.length > 0,
    fellMost: significantDrops(judged)
      .filter((e) => !e.stopped)
      .slice(0, FELL_MOST_LISTED)
      .map(drop),
    stopped,
  };
}

/** The events that fell most, for the one line of the digest and the alerts (stopped ones included). */
export function fellMostInLine(events: readonly EventHistory[], j: EventJudging, max = FELL_MOST_IN_LINE): EventDrop[] {
  return significantDrops(judgeEvents(events, j)).slice(0, max).map(drop);
}
