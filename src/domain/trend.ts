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
 *   `down` when change <= -25 % AND a one-sided count test says the drop is not chance for
 *   THIS account (p < 0.2 %); `down sharply` when change <= -60 % with the same test. `up`
 *   and `up sharply` mirror it at +25 % and +100 %. Anything else is `steady`. A company
 *   first seen fewer than NEW_BEFORE_DAYS (28) days ago is `new`. Never "sharply" when both
 *   windows are under SHARP_MIN_PER_WEEK (10) a week. Nothing in the recent window after
 *   activity in every baseline week (at least GONE_QUIET_ACTIVE_WEEKS, 4): gone quiet, `down`.
 *
 * THE TEST (why small numbers never make a sharp trend)
 *   Given n = recent + baseline, if the daily rate had not changed the recent count would
 *   be Binomial(n, p) with p = R*f / (R*f + B) (the conditional test of two Poisson rates;
 *   f is the book's factor, below). Real activity is burstier than Poisson and swings from
 *   week to week, so the counts are deflated by a dispersion phi (variance of a week's total
 *   over its mean; the same for any whole number of independent weeks) before the exact
 *   binomial tail (incomplete beta, real-valued counts).
 *
 * THE NOISE (issue 12: measured per account, not assumed; docs/trend.md)
 *   phi_own: the account's own, from its baseline weeks (ownDispersion: clipped successive
 *     differences, each week first divided by the book's move that week, the latest
 *     OWN_SKIP_WEEKS left out). phi_book: the book's typical phi at the same weekly volume
 *     (fitNoisePrior, fitted by the daily rollover on every company with a full baseline).
 *     phi = max(1, (w phi_own + W phi_book) / (w + W)),
 *     w = OWN_WEIGHT_PER_WEEK per week-to-week difference used (a young account leans on the
 *     book), W the book's weight at that volume, measured (empirical Bayes): how much the
 *     accounts of that volume truly differ in noise against how far their estimates scatter
 *     by chance (fitNoisePrior, empiricalBayesWeight). Where they all share one noise the
 *     book's word is nearly final; where they differ, the account's own counts. A prior
 *     stored without weights uses PRIOR_WEIGHT.
 *   Without a prior (a book of under PRIOR_MIN_COMPANIES), phi_book is the rule's old
 *   assumption: COUNT_DISPERSION (2, events come in sessions) + WEEKLY_SWING_CV^2 (20 %) x
 *   the weekly mean.

 * THE EVIDENCE OF THE OTHER METRICS (issue 12, point 4; trendWithEvidence)
 *   When the asked metric is thin (under EVIDENCE_THIN_PER_WEEK, 50, a week in its baseline)
 *   its test may be inconclusive although the account is plainly leaving. Then a fall that the
 *   same calibrated test finds on another metric (EVIDENCE_METRICS: sessions, with its own
 *   noise, book's move and prior, at EVIDENCE_TEST_ALPHA, 0.5 %) counts
 *   as a fall, provided the asked metric moved the same way by at least as much as a fall
 *   needs and more (its change <= EVIDENCE_MIN_CHANGE, −40 %). The asked metric is never overruled otherwise: a
 *   rise or a steady change on it stays as its own test says, and its figures are the ones
 *   shown, with the reason ("key actions thin, sessions −70 %").

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
 * WHY THESE CONSTANTS (measured with `npm run bench:trend` on a family of books; docs/trend.md)
 *   14 / 84 days: multiples of 7 cancel the weekday rhythm; 14 days halves the weekly swing
 *     against a 7-day window; 84 days (12 weeks) makes the baseline steady (issue 7).
 *   p < 0.2 %: a calibrated test looked at 13 times a quarter; the loosest level with false
 *     alarms <= 5 % on every book and seed (worst 4.8 %; p < 0.3 % reaches 5.1 %).
 *   -60 % / +100 %: "sharply" means most of the activity gone, or doubled.
 *   MIN_BASELINE_PER_WEEK (10, was 50): as low as recall allows: under 10 a week almost no
 *     fade is certain before the account reaches zero (recall under 20 a week: 0-70 %).
 *   OWN_WEIGHT_PER_WEEK 0.4 / PRIOR_WEIGHT 3: a full baseline's own swing (9 differences)
 *     weighs a little more than the book's when the book cannot say (a sweep before the book's
 *     weekly move was taken out: own weight 1 added 1-1.5 points of false alarms, prior weight 8
 *     moved recall and false alarms by about a point). The measured weight (empirical Bayes)
 *     replaced the fixed 3 where the prior has it: on every book but a, 0.4-1.1 points fewer
 *     false alarms at the same recall (book a unchanged: its dips hold its false alarms).
 */
import type { Metric, Trend, TrendWindows } from './types.js';

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
/** One-sided test level for a rise. */
export const TEST_ALPHA = 0.002;
/**
 * One-sided test level for a fall (the churn warning). With each account's own noise the test
 * is calibrated, so 13 looks a quarter at p < 0.2 % keep false alarms under 5 % on every book
 * and seed of the family (worst 4.8 %; p < 0.3 % reaches 5.1 %; bench:trend).
 */
export const DOWN_TEST_ALPHA = 0.002;
/**
 * The noise assumed when the book cannot tell (fewer than PRIOR_MIN_COMPANIES with a
 * history): the rule before issue 12, a 20 % week-to-week swing ...
 */
export const WEEKLY_SWING_CV = 0.2;
/** ... on counts twice as bursty as Poisson (variance = this x Poisson). */
export const COUNT_DISPERSION = 2;
/** Clamp of the book's rate ratio. */
export const MARKET_FACTOR_MIN = 0.2;
export const MARKET_FACTOR_MAX = 5;
/** Minimum baseline (metric per week of baseline) for an account to count as having been active. */
export const MIN_BASELINE_PER_WEEK = 10;
/** Below this a week in both windows, a trend is at most `down` or `up`: a tiny account is never "sharply" anything. */
export const SHARP_MIN_PER_WEEK = 10;
/** Weight of the company's own swing estimate, per week-to-week difference in its baseline. */
export const OWN_WEIGHT_PER_WEEK = 0.4;
/**
 * The latest baseline weeks left out when measuring the account's own swing: a fade that began
 * before the recent window is already in them, and its steps would read as ordinary swing.
 */
export const OWN_SKIP_WEEKS = 2;
/** Weight of the book's typical swing at the company's volume, in the same units (empirical Bayes). */
export const PRIOR_WEIGHT = 3;
/** Companies with a full baseline that the book's typical swing needs before it is trusted. */
export const PRIOR_MIN_COMPANIES = 30;
/** Baseline weeks, each with activity, that make an account "regularly active" (gone quiet needs them). */
export const GONE_QUIET_ACTIVE_WEEKS = 4;
/**
 * The asked metric is "thin" under this a week in its baseline: then the evidence of the other
 * metrics may count (trendWithEvidence). The floor `quiet` had before issue 12: above it the
 * asked metric's own test has counts enough to decide by itself.
 */
export const EVIDENCE_THIN_PER_WEEK = 50;
/**
 * The metrics whose evidence counts when the asked one is thin (the asked one itself left out):
 * sessions. Events were tried too (bench:trend): on the small-B2B book e they added false alarms
 * on steady accounts (a session's 3 to 15 events make events far burstier than their own
 * baseline weeks show), and book e seed 3 reached 5.4 % (sessions alone: 4.4 %).
 */
export const EVIDENCE_METRICS: readonly Metric[] = ['sessions'];
/**
 * Test level of a fall on an evidence metric. Was DOWN_TEST_ALPHA / 2 (the level split between
 * the two looks, Bonferroni). Since the book's weight in the shrinkage is measured (empirical
 * Bayes, NoisePrior.weight), the false alarms it bought back pay for a looser second look:
 * 0.5 % took book e's recall from 61-74 % to 75-85 % with false alarms at most 4.7 % on every
 * book and seed (bench:trend, 3,000 companies; 1 % reached 5.7 and 6.3 % on book e).
 */
export const EVIDENCE_TEST_ALPHA = 0.005;
/**
 * What STEADY_BELOW_Z is for the evidence's looser level: no window within 2.2 standard
 * deviations below its expectation passes a fall's test at EVIDENCE_TEST_ALPHA (lowest exact
 * lower tail there 0.81 %; at 2.3 it is 0.52 %, too near). test/trend-noise.test.ts pins it.
 */
export const EVIDENCE_STEADY_BELOW_Z = 2.2;
/**
 * The asked metric's own change at or below which the other metrics' evidence may count: a
 * fall the thin metric itself shows plainly. At −25 % (a fall's change) the evidence also
 * caught more one- or two-week dips, and book a seed 3 reached 5.1 % false alarms; −35 %: 5.0 %;
 * −40 %: 4.9 %, at a point of recall less there and none on book e (bench:trend, 3,000 companies).
 */
export const EVIDENCE_MIN_CHANGE = -0.4;

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
  /** The assumed noise when neither the company nor the book can tell: d0 + cv^2 x weekly mean. */
  cv: number;
  d0: number;
  newBeforeDays: number;
  minBaselinePerWeek: number;
  /** Weight of the own swing estimate per baseline week-to-week difference (0: the assumed noise only, today's rule before issue 12). */
  ownWeight: number;
  /** Weight of the book's typical swing (the prior) where the prior carries no weights of its own (NoisePrior.weight). */
  priorWeight: number;
  /** Below this a week, never "sharply". */
  sharpMinPerWeek: number;
  /** Latest baseline weeks left out of the own swing (see OWN_SKIP_WEEKS). */
  ownSkipWeeks: number;
  /** Baseline weeks, all active, that make a silent account "gone quiet" (Infinity: never). */
  goneQuietWeeks: number;
  /** Under this a week the asked metric is thin and the other metrics' evidence counts (0: never). */
  evidenceThinPerWeek: number;
  /** Test level of a fall on an evidence metric. */
  evidenceAlpha: number;
  /** The asked metric's change at or below which evidence may count (at most downMin). */
  evidenceMinChange: number;
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
  ownWeight: OWN_WEIGHT_PER_WEEK,
  priorWeight: PRIOR_WEIGHT,
  sharpMinPerWeek: SHARP_MIN_PER_WEEK,
  ownSkipWeeks: OWN_SKIP_WEEKS,
  goneQuietWeeks: GONE_QUIET_ACTIVE_WEEKS,
  evidenceThinPerWeek: EVIDENCE_THIN_PER_WEEK,
  evidenceAlpha: EVIDENCE_TEST_ALPHA,
  evidenceMinChange: EVIDENCE_MIN_CHANGE,
};

/**
 * The book's typical noise at each volume: the dispersion phi (variance of a week's total
 * over its mean) of companies with a full baseline, as medians over bins of weekly volume.
 * Knots ascending in `perWeek`; between knots interpolated in log volume, flat outside.
 */
export interface NoisePrior {
  perWeek: number[];
  phi: number[];
  /**
   * Per knot, the book's weight in the shrinkage (empirical Bayes, in the own swing's units:
   * OWN_WEIGHT_PER_WEEK per difference): large where the accounts of that volume differ in
   * noise less than their estimates scatter, small where they truly differ. Absent in a prior
   * stored before it existed: PRIOR_WEIGHT then.
   */
  weight?: number[];
  /**
   * The book's move in each baseline week (oldest first): that week's total over the mean
   * week, so a holiday week reads 0.3. Each account's weeks are divided by it before its own
   * swing is measured: a swing the whole book made is not the account's.
   */
  weekFactors?: number[];
}

/** The two sums of the whole book, to discount its move. */
export interface BookMove {
  recent: number;
  baseline: number;
}

/** What the rule decided and why, for `show` and for ordering `quiet`. */
export interface TrendVerdict {
  trend: Trend;
  /** recent daily rate / baseline daily rate - 1; null with no baseline. */
  change: number | null;
  /** The account's usual week-to-week swing (coefficient of variation of a week's total); null with no baseline. */
  swing: number | null;
  /** Whether the swing came (in part) from the account's own baseline weeks, not only the book's. */
  ownSwing: boolean;
  /**
   * How unusual the recent window is for this account: a z-score of its recent total against
   * its baseline with its own noise (negative = below). 0 with no baseline.
   */
  z: number;
  /** Nothing in the recent window after activity in every baseline week (GONE_QUIET_ACTIVE_WEEKS at least). */
  goneQuiet: boolean;
  /**
   * Set when the fall was called on another metric's evidence (the asked one thin; see
   * trendWithEvidence): that metric and its change. `change` and `swing` stay the asked metric's.
   */
  evidence?: EvidenceReason;
}

/** A fall called on another metric's evidence: that metric, its change, and the (thin) metric asked. */
export interface EvidenceReason {
  metric: Metric;
  change: number;
  /** The metric asked about, when the caller named it (for the reason: "key actions thin"). */
  asked?: Metric;
}

/** Another metric's windows, with the book's move and typical noise on that metric: evidence for a thin asked metric. */
export interface MetricEvidence {
  metric: Metric;
  windows: TrendWindows;
  market?: BookMove;
  prior?: NoisePrior | null;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Mean of a week's total over the baseline the company had. */
export function perWeekOf(w: TrendWindows, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  const bDays = Math.max(1, Math.min(k.baselineDays, w.ageDays - k.recentDays));
  return (Math.max(0, w.baseline) / bDays) * 7;
}

/**
 * The company's own week-to-week variance, robustly: half the mean square of the differences
 * of consecutive weekly totals, each difference first clipped at WINSOR_AT times their typical
 * size (1.4826 x the median absolute difference, at least 1). Differences cancel a slow growth
 * or a level shift; the clip stops one holiday or one outlier week (two large differences of
 * eleven) from inflating it, while the other differences keep most of a variance's precision
 * (a median alone would waste two thirds of it). Divided by WINSOR_FACTOR, the clipped mean
 * square is unbiased for normal swings. Returns the dispersion (variance over mean) and how
 * many differences it rests on; null with fewer than two weeks or nothing in them.
 */
export function ownDispersion(weeks: readonly number[]): { phi: number; diffs: number } | null {
  if (weeks.length < 2) return null;
  const mean = weeks.reduce((a, b) => a + b, 0) / weeks.length;
  if (!(mean > 0)) return null;
  const diffs = weeks.slice(1).map((y, i) => Math.abs(y - weeks[i]));
  const clip = WINSOR_AT * Math.max(1, 1.4826 * median(diffs));
  const ms = diffs.reduce((a, d) => a + Math.min(d, clip) ** 2, 0) / diffs.length / WINSOR_FACTOR;
  return { phi: ms / 2 / mean, diffs: diffs.length };
}
/** Clip of a week-to-week difference, in its typical sizes (see ownDispersion). */
export const WINSOR_AT = 2;
/** E[min(Z^2, 4)] for a standard normal Z: what clipping at 2 leaves of a variance. */
const WINSOR_FACTOR = 0.9205;

/** The assumed noise (before issue 12, and for a book too small to tell): d0 + cv^2 x weekly mean. */
export function assumedDispersion(perWeek: number, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  return k.d0 + k.cv ** 2 * perWeek;
}

/** The book's typical dispersion at this weekly volume (the assumed noise without a prior). */
export function priorDispersion(perWeek: number, prior: NoisePrior | null | undefined, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  if (!prior || prior.perWeek.length === 0) return assumedDispersion(perWeek, k);
  return atVolume(prior.perWeek, prior.phi, perWeek);
}

/** The book's weight in the shrinkage at this weekly volume (see NoisePrior.weight). */
export function priorWeightAt(perWeek: number, prior: NoisePrior | null | undefined, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  if (!prior || !prior.weight || prior.weight.length !== prior.perWeek.length || prior.perWeek.length === 0) return k.priorWeight;
  return atVolume(prior.perWeek, prior.weight, perWeek);
}

/** ys at x, interpolated linearly in log x between the knots xs, flat outside them. */
function atVolume(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[xs.length - 1];
  let i = 1;
  while (xs[i] < x) i++;
  const t = (Math.log(x) - Math.log(xs[i - 1])) / (Math.log(xs[i]) - Math.log(xs[i - 1]));
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/**
 * Fit the book's typical noise from its companies' baseline weeks (each list oldest first):
 * those with a full baseline and at least one a week, sorted by volume, cut into up to
 * PRIOR_BINS bins of equal count; each bin's knot is its median volume and median own
 * dispersion. Null when fewer than PRIOR_MIN_COMPANIES qualify (then the assumed noise holds).
 */
export function fitNoisePrior(baselines: readonly (readonly number[])[], fullWeeks = BASELINE_DAYS / 7): NoisePrior | null {
  const full = baselines.filter((weeks) => weeks.length >= fullWeeks);
  const weekFactors = bookWeekFactors(full, fullWeeks);
  const pts: { perWeek: number; phi: number }[] = [];
  for (const weeks of full) {
    const mean = weeks.reduce((a, b) => a + b, 0) / weeks.length;
    const own = ownDispersion(withoutBookMove(weeks, weekFactors).slice(0, weeks.length - OWN_SKIP_WEEKS));
    if (own) pts.push({ perWeek: mean, phi: own.phi });
  }
  return fitNoisePriorFrom(pts, weekFactors);
}

/**
 * fitNoisePrior from each full-baseline account's weekly mean and own dispersion (all weeks,
 * the book's move taken out); the rollover measures these in SQL.
 */
export function fitNoisePriorFrom(points: readonly { perWeek: number; phi: number }[], weekFactors?: number[]): NoisePrior | null {
  const pts = points.filter((p) => p.perWeek >= 1 && Number.isFinite(p.phi)).map((p) => ({ ...p }));
  if (pts.length < PRIOR_MIN_COMPANIES) return null;
  pts.sort((a, b) => a.perWeek - b.perWeek);
  const bins = Math.max(1, Math.min(PRIOR_BINS, Math.floor(pts.length / 15)));
  const perWeek: number[] = [];
  const phi: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < bins; i++) {
    const bin = pts.slice(Math.floor((i * pts.length) / bins), Math.floor(((i + 1) * pts.length) / bins));
    perWeek.push(median(bin.map((p) => p.perWeek)));
    const kept = trimmed(bin.map((p) => p.phi), PRIOR_TRIM);
    const mean = kept.reduce((a, b) => a + b, 0) / Math.max(1, kept.length);
    phi.push(Math.max(1, mean));
    weight.push(empiricalBayesWeight(kept, mean));
  }
  return weekFactors ? { perWeek, phi, weight, weekFactors } : { perWeek, phi, weight };
}

/** The book's move per baseline week: each week's total over these accounts over the mean week (1 when unknown). */
export function bookWeekFactors(baselines: readonly (readonly number[])[], fullWeeks = BASELINE_DAYS / 7): number[] {
  const sums = new Array<number>(fullWeeks).fill(0);
  for (const weeks of baselines) {
    const off = weeks.length - fullWeeks;
    for (let i = 0; i < fullWeeks; i++) sums[i] += weeks[off + i] ?? 0;
  }
  return weekFactorsFromSums(sums);
}

/** Each week's total over the mean week, clamped like the book's factor; 1s when the book is empty. */
export function weekFactorsFromSums(sums: readonly number[]): number[] {
  const mean = sums.reduce((a, b) => a + b, 0) / Math.max(1, sums.length);
  return sums.map((x) => (mean > 0 ? Math.min(MARKET_FACTOR_MAX, Math.max(MARKET_FACTOR_MIN, x / mean)) : 1));
}

/** An account's baseline weeks with the book's move taken out (weeks aligned at the end). */
export function withoutBookMove(weeks: readonly number[], factors: readonly number[] | undefined): number[] {
  if (!factors) return [...weeks];
  const off = factors.length - weeks.length;
  return weeks.map((y, i) => y / (factors[off + i] ?? 1));
}
/**
 * The book's weight in the shrinkage for one bin of accounts of like volume, from how their
 * own estimates (`kept`: the middle of them, trimmed as the bin's mean `mean` is) scatter: the scatter is the true differences between the accounts (tau^2)
 * plus each estimate's sampling variance. The posterior mean puts tau^2 / (tau^2 + s^2) on the
 * account's own estimate; in the rule's units (OWN_WEIGHT_PER_WEEK per difference, a full
 * baseline's PRIOR_FIT_DIFFS) that is a book's weight of OWN_WEIGHT_PER_WEEK x d x s^2 / tau^2,
 * kept within [PRIOR_WEIGHT_MIN, PRIOR_WEIGHT_MAX]. The scatter is taken robustly (the middle
 * 80 %, scaled to a variance as for a normal), so the dips and fades of a few accounts do not
 * pass for differences in noise; what chance alone gives that statistic, and an estimate's own
 * variance, were measured on accounts of one noise (ESTIMATE_REL_VAR).
 */
function empiricalBayesWeight(kept: readonly number[], mean: number): number {
  if (kept.length < 3 || !(mean > 0)) return PRIOR_WEIGHT;
  // A 10 %-trimmed variance of a normal is 0.661 of its variance.
  const scatter = kept.reduce((a, x) => a + (x - mean) ** 2, 0) / (kept.length - 1) / 0.661;
  const tau2 = scatter - ESTIMATE_REL_VAR.trimmed * mean * mean;
  if (!(tau2 > 0)) return PRIOR_WEIGHT_MAX;
  const w = (OWN_WEIGHT_PER_WEEK * PRIOR_FIT_DIFFS * ESTIMATE_REL_VAR.own * mean * mean) / tau2;
  return Math.min(PRIOR_WEIGHT_MAX, Math.max(PRIOR_WEIGHT_MIN, w));
}
/**
 * ownDispersion on PRIOR_FIT_DIFFS differences of weeks that all share one noise: its variance
 * over phi^2 (`own`: 0.36-0.38 for Poisson weeks of 3 to 400, 20,000 accounts each; normal
 * theory without the clip, (3d - 1) / d^2, gives 0.32) and what the trimmed scatter of
 * empiricalBayesWeight reads of it (`trimmed`: 0.21-0.22). test/trend-noise.test.ts measures both.
 */
export const ESTIMATE_REL_VAR = { own: 0.37, trimmed: 0.21 };
/** Differences each own estimate of a prior's fit rests on: a full baseline less OWN_SKIP_WEEKS, less one. */
export const PRIOR_FIT_DIFFS = BASELINE_DAYS / 7 - OWN_SKIP_WEEKS - 1;
/** Bounds of the book's weight (see empiricalBayesWeight): the own swing is never ignored outright, nor trusted alone. */
export const PRIOR_WEIGHT_MIN = 0.5;
export const PRIOR_WEIGHT_MAX = 30;

/** Bins of the book's typical noise (see fitNoisePrior). */
export const PRIOR_BINS = 8;
/**
 * Share trimmed from each end of a bin before averaging its dispersions: a mean (a median
 * of these skewed estimates is ~15 % low) that a few odd accounts do not move.
 */
export const PRIOR_TRIM = 0.1;

/** The middle of xs, sorted: `trim` of them cut from each end. */
function trimmed(xs: readonly number[], trim: number): number[] {
  const s = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(s.length * trim);
  return s.slice(cut, s.length - cut);
}

/** Whole 7-day weeks of baseline the company had (12 for a full baseline). */
export function baselineWeeksHad(w: TrendWindows, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  return Math.max(0, Math.floor(Math.min(k.baselineDays, w.ageDays - k.recentDays) / 7));
}

/** The account's own dispersion: from its weeks, or as measured ahead (`w.noise`). */
function ownNoise(w: TrendWindows, prior: NoisePrior | null | undefined, k: TrendParams): { phi: number; diffs: number } | null {
  if (w.weeks) {
    const weeks = withoutBookMove(w.weeks, prior?.weekFactors);
    return ownDispersion(weeks.slice(0, Math.max(0, weeks.length - k.ownSkipWeeks)));
  }
  if (w.noise && w.noise.phi !== null) {
    const diffs = baselineWeeksHad(w, k) - k.ownSkipWeeks - 1;
    return diffs >= 1 ? { phi: w.noise.phi, diffs } : null;
  }
  return null;
}

/**
 * The dispersion the test uses: the company's own (from its baseline weeks) shrunk toward
 * the book's typical one at its volume, each weighted by what it rests on; never under
 * Poisson (1).
 */
export function dispersionOf(w: TrendWindows, prior: NoisePrior | null | undefined, k: TrendParams = DEFAULT_TREND_PARAMS): { phi: number; own: boolean } {
  const perWeek = perWeekOf(w, k);
  const p0 = priorDispersion(perWeek, prior, k);
  // The last OWN_SKIP_WEEKS baseline weeks are left out of the own swing: a fall that began
  // more than 14 days ago is already in them and would pass for ordinary swing.
  const own = k.ownWeight > 0 ? ownNoise(w, prior, k) : null;
  if (!own) return { phi: Math.max(1, p0), own: false };
  const wo = k.ownWeight * own.diffs;
  const wp = priorWeightAt(perWeek, prior, k);
  return { phi: Math.max(1, (wo * own.phi + wp * p0) / (wo + wp)), own: true };
}

export function decideTrend(w: TrendWindows, market?: BookMove, prior?: NoisePrior | null): Trend {
  return decideTrendWith(w, market, DEFAULT_TREND_PARAMS, prior);
}

/** decideTrend with explicit tunables (the bench sweeps them). */
export function decideTrendWith(w: TrendWindows, market: BookMove | undefined, k: TrendParams, prior?: NoisePrior | null): Trend {
  return verdictWith(w, market, k, prior).trend;
}

/** The trend and why: change, the account's usual swing, how unusual the recent window is. */
export function trendVerdict(w: TrendWindows, market?: BookMove, prior?: NoisePrior | null): TrendVerdict {
  return verdictWith(w, market, DEFAULT_TREND_PARAMS, prior);
}

export function verdictWith(w: TrendWindows, market: BookMove | undefined, k: TrendParams, prior?: NoisePrior | null): TrendVerdict {
  const perWeek = perWeekOf(w, k);
  const { phi, own } = dispersionOf(w, prior, k);
  const change = trendChangeWith(w, k);
  const swing = perWeek > 0 ? Math.sqrt(phi / perWeek) : null;
  const base = { change, swing, ownSwing: own };
  if (w.ageDays < k.newBeforeDays) return { ...base, trend: 'new', z: 0, goneQuiet: false };
  // The rest of the book: the company's own move must not explain itself away (in a small
  // book, one account's collapse is most of the book's move).
  const f = marketFactor(market && { recent: market.recent - w.recent, baseline: market.baseline - w.baseline }, k);
  const own1 = levelWithPhi(w, 1, phi, k);
  let level = own1.level;
  let z = own1.z;
  if (f !== 1) {
    const scaled = levelWithPhi(w, f, phi, k);
    if (Math.sign(own1.level) !== Math.sign(scaled.level)) level = 0;
    else if (Math.abs(scaled.level) < Math.abs(own1.level)) level = scaled.level;
    // The milder z too: the book's move explains part of it, never adds to it.
    z = Math.sign(own1.z) !== Math.sign(scaled.z) ? 0 : Math.abs(scaled.z) < Math.abs(own1.z) ? scaled.z : own1.z;
  }
  const goneQuiet = isGoneQuiet(w, k);
  // A regularly active account that went silent is falling whatever its size.
  if (goneQuiet && level >= 0) level = -1;
  // Tiny (both windows under sharpMinPerWeek a week): never "sharply" anything.
  const recentPerWeek = (Math.max(0, w.recent) / k.recentDays) * 7;
  if (Math.abs(level) === 2 && Math.max(perWeek, recentPerWeek) < k.sharpMinPerWeek) level = Math.sign(level);
  return { ...base, trend: LEVEL_TREND[level], z, goneQuiet };
}

/**
 * The trend of the asked metric, with the evidence of the others (EVIDENCE_METRICS) counted
 * when the asked one is thin: the product's verdict for quiet, the digest, report and show.
 */
export function trendWithEvidence(
  w: TrendWindows,
  market: BookMove | undefined,
  prior: NoisePrior | null | undefined,
  evidence: readonly MetricEvidence[],
  asked?: Metric,
): TrendVerdict {
  const v = verdictWithEvidence(w, market, DEFAULT_TREND_PARAMS, prior, evidence);
  return v.evidence && asked ? { ...v, evidence: { ...v.evidence, asked } } : v;
}

/**
 * verdictWith, then the evidence rule (see THE EVIDENCE OF THE OTHER METRICS above): only a
 * `steady` verdict of a thin asked metric whose own change is a fall's (<= downMin) can turn
 * into `down` (or `down sharply` from downSharp, never for a tiny account), and only when the
 * same calibrated test, at evidenceAlpha, finds a fall on another metric. Never a rise, never
 * against the asked metric's direction.
 */
export function verdictWithEvidence(
  w: TrendWindows,
  market: BookMove | undefined,
  k: TrendParams,
  prior: NoisePrior | null | undefined,
  evidence: readonly MetricEvidence[],
): TrendVerdict {
  const v = verdictWith(w, market, k, prior);
  if (evidence.length === 0 || !mayTakeEvidence(v, w, k)) return v;
  const ek: TrendParams = { ...k, downAlpha: k.evidenceAlpha };
  for (const e of evidence) {
    const ev = verdictWith(e.windows, e.market, ek, e.prior);
    if (!isFalling(ev.trend) || ev.change === null) continue;
    let level = v.change! <= k.downSharp ? -2 : -1;
    const recentPerWeek = (Math.max(0, w.recent) / k.recentDays) * 7;
    if (level === -2 && Math.max(perWeekOf(w, k), recentPerWeek) < k.sharpMinPerWeek) level = -1;
    return { ...v, trend: LEVEL_TREND[level], evidence: { metric: e.metric, change: ev.change } };
  }
  return v;
}

/**
 * Can the other metrics' evidence turn this verdict into a fall? Steady on a thin asked metric
 * (under evidenceThinPerWeek a week in its baseline, old enough for a trend) whose own change
 * is at least a fall's. The SQL that pre-selects (db/queries/companies.ts) mirrors this.
 */
export function mayTakeEvidence(v: Pick<TrendVerdict, 'trend' | 'change'>, w: TrendWindows, k: TrendParams = DEFAULT_TREND_PARAMS): boolean {
  return v.trend === 'steady' && v.change !== null && v.change <= Math.min(k.downMin, k.evidenceMinChange) && w.ageDays >= k.newBeforeDays && perWeekOf(w, k) < k.evidenceThinPerWeek;
}

/** Nothing in the recent window after activity in every baseline week it had (at least `goneQuietWeeks`). */
export function isGoneQuiet(w: TrendWindows, k: TrendParams = DEFAULT_TREND_PARAMS): boolean {
  if (w.ageDays < k.newBeforeDays || w.recent > 0 || !(w.baseline > 0)) return false;
  if (!w.weeks) {
    const had = baselineWeeksHad(w, k);
    return w.noise !== undefined && had >= k.goneQuietWeeks && w.noise.activeWeeks >= had;
  }
  // Regular: active in every baseline week it had, and at least goneQuietWeeks of them; then a
  // fortnight of silence is a first, not its habit (an account active one week in three is
  // silent for two weeks running every few months and is judged by the count test alone).
  return w.weeks.length >= k.goneQuietWeeks && w.weeks.every((x) => x > 0);
}

/** The book's recent daily rate over its baseline daily rate, clamped; 1 when unknown. */
export function marketFactor(market?: BookMove, k: TrendParams = DEFAULT_TREND_PARAMS): number {
  if (!market || !(market.recent > 0) || !(market.baseline > 0)) return 1;
  const f = market.recent / k.recentDays / (market.baseline / k.baselineDays);
  if (!Number.isFinite(f)) return 1;
  return Math.min(MARKET_FACTOR_MAX, Math.max(MARKET_FACTOR_MIN, f));
}

/** -2 down sharply, -1 down, 0 steady, 1 up, 2 up sharply, against baseline scaled by f, with the assumed noise. */
export function trendLevel(w: TrendWindows, f: number, k: TrendParams = DEFAULT_TREND_PARAMS, prior?: NoisePrior | null): number {
  return levelWithPhi(w, f, dispersionOf(w, prior, k).phi, k).level;
}

/**
 * The count test: given n = recent + baseline, with an unchanged rate the recent count is
 * Binomial(n, p), p = R*f / (R*f + B); counts are deflated by the dispersion phi before the
 * exact binomial tail (quasi-Poisson). Also a z-score for ordering.
 */
function levelWithPhi(w: TrendWindows, f: number, phi: number, k: TrendParams): { level: number; z: number } {
  const R = k.recentDays;
  const r = Math.max(0, w.recent);
  const b = Math.max(0, w.baseline);
  const n = r + b;
  if (n === 0) return { level: 0, z: 0 };
  const bDays = Math.max(1, Math.min(k.baselineDays, w.ageDays - R));
  const p = (R * f) / (R * f + bDays);
  const change = b === 0 ? Infinity : (r / R) / ((b / bDays) * f) - 1;
  const ne = n / phi;
  const re = r / phi;
  const npq = ne * p * (1 - p);
  const z = (re - ne * p) / Math.sqrt(Math.max(1e-12, npq));
  const downAlpha = k.downAlpha ?? k.alpha;
  if (change <= k.downMin && (normalDecides(npq, z, downAlpha) ?? binomCdf(re, ne, p) < downAlpha)) {
    return { level: change <= k.downSharp ? -2 : -1, z };
  }
  if (change >= k.upMin && (normalDecides(npq, z, k.alpha) ?? binomSf(re, ne, p) < k.alpha)) {
    return { level: change >= k.upSharp ? 2 : 1, z };
  }
  return { level: 0, z };
}

/**
 * With enough counts (npq, the deflated binomial variance) the exact tail is only computed where
 * the normal one is not already far on one side of the level (over 30 times it, or under a
 * thirtieth; the exact tail is slow): true / false when the normal tail decides, else null.
 * A module function, not a closure in levelWithPhi: the tsx loader names every closure it
 * creates (keepNames), a cost per call that report paid for each company Node decides.
 */
function normalDecides(npq: number, z: number, alpha: number): boolean | null {
  if (npq < NORMAL_ENOUGH) return null;
  const tail = normalTail(Math.abs(z));
  return tail > 30 * alpha ? false : tail < alpha / 30 ? true : null;
}

/** Binomial variance (in deflated counts) from which the normal tail decides clear cases (see levelWithPhi). */
export const NORMAL_ENOUGH = 10;
/**
 * A window within this many standard deviations of its expectation never passes the test at
 * p < 0.2 %: with at least NORMAL_ENOUGH the exact tails there are 0.34 % or more, and under
 * it (a skewed binomial) the test first passes at 2.5 standard deviations (a grid of p from
 * 0.01 to 0.95, the book's factor included; test/trend-noise.test.ts). So PostgreSQL may call
 * it steady before the rule runs.
 */
export const STEADY_BELOW_Z = 2.4;

/** P(Z > x) for a standard normal, x >= 0 (Abramowitz and Stegun 7.1.26, error under 1e-7). */
export function normalTail(x: number): number {
  const t = 1 / (1 + 0.3275911 * (x / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * poly * Math.exp(-(x * x) / 2);
}

/** The |z| at which the normal tail equals `tail` (normalTail falls with |z|; bisection). */
function zAtTail(tail: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalTail(mid) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The cases PostgreSQL may decide itself (quiet, report): with a binomial variance of at least
 * NORMAL_ENOUGH, levelWithPhi takes the normal tail's word when it is under a thirtieth of the
 * test level (the test passes) or over 30 times it (it fails). CLEAR_Z and ORDINARY_Z are those
 * two points in |z|, each moved 0.01 inward-safe so that SQL's and Node's rounding of z cannot
 * disagree (test/trend-noise.test.ts); between them Node computes the exact tail.
 */
export const CLEAR_Z = zAtTail(Math.min(TEST_ALPHA, DOWN_TEST_ALPHA) / 30) + 0.01;
export const ORDINARY_Z = zAtTail(30 * Math.max(TEST_ALPHA, DOWN_TEST_ALPHA)) - 0.01;

/** recent daily rate / baseline daily rate - 1; null when there is no baseline. */
export function trendChange(w: TrendWindows): number | null {
  return trendChangeWith(w, DEFAULT_TREND_PARAMS);
}

function trendChangeWith(w: TrendWindows, k: TrendParams): number | null {
  if (!(w.baseline > 0)) return null;
  const bDays = Math.max(1, Math.min(k.baselineDays, w.ageDays - k.recentDays));
  return (w.recent / k.recentDays) / (w.baseline / bDays) - 1;
}

/** Did this account do at least MIN_BASELINE_PER_WEEK a week in its baseline (or go quiet after regular activity)? */
export function usedToBeActive(w: TrendWindows): boolean {
  return usedToBeActiveWith(w, DEFAULT_TREND_PARAMS);
}

/** usedToBeActive with explicit tunables (the bench sweeps them). */
export function usedToBeActiveWith(w: TrendWindows, k: TrendParams): boolean {
  if (w.ageDays < k.newBeforeDays) return false;
  return perWeekOf(w, k) >= k.minBaselinePerWeek || isGoneQuiet(w, k);
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

/**
 * Array.sort comparator for `quiet`, the digest and App Home (CONTRACT: biggest drop first):
 * biggest relative drop first, ties by biggest lost volume, then key; no change last. The z-score of
 * the verdict explains a trend (show's reason); it does not order lists.
 */
export function compareByDrop(
  a: { change: number | null; windows: TrendWindows; key?: string },
  b: { change: number | null; windows: TrendWindows; key?: string },
): number {
  const ca = a.change ?? Infinity;
  const cb = b.change ?? Infinity;
  if (Math.abs(ca - cb) > 1e-12 && ca !== cb) return ca < cb ? -1 : 1;
  const lost = lostVolume(b.windows) - lostVolume(a.windows);
  if (lost !== 0 || a.key === undefined || b.key === undefined) return lost;
  // Exact ties (the same windows) in key order, code point by code point: one order however the rows were read.
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Why the trend was called, in one line: "−46 % over the last 14 days; its weekly swing is usually ±12 %". */
export function explainTrend(v: Pick<TrendVerdict, 'trend' | 'change' | 'swing' | 'goneQuiet' | 'evidence'>): string {
  if (v.trend === 'new') return `first seen under ${NEW_BEFORE_DAYS} days ago: no baseline yet`;
  if (v.change === null) return `nothing in the ${BASELINE_DAYS} days before the last ${RECENT_DAYS}`;
  const sign = v.change < 0 ? '−' : '+';
  return `${sign}${Math.round(Math.abs(v.change) * 100)} %${trendReason(v)}`;
}

/**
 * What follows the change in `explainTrend`: " over the last 14 days; its weekly swing is usually
 * ±12 %", and for a fall called on another metric's evidence " over the last 14 days; key actions
 * thin, sessions −70 %; its weekly swing is usually ±40 %" (the swing is the asked metric's).
 */
export function trendReason(v: Pick<TrendVerdict, 'change' | 'swing' | 'goneQuiet' | 'evidence'>): string {
  if (v.change === null || v.swing === null || v.swing === undefined) return '';
  const quiet = v.goneQuiet ? ', gone quiet after regular activity' : '';
  return ` over the last ${RECENT_DAYS} days${quiet}${v.evidence ? `; ${evidenceText(v.evidence)}` : ''}; ${swingText(v.swing)}`;
}

const METRIC_NAMES: Record<Metric, string> = { key_actions: 'key actions', events: 'events', sessions: 'sessions', people: 'active people' };

/** The evidence a fall was called on, as the reason says it: "key actions thin, sessions −70 %". */
export function evidenceText(e: EvidenceReason): string {
  const sign = e.change < 0 ? '−' : '+';
  return `${e.asked ? `${METRIC_NAMES[e.asked]} thin, ` : 'too few to tell alone, '}${METRIC_NAMES[e.metric]} ${sign}${Math.round(Math.abs(e.change) * 100)} %`;
}

/** The account's usual swing, as the reason sentence says it: "its weekly swing is usually ±12 %". */
export function swingText(swing: number): string {
  return `its weekly swing is usually ±${Math.max(1, Math.round(swing * 100))} %`;
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
    `against the account's own week-to-week swing (measured on its baseline weeks, shrunk toward the book's usual swing at its volume) ` +
    `says it is not chance (p < ${DOWN_TEST_ALPHA * 100} % for a fall, ${TEST_ALPHA * 100} % for a rise), ` +
    `so a few events never make a trend and never a sharp one under ${SHARP_MIN_PER_WEEK} a week; a move the whole book makes (a holiday week) is discounted; ` +
    `when the metric is thin (under ${EVIDENCE_THIN_PER_WEEK} a week) and fell by ${pct(EVIDENCE_MIN_CHANGE)} or more, a fall the same test finds on sessions counts; ` +
    `companies first seen under ${NEW_BEFORE_DAYS} days ago are new. ` +
    `Quiet accounts are those down that did at least ${MIN_BASELINE_PER_WEEK} a week before, or that went silent for ${RECENT_DAYS} days ` +
    `after activity in every baseline week (${GONE_QUIET_ACTIVE_WEEKS} at least); the biggest drop comes first.`
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
