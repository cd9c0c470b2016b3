/**
 * An oracle for the trend's warning (issue 12): how well could any two-window test do on a
 * book of bench/simulate-book.ts, if it knew what no rule can? The oracle knows each
 * account's true expected count per day had it neither faded nor dipped (its size, weekday
 * rhythm, growth, the holiday, its start), the count's true variance and the account's weekly
 * swing. At each week end it asks how likely the last 14 days' count is under that truth
 * (the lower tail of a negative binomial, or binomial when the count varies less than
 * Poisson, with the swing's variance added) and flags below a level. It estimates nothing,
 * so no baseline noise, no book's move to take out, no prior to shrink to: an upper bound
 * on the product's kind of rule (the recent window against what was expected), not a rule
 * to ship. The level is tightened until false alarms are at most 5 % on every seed, the
 * product's own budget, and the figures at that level are what the goals can be held to.
 */
import { scoreRules, sumRange, type FlagRule, type RuleScore, type SimBook, type TruthMetric } from './simulate-book.js';

const RECENT = 14;

/** Standard normal lower tail. */
function normalCdf(z: number): number {
  // Abramowitz and Stegun 7.1.26 on erfc, enough for a level search.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * P(X <= k) for a count of mean m and variance v: negative binomial when v > m, binomial when
 * v < m (a sum of person-days, each active or not), Poisson when equal; the normal
 * approximation far from the tail or for very large counts.
 */
export function lowerTail(k: number, m: number, v: number): number {
  if (!(m > 0)) return 1;
  const z = (k + 0.5 - m) / Math.sqrt(v);
  if (z > -1) return normalCdf(z);
  if (m > 5000) return normalCdf(z);
  // log pmf(j) by the ratio pmf(j+1)/pmf(j), summed from k down while terms matter.
  let logP0: number;
  let ratio: (j: number) => number;
  if (v > m * 1.0001) {
    const r = (m * m) / (v - m);
    const q = m / (r + m);
    logP0 = r * Math.log(r / (r + m));
    ratio = (j) => ((j + r) / (j + 1)) * q;
  } else if (v < m * 0.9999) {
    const n = Math.round((m * m) / (m - v));
    const p = m / n;
    if (k >= n) return 1;
    if (p >= 1) return 0;
    logP0 = n * Math.log(1 - p);
    ratio = (j) => ((n - j) / (j + 1)) * (p / (1 - p));
  } else {
    logP0 = -m;
    ratio = (j) => m / (j + 1);
  }
  const terms: number[] = [];
  let lp = logP0;
  for (let j = 0; j <= k; j++) {
    terms.push(lp);
    lp += Math.log(ratio(j));
  }
  const top = Math.max(...terms);
  const sum = terms.reduce((a, t) => a + Math.exp(t - top), 0);
  return Math.min(1, Math.exp(top + Math.log(sum)));
}

/** The oracle on one metric at test level `alpha`. */
export function oracleRule(metric: TruthMetric, alpha: number): FlagRule {
  return ({ company, p, others, now }) => {
    if (!company) throw new Error('the oracle needs the account (scoreRules passes it)');
    const series = metric === 'key_actions' ? p : others?.[metric]?.p;
    if (!series) throw new Error(`no ${metric} series`);
    const mean = company.truth.mean[metric];
    const variance = company.truth.variance[metric];
    let m = 0;
    let v = 0;
    // The window is two calendar weeks of the simulation (week ends fall on d % 7 = 0), each with its own swing.
    for (let w = 0; w < RECENT / 7; w++) {
      let mw = 0;
      for (let d = now - RECENT + 7 * w; d < now - RECENT + 7 * (w + 1); d++) {
        mw += mean[d];
        v += variance[d];
      }
      m += mw;
      v += (company.truth.cv * mw) ** 2;
    }
    if (m < 1) return false;
    return lowerTail(sumRange(series, now - RECENT, now), m, v) < alpha;
  };
}

export const ORACLE_LEVELS = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1];

/** The loosest level at which the oracle on `metric` keeps false alarms at most `budget` on every book given, with its scores. */
export function oracleAtBudget(books: SimBook[], metric: TruthMetric, budget = 0.05): { alpha: number; scores: RuleScore[] } | null {
  let best: { alpha: number; scores: RuleScore[] } | null = null;
  for (const alpha of ORACLE_LEVELS) {
    const scores = books.map((b) => scoreRules(b, { o: oracleRule(metric, alpha) }).o);
    if (Math.max(...scores.map((s) => s.falseAlarms)) > budget) break;
    best = { alpha, scores };
  }
  return best;
}
