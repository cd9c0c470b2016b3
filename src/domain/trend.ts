/**
 * The trend rule: is a company's activity rising, steady or falling?
 *
 * Pure: no clock, no Slack, no database. The database layer sums the metric over two
 * windows of complete UTC days and hands them here as `TrendWindows`.
 *
 * THE RULE
 *   recent   = the RECENT_DAYS (14) complete days before today (today is partial, left out);
 *   baseline = the BASELINE_DAYS (84) days before that (fewer for a young company).
 *   change   = recent daily rate / baseline daily rate - 1.
 *   `down` when change <= -25 % AND a one-sided count test says the drop is not chance
 *   (p < 1 %); `down sharply` when change <= -60 % with the same test. `up` and
 *   `up sharply` mirror it at +25 % and +100 %, with the stricter p < 0.5 %. Anything else is `steady`. A company first
 *   seen fewer than NEW_BEFORE_DAYS (28) days ago is `new`.
 *
 * THE TEST (why small numbers never make a sharp trend)
 *   Given n = recent + baseline, if the daily rate had not changed the recent count would
 *   be Binomial(n, p) with p = R*f / (R*f + B) (the conditional test of two Poisson rates;
 *   f is the book's factor, below). Real activity is burstier than Poisson, so the counts
 *   are deflated by a quasi-Poisson dispersion factor before the exact binomial tail
 *   (incomplete beta, real-valued counts):
 *     phi = COUNT_DISPERSION + WEEKLY_SWING_CV^2 * (7/R + 7/B) * n * p * (1 - p).
 *   COUNT_DISPERSION (2): events come in bursts (a session, one busy person), so even a
 *     small account's counts vary about twice as much as Poisson.
 *   WEEKLY_SWING_CV (20 %): a whole account also swings from week to week (a release, a
 *     team away); this is what a week-level gamma multiplier with that coefficient of
 *     variation adds to the variance of the log rate ratio. Without it, a large account's
 *     ordinary wobble would be "significant" at every count.
 *   So 2 -> 1 or 1 -> 0 is `steady`: a drop to zero needs ~75 baseline events.
 *
 * THE BOOK'S FACTOR (holiday weeks)
 *   `market` is the same two sums over all companies; the company's own sums are taken
 *   out of it, so f is the move of the REST of the book. Its rate ratio f (clamped to
 *   [MARKET_FACTOR_MIN, MARKET_FACTOR_MAX]) is the move the whole book made, e.g. 0.65 when
 *   the recent window holds a holiday week. The trend is decided twice, against the
 *   company's own past (f = 1) and against its past scaled by f, and the MILDER verdict
 *   wins (opposite signs give `steady`). So the book's move can explain a trend away but
 *   never invent one. A plain total ratio is not robust: in a book of three where one
 *   account collapses by 90 %, the total ratio is ~0.75 and would call the flat account
 *   `up`; milder-of-two keeps it `steady` (see the worked example test).
 *
 * WHY THESE CONSTANTS (measured with `npm run bench:trend`; figures in docs/trend.md)
 *   14 / 84 days: multiples of 7 cancel the weekday rhythm. 14 days halves the weekly
 *     swing against a 7-day window (7 days lost recall and lead at equal false alarms, and
 *     so did flagging when either 7 or 14 days dropped); 84 days
 *     (12 weeks) makes the baseline steady enough that the test is decided by the recent
 *     window (56 days cost 2-6 points of recall).
 *   -25 % and p < 1 % for a fall (p < 0.5 % for a rise): the loosest test level that keeps false alarms under 5 % a quarter on
 *     every seed (dip-and-recover accounts included; 3.9 % median, 4.2 % worst); p < 0.5 %
 *     gives ~1 day less lead and ~1 point less recall, p < 2 % breaks 5 % on some seeds.
 *     No setting reaches 3 weeks of lead under 5 % false alarms: the best are ~2.1-2.4
 *     weeks, and neither weekly totals with each account's own noise nor a slope does
 *     better (bench/trend-alternatives.ts). In this book a flag must come within 13 days of
 *     a fade beginning for 3 weeks, when a fade still looks like a dip or a bad week
 *     (docs/trend.md, "Why a 3-week lead is out of reach").
 *   -60 % / +100 %: "sharply" means most of the activity gone, or doubled.
 *   MIN_BASELINE_PER_WEEK (50): `quiet` and the digest list an account only if it did at
 *     least 50 a week in its baseline (about two active people on key actions). Below
 *     that a one-person account's vacation looks like a fade; the bench reports how many
 *     fading accounts this leaves out.
 */
import type { Trend, TrendWindows } from './types.js';

/** Recent window: complete UTC days before today (today excluded). */
export const RECENT_DAYS = 14;
/** Baseline window: complete UTC days before the recent window. */
export const BASELINE_DAYS = 84;
/** Fewer days than this since first activity: `new` (at least 14 days of baseline needed). */
export const NEW_BEFORE_DAYS = 28;

/** Relative change at or below which a significant drop is `down`. */
export const DOWN_MIN_CHANGE = -0.25;
/** Relative change at or below which a significant drop is `down sharply`. */
export const DOWN_SHARP_CHANGE = -0.6;
/** Relative change at or above which a significant rise is `up`. */
export const UP_MIN_CHANGE = 0.25;
/** Relative change at or above which a significant rise is `up sharply`. */
export const UP_SHARP_CHANGE = 1.0;
/** One-sided test level. */
export const TEST_ALPHA = 0.005;
/**
 * One-sided test level for a fall (the churn warning): looser than TEST_ALPHA, because a
 * missed fade costs an account and the quarter's false alarms stay under 5 % at this level.
 * Rises keep TEST_ALPHA, so a handful of events never makes an "up" (0 -> 5 stays steady).
 */
export const DOWN_TEST_ALPHA = 0.01;
/** Assumed week-to-week coefficient of variation of an account's activity (overdispersion). */
export const WEEKLY_SWING_CV = 0.2;
/** Extra count dispersion: events come in bursts (sessions, one busy person), variance = this x Poisson. */
export const COUNT_DISPERSION = 2;
/** Clamp of the book's rate ratio. */
export const MARKET_FACTOR_MIN = 0.2;
export const MARKET_FACTOR_MAX = 5;
/** Minimum baseline (metric per week of baseline) for an account to count as having been active. */
export const MIN_BASELINE_PER_WEEK = 50;

const LEVEL_TREND: Record<number, Trend> = {
  [-2]: 'down sharply',
  [-1]: 'down',
  0: 'steady',
  1: 'up',
  2: 'up sharply',
};

/** Days of baseline the company actually had (a young company has a shorter one). */
export function baselineDays(w: TrendWindows): number {
  return Math.max(1, Math.min(BASELINE_DAYS, w.ageDays - RECENT_DAYS));
}

/** Tunables of the rule, for the bench's sweeps; the product uses DEFAULT_TREND_PARAMS. */
export interface TrendParams {
  recentDays: number;
  baselineDays: number;
  downMin: number;
  downSharp: number;
  upMin: number;
  upSharp: number;
  alpha: number;
  /** Test level for a fall; `alpha` when absent. */
  downAlpha?: number;
  cv: number;
  /** Extra count dispersion (events come in bursts): variance = d0 x Poisson. */
  d0: number;
  newBeforeDays: number;
  minBaselinePerWeek: number;
}

export const DEFAULT_TREND_PARAMS: TrendParams = {
  recentDays: RECENT_DAYS,
  baselineDays: BASELINE_DAYS,
  downMin: DOWN_MIN_CHANGE,
  downSharp: DOWN_SHARP_CHANGE,
  upMin: UP_MIN_CHANGE,
  upSharp: UP_SHARP_CHANGE,
  alpha: TEST_ALPHA,
  downAlpha: DOWN_TEST_ALPHA,
  cv: WEEKLY_SWING_CV,
  d0: COUNT_DISPERSION,
  newBeforeDays: NEW_BEFORE_DAYS,
  minBaselinePerWeek: MIN_BASELINE_PER_WEEK,
};

export function decideTrend(w: TrendWindows, market?: { recent: number; baseline: number }): Trend {
  return decideTrendWith(w, market, DEFAULT_TREND_PARAMS);
}

/** decideTrend with explicit tunables (the bench sweeps them). */
export function decideTrendWith(
  w: TrendWindows,
  market: { recent: number; baseline: number } | undefined,
  k: TrendParams,
): Trend {
  if (w.ageDays < k.newBeforeDays) return 'new';
  const own = trendLevel(w, 1, k);
  // The rest of the book: the company's own move must not explain itself away (in a small
  // book, one account's collapse is most of the book's move).
  const f = marketFactor(market && { recent: market.recent - w.recent, baseline: market.baseline - w.baseline }, k);
  if (f === 1) return LEVEL_TREND[own];
  const scaled = trendLevel(w, f, k);
  if (Math.sign(own) !== Math.sign(scaled)) return 'steady';
  return LEVEL_TREND[Math.abs(own) < Math.abs(scaled) ? own : scaled];
}

/** The book's recent daily rate over its baseline daily rate, clamped; 1 when unknown. */
export function marketFactor(
  market?: { recent: number; baseline: number },
  k: TrendParams = DEFAULT_TREND_PARAMS,
): number {
  if (!market || !(market.recent > 0) || !(market.baseline > 0)) return 1;
  const f = market.recent / k.recentDays / (market.baseline / k.baselineDays);
  if (!Number.isFinite(f)) return 1;
  return Math.min(MARKET_FACTOR_MAX, Math.max(MARKET_FACTOR_MIN, f));
}

/** -2 down sharply, -1 down, 0 steady, 1 up, 2 up sharply, against baseline scaled by f. */
export function trendLevel(w: TrendWindows, f: number, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  const R = k.recentDays;
  const r = Math.max(0, w.recent);
  const b = Math.max(0, w.baseline);
  const n = r + b;
  if (n === 0) return 0;
  const bDays = Math.max(1, Math.min(k.baselineDays, w.ageDays - R));
  const p = (R * f) / (R * f + bDays);
  const change = b === 0 ? Infinity : (r / R) / ((b / bDays) * f) - 1;
  const phi = k.d0 + k.cv ** 2 * (7 / R + 7 / bDays) * n * p * (1 - p);
  const ne = n / phi;
  const re = r / phi;
  if (change <= k.downMin && binomCdf(re, ne, p) < (k.downAlpha ?? k.alpha)) {
    return change <= k.downSharp ? -2 : -1;
  }
  if (change >= k.upMin && binomSf(re, ne, p) < k.alpha) {
    return change >= k.upSharp ? 2 : 1;
  }
  return 0;
}

/** recent daily rate / baseline daily rate - 1; null when there is no baseline. */
export function trendChange(w: TrendWindows): number | null {
  if (!(w.baseline > 0)) return null;
  return (w.recent / RECENT_DAYS) / (w.baseline / baselineDays(w)) - 1;
}

/** Did this account do at least MIN_BASELINE_PER_WEEK a week in its baseline? */
export function usedToBeActive(w: TrendWindows): boolean {
  return usedToBeActiveWith(w, DEFAULT_TREND_PARAMS);
}

/** usedToBeActive with explicit tunables (the bench sweeps them). */
export function usedToBeActiveWith(w: TrendWindows, k: TrendParams): boolean {
  if (w.ageDays < k.newBeforeDays) return false;
  const bDays = Math.max(1, Math.min(k.baselineDays, w.ageDays - k.recentDays));
  return (w.baseline / bDays) * 7 >= k.minBaselinePerWeek;
}

export function isFalling(t: Trend): boolean {
  return t === 'down' || t === 'down sharply';
}

export function isRising(t: Trend): boolean {
  return t === 'up' || t === 'up sharply';
}

/** Volume lost over the recent window against the baseline's rate (0 if none lost). */
function lostVolume(w: TrendWindows): number {
  return Math.max(0, (w.baseline / baselineDays(w)) * RECENT_DAYS - w.recent);
}

/** Array.sort comparator: biggest relative drop first, ties by biggest lost volume; no change last. */
export function compareByDrop(
  a: { change: number | null; windows: TrendWindows },
  b: { change: number | null; windows: TrendWindows },
): number {
  const ca = a.change ?? Infinity;
  const cb = b.change ?? Infinity;
  if (Math.abs(ca - cb) > 1e-12 && ca !== cb) return ca < cb ? -1 : 1;
  return lostVolume(b.windows) - lostVolume(a.windows);
}

const SIGNS: Record<Trend, string> = {
  'up sharply': '⇈',
  up: '↑',
  steady: '→',
  down: '↓',
  'down sharply': '⇊',
  new: '✦',
};

/** A sign taken in at a glance. */
export function trendSign(t: Trend): string {
  return SIGNS[t];
}

const pct = (x: number) => `${Math.round(Math.abs(x) * 100)} %`;

/** The rule in one human sentence, with its constants. */
export function describeTrendRule(): string {
  return (
    `Trend compares the last ${RECENT_DAYS} complete days with the ${BASELINE_DAYS} days before ` +
    `(daily rates): down when ${pct(DOWN_MIN_CHANGE)} lower or more (down sharply from ${pct(DOWN_SHARP_CHANGE)}), ` +
    `up when ${pct(UP_MIN_CHANGE)} higher or more (up sharply from ${pct(UP_SHARP_CHANGE)}), and only when a count test ` +
    `that allows for ordinary week-to-week swings says it is not chance (p < ${DOWN_TEST_ALPHA * 100} % for a fall, ${TEST_ALPHA * 100} % for a rise), ` +
    `so a few events never make a trend; a move the whole book makes (a holiday week) is discounted; ` +
    `companies first seen under ${NEW_BEFORE_DAYS} days ago are new. ` +
    `Quiet accounts are those down that did at least ${MIN_BASELINE_PER_WEEK} a week before.`
  );
}

// ---- Binomial tails on real-valued counts, via the regularized incomplete beta ----

/** P(X <= k), X ~ Binomial(n, p), continuous in k and n. */
export function binomCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return betaInc(n - k, k + 1, 1 - p);
}

/** P(X >= k), X ~ Binomial(n, p), continuous in k and n. */
export function binomSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return betaInc(k, n - k + 1, p);
}

function lnGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized incomplete beta I_x(a, b). */
export function betaInc(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const bt = Math.exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return (bt * betaCf(a, b, x)) / a;
  return 1 - (bt * betaCf(b, a, 1 - x)) / b;
}

function betaCf(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-12) break;
  }
  return h;
}
