/**
 * Small pure formatters shared by the Slack and the terminal renderers.
 * Nothing here knows about Block Kit; `escapeMrkdwn` is the one escaping function
 * every piece of data goes through before it reaches mrkdwn or a `text` fallback.
 */
import type { Metric } from '../domain/types.js';

/**
 * Escapes text for Slack mrkdwn and `text` fallbacks: `&`, `<` and `>` only, as Slack
 * asks. Nothing else (not `*`, `_`, `@here`): with these three escaped no data can
 * form a mention (`<!channel>`, `<@U123>`) or a link (`<https://x|y>`).
 */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `1200` -> `1,200`; rounds to a whole number; not finite -> `—`. */
/**
 * How many companies a search matched, for the line above the choices: `3 companies match` or,
 * when the list was cut at its limit, `More than 20 companies match … the first 20`.
 */
export function matchesIntro(count: number, more: boolean | undefined, quoted: string): string {
  return more
    ? `More than ${formatNumber(count)} companies match “${quoted}”; the first ${formatNumber(count)}, type more of the name to narrow them.`
    : `${formatNumber(count)} companies match “${quoted}”.`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const rounded = Math.round(n);
  return integerFormat.format(rounded === 0 ? 0 : rounded); // no "-0"
}

/** The real minus sign, as typeset figures use it. */
export const MINUS = '\u2212';

/**
 * A relative change as a whole percentage with a sign: `-0.9` -> `−90 %`, `0.35` ->
 * `+35 %`, `0` -> `0 %`. Thousands separators for big jumps (`+1,900 %`).
 */
export function formatPercent(change: number): string {
  if (!Number.isFinite(change)) return '—';
  const pct = Math.sign(change) * Math.round(Math.abs(change * 100)); // half away from zero
  if (pct === 0) return '0 %';
  const digits = integerFormat.format(Math.abs(pct));
  return `${pct < 0 ? MINUS : '+'}${digits} %`;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function plural(n: number, one: string, many: string): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

/**
 * How long ago `then` was, seen from `now`: "just now" (under a minute, or in the
 * future), "5 minutes ago", "3 hours ago", "yesterday" (24 to 48 hours), "3 days ago"
 * (up to 13), "2 weeks ago" (up to 8), "4 months ago" (30-day months, up to 12),
 * then years.
 */
export function relativeTime(then: Date, now: Date): string {
  const ms = now.getTime() - then.getTime();
  if (!Number.isFinite(ms) || ms < MINUTE) return 'just now';
  if (ms < HOUR) return `${plural(Math.floor(ms / MINUTE), 'minute', 'minutes')} ago`;
  if (ms < DAY) return `${plural(Math.floor(ms / HOUR), 'hour', 'hours')} ago`;
  if (ms < 2 * DAY) return 'yesterday';
  const days = Math.floor(ms / DAY);
  if (days < 14) return `${days} days ago`;
  if (days < 60) return `${Math.floor(days / 7)} weeks ago`;
  if (days < 365) return `${Math.max(2, Math.floor(days / 30))} months ago`;
  return `${plural(Math.floor(days / 365), 'year', 'years')} ago`;
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * One bar per value, scaled to the largest: the largest is `█`, zero (and anything
 * not positive) is `▁`. Any positive value gets at least `▂`, so a week with a little
 * activity never looks like a week with none.
 */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  return values
    .map((v) => {
      if (!(v > 0) || max <= 0) return BARS[0];
      if (!Number.isFinite(v)) return BARS[7];
      return BARS[Math.max(1, Math.min(7, Math.round((v / max) * 7)))];
    })
    .join('');
}

const METRIC_WORDS: Record<Metric, [one: string, many: string]> = {
  key_actions: ['key action', 'key actions'],
  events: ['event', 'events'],
  sessions: ['session', 'sessions'],
  people: ['person', 'people'],
};

/** The metric's word for `n` of it: `metricLabel('people', 1)` -> `person`. */
export function metricLabel(metric: Metric, n: number): string {
  const [one, many] = METRIC_WORDS[metric];
  return n === 1 ? one : many;
}

/** `1200, 'key_actions'` -> `1,200 key actions`. */
export function formatCount(n: number, metric: Metric): string {
  return `${formatNumber(n)} ${metricLabel(metric, Math.round(n))}`;
}

/**
 * At most `max` characters (UTF-16 units, as Slack counts), ending with `…` when cut.
 * Never splits a surrogate pair.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  if (max === 1) return '…';
  let cut = max - 1;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // a high surrogate would be left alone
  return `${s.slice(0, cut)}…`;
}

/** `Mar 3` (UTC), for week labels. */
export function formatDay(d: Date): string {
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/** A share as a whole percentage, `0.456` -> `46 %`; no denominator -> `—`. */
export function formatShare(part: number, whole: number): string {
  if (!(whole > 0)) return '—';
  return `${Math.round((part / whole) * 100)} %`;
}
