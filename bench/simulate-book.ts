/**
 * A simulated book of accounts with known truth, to measure the trend rule
 * (`npm run bench:trend`, test/trend-sim.test.ts). Pure and seeded: same seed, same book.
 *
 * Shape (day 0 is a Monday; weeks are 7 days; `now` is a day index, the window sums are
 * over complete days before it, as the database computes them):
 * - sizes: people ~ lognormal with median SIZE_MEDIAN (8) and sigma SIZE_SIGMA (1.2),
 *   rounded, 1 to 400: ~8 % one-person accounts, a quarter under 4, a quarter over 18,
 *   ~2 % over 100 (a B2B book: a long tail of big accounts, most accounts a team, not
 *   one person); each person does lognormal ~2.5 key actions a weekday; weekends x0.1-0.5
 *   (5 % of accounts are weekend-heavy, x1.5-3); 12 % are tiny accounts with 2-10 events
 *   a week in all;
 * - noise: a per-company, per-week gamma multiplier (a company-wide 3-12 % plus each
 *   person's 35 %) and daily counts that come in sessions: negative binomial with twice
 *   the Poisson variance (the burstiness the rule's COUNT_DISPERSION assumes);
 * - one holiday week (inside the measured quarter) when everyone is at x0.3;
 * - 15 % grow (x1.3-3 over the 26 weeks); 10 % fade to nothing over 4-8 weeks (curves
 *   from linear to convex, exponent 1-2.5: the heaviest users leave first);
 *   5 % dip once (1-2 weeks at x0.3-0.7) inside the measured quarter and recover;
 *   4 % start during the simulation (new accounts).
 */
import type { TrendWindows } from '../src/domain/types.js';
import {
  BASELINE_DAYS,
  DEFAULT_TREND_PARAMS,
  RECENT_DAYS,
  EVIDENCE_METRICS,
  fitNoisePrior,
  isFalling,
  perWeekOf,
  usedToBeActiveWith,
  verdictWithEvidence,
  type MetricEvidence,
  type NoisePrior,
  type TrendParams,
} from '../src/domain/trend.js';
import type { Metric } from '../src/domain/types.js';

export type SimKind = 'steady' | 'growing' | 'fading' | 'dip' | 'new';

/**
 * The family of books (issue 12): a. steady accounts (Poisson counts, no week-to-week swing,
 * no holiday); b. the book described above; c. a noisier book (each person swings ~50 % a
 * week, the company as a whole up to 20 %); d. book b with a product-wide dip of two weeks at
 * x0.4 (a holiday season or an outage) instead of its one holiday week; e. a realistic small-B2B
 * year: 1 to 30 people (median 6), each active on about one weekday in five with a session of
 * 3 to 15 events, a fifth of them key actions (about 2 to 30 key actions a week an account),
 * and its fading accounts fall to a fifth over 3 weeks and stay there.
 */
export type BookKind = 'a' | 'b' | 'c' | 'd' | 'e';
export const BOOK_KINDS: readonly BookKind[] = ['a', 'b', 'c', 'd', 'e'];
export const BOOK_NAMES: Record<BookKind, string> = {
  a: 'a. steady (Poisson, no swing)',
  b: 'b. today\'s book',
  c: 'c. noisy (50 % per person, up to 20 % company-wide)',
  d: 'd. b with a 2-week product-wide dip (x0.4)',
  e: 'e. realistic small B2B (1-30 people, ~2-30 key actions a week)',
};

export interface SimCompany {
  id: number;
  kind: SimKind;
  tiny: boolean;
  people: number;
  /** Key actions per day (the metric the rule is asked about), index = day. */
  daily: number[];
  /**
   * The other metrics per day, driven by the same activity (issue 12, point 4: their evidence
   * counts when key actions are thin): events (every tracked event, key actions included) and
   * sessions. Books a-d: around each day's expected key actions, EVENTS_PER_KEY_ACTION times as
   * many events and SESSIONS_PER_KEY_ACTION sessions, with the same weekly swing, holiday, fade
   * and dip (their own day-to-day noise drawn from a second generator, so the key actions stay
   * those of the book before). Book e: each active person-day is one session of 3 to 15 events.
   */
  events: number[];
  sessions: number[];
  /** Fading: first day of the fade and the day the expected activity reaches zero. */
  fadeStart?: number;
  zeroDay?: number;
  /**
   * Fading: the day the activity actually reached zero (the day after its last event;
   * never after zeroDay). Lead time is measured to this day: an account whose last few
   * events trickle out before the curve's end is already gone.
   */
  silentFrom?: number;
  /** Fading: the curve's exponent (1 linear, 2 convex: the heaviest users leave first). */
  fadeShape?: number;
  /** Fading: the share of activity left after the fade (0: to nothing; book e: a fifth). */
  fadeFloor?: number;
  /** Dip: first day and the day after the last day of the dip. */
  dipStart?: number;
  dipEnd?: number;
  /** New: first day the company exists. */
  startDay?: number;
  /**
   * What the simulation knows and no rule can: each metric's expected count and variance per
   * day had the account neither faded nor dipped and without its weekly swing, and the
   * swing's coefficient of variation (bench/trend-oracle.ts tests against it). Computed from
   * the same parameters, with no random draw of its own: the books are those of before.
   */
  truth: SimTruth;
}

/** Per metric (key actions, events, sessions): expected count and variance per day. */
export interface SimTruth {
  mean: Record<TruthMetric, Float64Array>;
  variance: Record<TruthMetric, Float64Array>;
  /** The weekly swing: coefficient of variation of the multiplier drawn each week (by calendar week, d % 7 = 0). */
  cv: number;
}
export type TruthMetric = 'key_actions' | 'events' | 'sessions';
export const TRUTH_METRICS: readonly TruthMetric[] = ['key_actions', 'events', 'sessions'];

function emptyTruth(days: number, cv: number): SimTruth {
  const arrays = () => ({ key_actions: new Float64Array(days), events: new Float64Array(days), sessions: new Float64Array(days) });
  return { mean: arrays(), variance: arrays(), cv };
}

export interface SimBook {
  kind: BookKind;
  seed: number;
  days: number;
  holidayStart: number;
  companies: SimCompany[];
}

export interface SimOptions {
  companies: number;
  weeks?: number;
  seed: number;
  /** Fade lengths in whole weeks, shortest and longest (default 4 to 8, the issue's; book e: 3). */
  fadeWeeks?: [number, number];
  /** Which book of the family (default b). */
  book?: BookKind;
}

/** mulberry32: a small, fast, seeded PRNG returning [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  let u = 0;
  while (u === 0) u = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Poisson sample: Knuth for small means, a rounded normal for large ones. */
export function poisson(rand: () => number, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean < 30) {
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    for (;;) {
      p *= rand();
      if (p <= l) return k;
      k++;
    }
  }
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(rand)));
}

/** Gamma(shape, scale 1) sample (Marsaglia-Tsang). */
export function gamma(rand: () => number, shape: number): number {
  if (shape < 1) return gamma(rand, shape + 1) * Math.pow(rand(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Accounts' sizes (people): lognormal, this median and log-sd, 1 to SIZE_MAX. */
export const SIZE_MEDIAN = 8;
export const SIZE_SIGMA = 1.2;
export const SIZE_MAX = 400;
/** Variance of a day's count over its mean (events come in sessions). */
export const BURST_DISPERSION = 2;

/** Books a-d: events a day per expected key action (key actions included). */
export const EVENTS_PER_KEY_ACTION = 5;
/** Books a-d: the events other than key actions come in sessions: variance this x their mean (book a: Poisson). */
export const EVENTS_DISPERSION = 3;
/** Books a-d: sessions a day per expected key action (Poisson: one per active person-day, roughly). */
export const SESSIONS_PER_KEY_ACTION = 0.4;

/** A day's count: negative binomial, mean `mean`, variance `dispersion` x mean. */
export function burstyCount(rand: () => number, mean: number, dispersion = BURST_DISPERSION): number {
  if (!(mean > 0)) return 0;
  if (dispersion <= 1) return poisson(rand, mean);
  // Gamma-Poisson: shape k gives variance mean + mean^2 / k = dispersion x mean.
  const k = mean / (dispersion - 1);
  return poisson(rand, (gamma(rand, k) / k) * mean);
}

/**
 * The first evaluated `now` (week 14: a full 14 + 84-day history). The simulation's own
 * constants, deliberately not the rule's: changing RECENT_DAYS or BASELINE_DAYS must not
 * move the fades, dips or holiday (the truth), only the rule being measured.
 */
export const FIRST_EVAL_DAY = 98;
/** Days before the quarter's first week end that its windows can see (dips start after this). */
const QUARTER_LOOKBACK = 14;
/** The measured quarter: this many consecutive week ends, the last ones of the simulation. */
export const QUARTER_WEEKS = 13;

export function simulateBook(opts: SimOptions): SimBook {
  const kind = opts.book ?? 'b';
  if (kind === 'e') return simulateSmallB2B(opts);
  const weeks = opts.weeks ?? 26;
  const days = weeks * 7;
  const rand = mulberry32(opts.seed);
  const [fadeMin, fadeMax] = opts.fadeWeeks ?? [4, 8];
  if (!(fadeMin >= 1 && fadeMax >= fadeMin && FIRST_EVAL_DAY + 7 + 7 * fadeMax < days)) {
    throw new Error(`fades of ${fadeMin}-${fadeMax} weeks do not fit in ${weeks} weeks after the first evaluated week`);
  }
  const quarterStart = days - (QUARTER_WEEKS - 1) * 7 - QUARTER_LOOKBACK; // 14 days before the quarter's first week end
  const holidayStart = 7 * (Math.ceil(quarterStart / 7) + 1 + Math.floor(rand() * 6));
  // The book's own noise and product-wide move.
  const dispersion = kind === 'a' ? 1 : BURST_DISPERSION;
  const holidayDays = kind === 'a' ? 0 : kind === 'd' ? 14 : 7;
  const holidayDepth = kind === 'd' ? 0.4 : 0.3;
  const companies: SimCompany[] = [];
  // The other metrics' own noise: a second generator, so the key actions are those of the book before.
  const rand2 = mulberry32(opts.seed * 104729 + 3);
  for (let id = 0; id < opts.companies; id++) {
    const tiny = rand() < 0.12;
    const u = rand();
    let kind_: SimKind = 'steady';
    if (u < 0.1) kind_ = 'fading';
    else if (u < 0.15) kind_ = 'dip';
    else if (u < 0.3) kind_ = 'growing';
    else if (u < 0.34) kind_ = 'new';
    const people = tiny
      ? 1 + Math.floor(rand() * 2)
      : Math.min(SIZE_MAX, Math.max(1, Math.round(SIZE_MEDIAN * Math.exp(SIZE_SIGMA * normal(rand)))));
    // Weekday daily rate of the whole account.
    const weekdayRate = tiny
      ? (2 + rand() * 8) / (5 + 2 * 0.3)
      : people * 3.75 * Math.exp(0.6 * normal(rand) - 0.18);
    const weekend = rand() < 0.05 ? 1.5 + rand() * 1.5 : 0.1 + rand() * 0.4;
    // Week-to-week swing: a company-wide part plus each person's own swings, which average out
    // in a large account (a one-person account swings ~35 %, a hundred-person one ~8 %).
    const companyCv = rand();
    const cv =
      kind === 'a' ? 0 : kind === 'c' ? Math.sqrt((companyCv * 0.2) ** 2 + 0.5 ** 2 / people) : Math.sqrt((0.03 + companyCv * 0.09) ** 2 + 0.35 ** 2 / people);
    const shape = cv > 0 ? 1 / (cv * cv) : Infinity;
    const growth = kind_ === 'growing' ? 1.3 + rand() * 1.7 : 1;
    const c: SimCompany = {
      id,
      kind: kind_,
      tiny,
      people,
      daily: new Array(days).fill(0),
      events: new Array(days).fill(0),
      sessions: new Array(days).fill(0),
      truth: emptyTruth(days, Number.isFinite(shape) ? cv : 0),
    };
    if (kind_ === 'fading') {
      const len = 7 * (fadeMin + Math.floor(rand() * (fadeMax - fadeMin + 1)));
      const lo = FIRST_EVAL_DAY + 7;
      c.fadeStart = lo + Math.floor(rand() * (days - len - lo));
      c.zeroDay = c.fadeStart + len;
      c.fadeShape = 1 + rand() * 1.5;
    } else if (kind_ === 'dip') {
      const len = 7 * (1 + Math.floor(rand() * 2));
      c.dipStart = quarterStart + Math.floor(rand() * (days - len - quarterStart - 7));
      c.dipEnd = c.dipStart + len;
    } else if (kind_ === 'new') {
      c.startDay = 30 + Math.floor(rand() * (days - 60));
    }
    const dipDepth = 0.3 + rand() * 0.4;
    let weekMult = 1;
    for (let d = 0; d < days; d++) {
      if (d % 7 === 0) weekMult = Number.isFinite(shape) ? gamma(rand, shape) / shape : 1;
      let mean = weekdayRate * (d % 7 >= 5 ? weekend : 1) * weekMult;
      mean *= Math.pow(growth, d / days);
      if (d >= holidayStart && d < holidayStart + holidayDays) mean *= holidayDepth;
      if (c.fadeStart !== undefined && c.zeroDay !== undefined && d >= c.fadeStart) {
        mean *= Math.pow(Math.max(0, 1 - (d - c.fadeStart + 0.5) / (c.zeroDay - c.fadeStart)), c.fadeShape!);
      }
      if (c.dipStart !== undefined && d >= c.dipStart && d < c.dipEnd!) mean *= dipDepth;
      if (c.startDay !== undefined && d < c.startDay) mean = 0;
      // The truth: the same mean without the weekly swing, the fade and the dip.
      const m0 = c.startDay !== undefined && d < c.startDay ? 0 : weekdayRate * (d % 7 >= 5 ? weekend : 1) * Math.pow(growth, d / days) * (d >= holidayStart && d < holidayStart + holidayDays ? holidayDepth : 1);
      c.truth.mean.key_actions[d] = m0;
      c.truth.variance.key_actions[d] = dispersion * m0;
      c.truth.mean.events[d] = EVENTS_PER_KEY_ACTION * m0;
      c.truth.variance.events[d] = dispersion * m0 + (kind === 'a' ? 1 : EVENTS_DISPERSION) * (EVENTS_PER_KEY_ACTION - 1) * m0;
      c.truth.mean.sessions[d] = SESSIONS_PER_KEY_ACTION * m0;
      c.truth.variance.sessions[d] = SESSIONS_PER_KEY_ACTION * m0;
      c.daily[d] = burstyCount(rand, mean, dispersion);
      c.events[d] = c.daily[d] + burstyCount(rand2, mean * (EVENTS_PER_KEY_ACTION - 1), kind === 'a' ? 1 : EVENTS_DISPERSION);
      c.sessions[d] = poisson(rand2, mean * SESSIONS_PER_KEY_ACTION);
    }
    if (c.zeroDay !== undefined) {
      let last = c.zeroDay - 1;
      while (last >= 0 && c.daily[last] === 0) last--;
      c.silentFrom = last + 1;
    }
    companies.push(c);
  }
  return { kind, seed: opts.seed, days, holidayStart, companies };
}

/** Binomial(n, p) by counting (n is small here). */
function binomial(rand: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rand() < p) k++;
  return k;
}

/** Fading accounts of book e keep this share of their activity after their 3-week fall. */
export const SMALL_B2B_FADE_FLOOR = 0.2;
/** Book e: a fading account counts as caught when flagged by this many days after its fall ends. */
export const SMALL_B2B_CATCH_DAYS = 14;

/**
 * Book e, the realistic small-B2B year of issue 12 (point 4): daily key actions of each
 * account summed over its people, each active on a weekday with probability ~0.2 (0.02 on
 * weekends) in one session of 3 to 15 events, each event a key action with probability 0.2;
 * a company-wide 10 % weekly swing; one holiday week at x0.3. Fading accounts fall linearly to
 * a fifth over 3 weeks and stay there; for scoring, their activity "reaches zero" (silentFrom)
 * SMALL_B2B_CATCH_DAYS after the fall ends: a flag later than that is too late.
 */
function simulateSmallB2B(opts: SimOptions): SimBook {
  const weeks = opts.weeks ?? 26;
  const days = weeks * 7;
  const rand = mulberry32(opts.seed * 7919 + 17);
  const quarterStart = days - (QUARTER_WEEKS - 1) * 7 - QUARTER_LOOKBACK;
  const holidayStart = 7 * (Math.ceil(quarterStart / 7) + 1 + Math.floor(rand() * 6));
  const companies: SimCompany[] = [];
  const fadeLen = 21;
  for (let id = 0; id < opts.companies; id++) {
    const u = rand();
    let kind: SimKind = 'steady';
    if (u < 0.1) kind = 'fading';
    else if (u < 0.15) kind = 'dip';
    else if (u < 0.3) kind = 'growing';
    else if (u < 0.34) kind = 'new';
    const people = Math.min(30, Math.max(1, Math.round(6 * Math.exp(0.8 * normal(rand)))));
    const propensity = Array.from({ length: people }, () => Math.min(0.6, 0.2 * Math.exp(0.4 * normal(rand) - 0.08)));
    const growth = kind === 'growing' ? 1.3 + rand() * 1.7 : 1;
    const c: SimCompany = {
      id,
      kind,
      tiny: false,
      people,
      daily: new Array(days).fill(0),
      events: new Array(days).fill(0),
      sessions: new Array(days).fill(0),
      truth: emptyTruth(days, 0.1),
    };
    if (kind === 'fading') {
      const lo = FIRST_EVAL_DAY + 7;
      c.fadeStart = lo + Math.floor(rand() * (days - fadeLen - SMALL_B2B_CATCH_DAYS - lo));
      c.zeroDay = c.fadeStart + fadeLen;
      c.fadeShape = 1;
      c.fadeFloor = SMALL_B2B_FADE_FLOOR;
      c.silentFrom = c.zeroDay + SMALL_B2B_CATCH_DAYS;
    } else if (kind === 'dip') {
      const len = 7 * (1 + Math.floor(rand() * 2));
      c.dipStart = quarterStart + Math.floor(rand() * (days - len - quarterStart - 7));
      c.dipEnd = c.dipStart + len;
    } else if (kind === 'new') {
      c.startDay = 30 + Math.floor(rand() * (days - 60));
    }
    const dipDepth = 0.3 + rand() * 0.4;
    let weekMult = 1;
    for (let d = 0; d < days; d++) {
      if (d % 7 === 0) weekMult = gamma(rand, 100) / 100; // 10 % company-wide swing
      let mult = weekMult * Math.pow(growth, d / days);
      if (d >= holidayStart && d < holidayStart + 7) mult *= 0.3;
      if (c.fadeStart !== undefined && d >= c.fadeStart) {
        mult *= Math.max(SMALL_B2B_FADE_FLOOR, 1 - ((1 - SMALL_B2B_FADE_FLOOR) * (d - c.fadeStart + 0.5)) / fadeLen);
      }
      if (c.dipStart !== undefined && d >= c.dipStart && d < c.dipEnd!) mult *= dipDepth;
      if (c.startDay !== undefined && d < c.startDay) mult = 0;
      const weekend = d % 7 >= 5;
      // The truth: each person-day a session with probability p (no swing, fade or dip); a
      // session holds n ~ U{3..15} events (mean 9, E[n^2] 95), each a key action with
      // probability 0.2 (mean 1.8, E[X^2] 5.24).
      const m0 = (c.startDay !== undefined && d < c.startDay ? 0 : 1) * Math.pow(growth, d / days) * (d >= holidayStart && d < holidayStart + 7 ? 0.3 : 1);
      for (const q of propensity) {
        const pd = Math.min(1, (weekend ? 0.1 : 1) * q * m0);
        c.truth.mean.sessions[d] += pd;
        c.truth.variance.sessions[d] += pd * (1 - pd);
        c.truth.mean.events[d] += 9 * pd;
        c.truth.variance.events[d] += 95 * pd - 81 * pd * pd;
        c.truth.mean.key_actions[d] += 1.8 * pd;
        c.truth.variance.key_actions[d] += 5.24 * pd - 3.24 * pd * pd;
      }
      let count = 0;
      let events = 0;
      let sessions = 0;
      for (const q of propensity) {
        if (rand() < Math.min(1, (weekend ? 0.1 : 1) * q * mult)) {
          const n = 3 + Math.floor(rand() * 13);
          count += binomial(rand, n, 0.2);
          events += n;
          sessions++;
        }
      }
      c.daily[d] = count;
      c.events[d] = events;
      c.sessions[d] = sessions;
    }
    companies.push(c);
  }
  return { kind: 'e', seed: opts.seed, days, holidayStart, companies };
}

/** Prefix sums for fast window sums. */
export function prefix(daily: number[]): number[] {
  const p = new Array(daily.length + 1);
  p[0] = 0;
  for (let i = 0; i < daily.length; i++) p[i + 1] = p[i] + daily[i];
  return p;
}

/** Sum over days [from, to) (clamped to the data). */
export function sumRange(p: number[], from: number, to: number): number {
  const a = Math.max(0, Math.min(p.length - 1, from));
  const b = Math.max(0, Math.min(p.length - 1, to));
  return b > a ? p[b] - p[a] : 0;
}

/** The trend windows of a company as the database would compute them at `now`, with its baseline weeks. */
export function windowsAt(
  p: number[],
  firstDay: number,
  now: number,
  R: number = RECENT_DAYS,
  B: number = BASELINE_DAYS,
): TrendWindows {
  const ageDays = firstDay < 0 || firstDay >= now ? 0 : now - firstDay;
  return {
    recent: sumRange(p, now - R, now),
    baseline: sumRange(p, now - R - B, now - R),
    ageDays,
    weeks: baselineWeeks(p, ageDays, now, R, B),
  };
}

/** The 7-day weeks of the baseline the company had (as many whole weeks as fit), oldest first. */
export function baselineWeeks(p: number[], ageDays: number, now: number, R: number = RECENT_DAYS, B: number = BASELINE_DAYS): number[] {
  const bDays = Math.max(0, Math.min(B, ageDays - R));
  const n = Math.floor(bDays / 7);
  const end = now - R;
  return Array.from({ length: n }, (_, i) => sumRange(p, end - 7 * (n - i), end - 7 * (n - i - 1)));
}

/**
 * A warning rule: does it flag this company at `now`? `p` and `total` are prefix sums of the
 * company's and the whole book's daily counts (only days before `now` may be read); `prior`
 * is the book's typical noise at `now` (fitted on every company's baseline weeks, as the
 * product fits it on a sample of the book).
 */
export type FlagRule = (ctx: {
  p: number[];
  firstDay: number;
  now: number;
  market: MarketOf;
  total: number[];
  prior: (R: number, B: number) => NoisePrior | null;
  /** The account itself: only an oracle (bench/trend-oracle.ts) reads it, for what no rule can know. */
  company?: SimCompany;
  /** The other metrics (events, sessions), the same for each: prefix sums, the book's sums and noise. */
  others?: Partial<Record<Metric, { p: number[]; market: MarketOf; prior: (R: number, B: number) => NoisePrior | null }>>;
}) => boolean;
/** The book's window sums at `now` for given window lengths. */
export type MarketOf = (R: number, B: number) => { recent: number; baseline: number };

/** The product's rule: `quiet` lists a company when its trend is falling and it used to be active. */
export function trendRule(k: TrendParams = DEFAULT_TREND_PARAMS): FlagRule {
  return ({ p, firstDay, now, market, prior, others }) => {
    const R = k.recentDays;
    const B = k.baselineDays;
    const w = windowsAt(p, firstDay, now, R, B);
    if (k.ownWeight === 0) delete w.weeks; // the rule before issue 12 read no weeks
    if (!usedToBeActiveWith(w, k)) return false;
    // The evidence of the other metrics (issue 12, point 4), read only where it may count.
    const evidence: MetricEvidence[] = [];
    if (k.evidenceThinPerWeek > 0 && others) {
      for (const metric of EVIDENCE_METRICS) {
        const o = others[metric];
        if (o) evidence.push({ metric, windows: windowsAt(o.p, firstDay, now, R, B), market: o.market(R, B), prior: o.prior(R, B) });
      }
    }
    return isFalling(verdictWithEvidence(w, market(R, B), k, k.ownWeight === 0 ? null : prior(R, B), evidence).trend);
  };
}
export const productRule: FlagRule = trendRule();

/**
 * The rule before issue 12, for comparison: one assumed noise for every account (counts
 * twice as bursty as Poisson plus a 20 % weekly swing), no own swing, no book prior, and
 * `quiet` only above 50 a week; sharp whatever the size; no "gone quiet" by weeks.
 */
export const TODAY_TREND_PARAMS: TrendParams = {
  ...DEFAULT_TREND_PARAMS,
  minBaselinePerWeek: 50,
  downAlpha: 0.01,
  ownWeight: 0,
  sharpMinPerWeek: 0,
  goneQuietWeeks: Infinity,
  evidenceThinPerWeek: 0,
};
export const todayRule: FlagRule = trendRule(TODAY_TREND_PARAMS);
/** Issue 12's rule without the other metrics' evidence (point 4): the product before it. */
export const NO_EVIDENCE_PARAMS: TrendParams = { ...DEFAULT_TREND_PARAMS, evidenceThinPerWeek: 0 };
export const noEvidenceRule: FlagRule = trendRule(NO_EVIDENCE_PARAMS);

/** Naive: last 7 complete days at least `drop` below the 7 before (0.3 = -30 %). */
export function weekOverWeek(drop: number): FlagRule {
  return ({ p, now }) => {
    const last = sumRange(p, now - 7, now);
    const prev = sumRange(p, now - 14, now - 7);
    return prev > 0 && last / prev - 1 <= -drop;
  };
}
export const weekOverWeekRule: FlagRule = weekOverWeek(0.3);

/** Naive: no activity in the last `days` complete days (after having had some). */
export function silentFor(days: number): FlagRule {
  return ({ p, firstDay, now }) => firstDay >= 0 && firstDay < now - days && sumRange(p, now - days, now) === 0;
}
export const silent30Rule: FlagRule = silentFor(30);

/**
 * The naive rules' families, loosest first, for the fair comparison: each tightened until
 * its false alarms are at most the product's budget (5 %) on every seed.
 */
export const NAIVE_FAMILIES: Record<string, { label: (x: number) => string; rule: (x: number) => FlagRule; steps: number[] }> = {
  'week-over-week': {
    label: (x) => `week-over-week <= -${Math.round(x * 100)} %`,
    rule: weekOverWeek,
    steps: [0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1],
  },
  'no activity': {
    label: (x) => `no activity for ${x} days`,
    rule: silentFor,
    steps: [3, 4, 5, 6, 7, 10, 14, 21, 30],
  },
};

/** Size bands of recall: the metric a week in the baseline before the fade. */
export const SIZE_BANDS = ['< 20', '20-50', '> 50'] as const;
export type SizeBand = (typeof SIZE_BANDS)[number];
export const sizeBand = (perWeek: number): SizeBand => (perWeek < 20 ? '< 20' : perWeek <= 50 ? '20-50' : '> 50');

export interface RuleScore {
  /** Fading accounts that used to be active before the fade (the recall denominator). */
  fadingEligible: number;
  /** Fading accounts left out because their baseline was under the gate's minimum. */
  fadingExcluded: number;
  /** Share of eligible faders flagged after the fade began and before activity reached zero. */
  recall: number;
  /** Recall by size band (share; NaN-free: 0 when the band is empty) and the band's count. */
  recallBand: Record<SizeBand, number>;
  fadingBand: Record<SizeBand, number>;
  /** Share of eligible faders flagged by the first week end at least 14 days into the fade (2-3 weeks in). */
  recall2to3: number;
  /** Median weeks between first flag and zero, over eligible faders (missed ones count 0). */
  medianLeadWeeks: number;
  /** Median lead (missed = 0) measured to the curve's zero (zeroDay) instead of the last event. */
  medianLeadToCurveZero: number;
  /** Median lead over the flagged faders only. */
  medianLeadFlagged: number;
  /** Median lead (missed = 0) over the near-linear fades only (shape < 1.5). */
  medianLeadLinear: number;
  /** Non-fading accounts that were active (used to be active) at some week of the quarter. */
  othersEligible: number;
  /** Share of those flagged at any week of the quarter. */
  falseAlarms: number;
  /** The same, split: dip-and-recover accounts and the rest. */
  falseAlarmsDip: number;
  dipEligible: number;
  falseAlarmsRest: number;
  restEligible: number;
  /** Of the (company, week end) flags in the quarter, the share on an account in its fade. */
  precision: number;
  /** False alarms by size band (the metric a week in the baseline at the first eligible week end). */
  falseAlarmsBand: Record<SizeBand, number>;
  othersBand: Record<SizeBand, number>;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The book's typical noise at `now`, fitted on every company's baseline weeks (cached per book). */
function priorOf(book: SimBook, prefixes: number[][], firstDays: number[]) {
  const cache = new Map<string, NoisePrior | null>();
  return (now: number, R: number, B: number): NoisePrior | null => {
    const key = `${now}/${R}/${B}`;
    if (!cache.has(key)) {
      const weeks = book.companies.map((_, i) => {
        const age = firstDays[i] < 0 || firstDays[i] >= now ? 0 : now - firstDays[i];
        return baselineWeeks(prefixes[i], age, now, R, B);
      });
      cache.set(key, fitNoisePrior(weeks, B / 7));
    }
    return cache.get(key)!;
  };
}

/** Evaluate rules at every week end of the book. */
export function scoreRules(
  book: SimBook,
  rules: Record<string, FlagRule>,
  gate: TrendParams = DEFAULT_TREND_PARAMS,
): Record<string, RuleScore> {
  const evalDays: number[] = [];
  for (let now = FIRST_EVAL_DAY; now <= book.days; now += 7) evalDays.push(now);
  const quarter = evalDays.slice(-QUARTER_WEEKS);
  const prefixes = book.companies.map((c) => prefix(c.daily));
  // First activity: the first event of any kind (the product's first_seen), key actions or not.
  const firstDays = book.companies.map((c) => c.events.findIndex((x) => x > 0));
  // The market: the same sums over the whole book, as the database gives them.
  const total = prefix(book.companies[0].daily.map((_, d) => book.companies.reduce((s, c) => s + c.daily[d], 0)));
  const marketAt =
    (now: number): MarketOf =>
    (R, B) => {
      const w = windowsAt(total, 0, now, R, B);
      return { recent: w.recent, baseline: w.baseline };
    };
  const prior = priorOf(book, prefixes, firstDays);
  // The other metrics, the same way.
  const otherOf = (series: (c: SimCompany) => number[]) => {
    const ps = book.companies.map((c) => prefix(series(c)));
    const tot = prefix(book.companies[0].daily.map((_, d) => book.companies.reduce((s, c) => s + series(c)[d], 0)));
    const pr = priorOf(book, ps, firstDays);
    return { ps, marketAt: (now: number): MarketOf => (R, B) => { const w = windowsAt(tot, 0, now, R, B); return { recent: w.recent, baseline: w.baseline }; }, pr };
  };
  const ev = otherOf((c) => c.events);
  const se = otherOf((c) => c.sessions);
  const active = (p: number[], firstDay: number, now: number) =>
    usedToBeActiveWith(windowsAt(p, firstDay, now, gate.recentDays, gate.baselineDays), gate);
  const out: Record<string, RuleScore> = {};
  for (const [name, rule] of Object.entries(rules)) {
    const leads: number[] = [];
    const curveLeads: number[] = [];
    let fadingEligible = 0;
    let fadingExcluded = 0;
    let caught = 0;
    let caught23 = 0;
    const bandN: Record<SizeBand, number> = { '< 20': 0, '20-50': 0, '> 50': 0 };
    const bandCaught: Record<SizeBand, number> = { '< 20': 0, '20-50': 0, '> 50': 0 };
    const flaggedLeads: number[] = [];
    const linearLeads: number[] = [];
    let dipEligible = 0;
    let dipFlagged = 0;
    let restEligible = 0;
    let restFlagged = 0;
    let truePos = 0;
    let allPos = 0;
    const faN: Record<SizeBand, number> = { '< 20': 0, '20-50': 0, '> 50': 0 };
    const faF: Record<SizeBand, number> = { '< 20': 0, '20-50': 0, '> 50': 0 };
    book.companies.forEach((c, i) => {
      const p = prefixes[i];
      const firstDay = firstDays[i];
      const flag = (now: number) =>
        rule({
          company: c,
          p,
          firstDay,
          now,
          market: marketAt(now),
          total,
          prior: (R, B) => prior(now, R, B),
          others: {
            events: { p: ev.ps[i], market: ev.marketAt(now), prior: (R, B) => ev.pr(now, R, B) },
            sessions: { p: se.ps[i], market: se.marketAt(now), prior: (R, B) => se.pr(now, R, B) },
          },
        });
      if (c.kind === 'fading') {
        // Precision: its flags in the quarter count as true once the fade has begun.
        for (const now of quarter) {
          if (!active(p, firstDay, now) && !(now > c.fadeStart!)) continue;
          if (flag(now)) {
            allPos++;
            if (now > c.fadeStart!) truePos++;
          }
        }
        if (!fadeEligible(c, p, firstDay, gate)) {
          fadingExcluded++;
          return;
        }
        fadingEligible++;
        const band = sizeBand(fadeBaselinePerWeek(c, p, firstDay, gate));
        bandN[band]++;
        const first = evalDays.find((now) => now > c.fadeStart! && now < c.silentFrom! && flag(now));
        if (first !== undefined) {
          caught++;
          bandCaught[band]++;
          if (first <= weekEndFrom(c.fadeStart! + 14)) caught23++;
          const lead = (c.silentFrom! - first) / 7;
          leads.push(lead);
          curveLeads.push((c.zeroDay! - first) / 7);
          flaggedLeads.push(lead);
          if (c.fadeShape! < 1.5) linearLeads.push(lead);
        } else {
          leads.push(0);
          curveLeads.push(0);
          if (c.fadeShape! < 1.5) linearLeads.push(0);
        }
        return;
      }
      const eligibleAt = quarter.filter((now) => active(p, firstDay, now));
      if (eligibleAt.length === 0) return;
      let flagged = false;
      for (const now of eligibleAt) {
        if (flag(now)) {
          flagged = true;
          allPos++;
        }
      }
      const oband = sizeBand(perWeekOf(windowsAt(p, firstDay, eligibleAt[0], gate.recentDays, gate.baselineDays), gate));
      faN[oband]++;
      if (flagged) faF[oband]++;
      if (c.kind === 'dip') {
        dipEligible++;
        if (flagged) dipFlagged++;
      } else {
        restEligible++;
        if (flagged) restFlagged++;
      }
    });
    const othersEligible = dipEligible + restEligible;
    const share = (x: number, n: number) => (n ? x / n : 0);
    out[name] = {
      fadingEligible,
      fadingExcluded,
      recall: share(caught, fadingEligible),
      recallBand: { '< 20': share(bandCaught['< 20'], bandN['< 20']), '20-50': share(bandCaught['20-50'], bandN['20-50']), '> 50': share(bandCaught['> 50'], bandN['> 50']) },
      fadingBand: bandN,
      recall2to3: share(caught23, fadingEligible),
      medianLeadWeeks: median(leads),
      medianLeadToCurveZero: median(curveLeads),
      medianLeadFlagged: median(flaggedLeads),
      medianLeadLinear: median(linearLeads),
      othersEligible,
      falseAlarms: share(dipFlagged + restFlagged, othersEligible),
      falseAlarmsDip: share(dipFlagged, dipEligible),
      dipEligible,
      falseAlarmsRest: share(restFlagged, restEligible),
      restEligible,
      precision: allPos ? truePos / allPos : 1,
      falseAlarmsBand: { '< 20': share(faF['< 20'], faN['< 20']), '20-50': share(faF['20-50'], faN['20-50']), '> 50': share(faF['> 50'], faN['> 50']) },
      othersBand: faN,
    };
  }
  return out;
}

/** The metric a week in the baseline, as of the week end before the fade began. */
function fadeBaselinePerWeek(c: SimCompany, p: number[], firstDay: number, gate: TrendParams): number {
  const before = Math.floor(c.fadeStart! / 7) * 7;
  return perWeekOf(windowsAt(p, firstDay, before, gate.recentDays, gate.baselineDays), gate);
}

/**
 * Is this fading account scored for recall: did it do the product's minimum a week in its
 * baseline as of the week end before its fade began? (`quiet` never lists one below it.)
 */
function fadeEligible(c: SimCompany, p: number[], firstDay: number, gate: TrendParams): boolean {
  const before = Math.floor(c.fadeStart! / 7) * 7;
  return usedToBeActiveWith(windowsAt(p, firstDay, before, gate.recentDays, gate.baselineDays), gate);
}

/** The fading accounts that recall is scored on (see fadeEligible). */
export function eligibleFades(book: SimBook, gate: TrendParams = DEFAULT_TREND_PARAMS): SimCompany[] {
  return book.companies.filter(
    (c) => c.kind === 'fading' && fadeEligible(c, prefix(c.daily), c.events.findIndex((x) => x > 0), gate),
  );
}

/** The first week end (evaluated day) at or after `day`. */
const weekEndFrom = (day: number) => Math.max(FIRST_EVAL_DAY, Math.ceil(day / 7) * 7);

/**
 * The best median lead any rule can have if it needs `afterDays` of a fade to see it: every
 * eligible fading account flagged at the first week end at least `afterDays` after its fade
 * began (if that is before its activity reached zero). Weeks to zero, missed = 0, as in
 * scoreRules. A rule is told nothing of the fade's start, so it can only do worse.
 */
export function leadIfFlaggedAfter(book: SimBook, afterDays: number, gate: TrendParams = DEFAULT_TREND_PARAMS): number {
  return median(
    eligibleFades(book, gate).map((c) => {
      const at = weekEndFrom(c.fadeStart! + afterDays);
      return at < c.silentFrom! ? (c.silentFrom! - at) / 7 : 0;
    }),
  );
}

/** The expected share of a fading account's activity its fade removed from the `days` days before `now`. */
export function fadeLoss(c: SimCompany, now: number, days: number): number {
  const len = c.zeroDay! - c.fadeStart!;
  let kept = 0;
  for (let d = now - days; d < now; d++) {
    kept += d < c.fadeStart! ? 1 : Math.pow(Math.max(0, 1 - (d - c.fadeStart! + 0.5) / len), c.fadeShape!);
  }
  return 1 - kept / days;
}

export interface FadeEvidence {
  /** Median expected loss of the last 7 / 14 days, at the first week end >= afterDays into the fade. */
  loss7: number;
  loss14: number;
  /**
   * The ordinary swing it must stand out from: median coefficient of variation of weekly
   * (and two-week) totals of the steady accounts above the minimum, over weeks 1-11
   * (before the holiday).
   */
  weeklyCv: number;
  fortnightCv: number;
}

export function fadeEvidence(book: SimBook, afterDays: number, gate: TrendParams = DEFAULT_TREND_PARAMS): FadeEvidence {
  const fades = eligibleFades(book, gate);
  const at = (c: SimCompany) => weekEndFrom(c.fadeStart! + afterDays);
  const cv = (xs: number[]) => {
    const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - mu) ** 2, 0) / (xs.length - 1)) / mu;
  };
  const weekly: number[] = [];
  const fortnightly: number[] = [];
  for (const c of book.companies) {
    if (c.kind !== 'steady') continue;
    const weeks = Array.from({ length: 11 }, (_, i) => c.daily.slice(7 * (i + 1), 7 * (i + 2)).reduce((a, b) => a + b, 0));
    if (weeks.reduce((a, b) => a + b, 0) / weeks.length < gate.minBaselinePerWeek) continue;
    weekly.push(cv(weeks));
    fortnightly.push(cv(Array.from({ length: 5 }, (_, i) => weeks[2 * i] + weeks[2 * i + 1])));
  }
  return {
    loss7: median(fades.map((c) => fadeLoss(c, at(c), 7))),
    loss14: median(fades.map((c) => fadeLoss(c, at(c), 14))),
    weeklyCv: median(weekly),
    fortnightCv: median(fortnightly),
  };
}

export const RULES: Record<string, FlagRule> = {
  'trend rule (product)': productRule,
  'rule before issue 12': todayRule,
  'week-over-week <= -30 %': weekOverWeekRule,
  'no activity 30 days': silent30Rule,
};

/**
 * The product brief's worked example as daily key-action counts, oldest first, the last
 * entry being today; `days` long (default 100, enough for the 14 + 84 day windows).
 * No weekday rhythm, so the totals and trends hold whatever weekday today is.
 * - Acme Inc (14 people): 29 a day until 30 days ago, 34 a day for the 15 days after,
 *   46 a day for the last 14 complete days and today: 1,200 over the last 30 days, up (+54 %).
 * - Northwind Ltd (9 people): 27, 27, 26 repeating: any 30 days hold exactly 800, steady.
 * - Globex (11 people): 40 a day (~1,200 a month) until 30 days ago, then 4 a day:
 *   120 over the last 30 days, down sharply (-88 %).
 */
export function workedExampleDaily(days = 100): { name: string; people: number; daily: number[] }[] {
  const series = (f: (ago: number) => number) => Array.from({ length: days }, (_, i) => f(days - 1 - i));
  return [
    { name: 'Acme Inc', people: 14, daily: series((ago) => (ago <= 14 ? 46 : ago <= 29 ? 34 : 29)) },
    { name: 'Northwind Ltd', people: 9, daily: series((ago) => (ago % 3 === 2 ? 26 : 27)) },
    { name: 'Globex', people: 11, daily: series((ago) => (ago <= 29 ? 4 : 40)) },
  ];
}
