/**
 * Rules the product does not use, measured by `npm run bench:trend` to show that the lead
 * the product's rule gets is a property of the book, not of the rule's family.
 *
 * Both read weekly totals (weeks ending at `now`), which the database does not keep per
 * company today: the product would need 14 weekly sums per company and metric to run them.
 * - own noise: each account's ordinary week-to-week spread is measured from its own 12
 *   baseline weeks (shrunk towards a prior of twice Poisson plus a 15 % swing, worth 4
 *   weeks), instead of being assumed; then the mean of the last 1, 2 or 3 weeks is tested
 *   against the baseline mean with that spread (flag at t < -c, and the fall at least -d);
 * - slope: a least-squares slope over the last 4 weekly totals, significantly negative,
 *   and the last week significantly under the baseline.
 * Each week's total is first divided by the book's move in that week when the book was
 * down (a holiday week), never multiplied, so the book never invents a fall.
 */
import { sumRange, type FlagRule } from './simulate-book.js';
import { MIN_BASELINE_PER_WEEK, NEW_BEFORE_DAYS } from '../src/domain/trend.js';

const WEEKS = 14;
const RECENT_WEEKS = 2;

interface Weekly {
  /** Weekly totals, most recent first, each discounted by the book's fall that week. */
  y: number[];
  /** Baseline mean and variance (shrunk towards the prior) and how many baseline weeks. */
  mu: number;
  s2: number;
  nb: number;
}

function weekly(ctx: Parameters<FlagRule>[0]): Weekly | null {
  const { p, total, firstDay, now } = ctx;
  if (firstDay < 0 || now - firstDay < NEW_BEFORE_DAYS) return null;
  const weeks = Math.min(WEEKS, Math.floor((now - firstDay) / 7));
  const nb = weeks - RECENT_WEEKS;
  if (nb < 2) return null;
  const w = (i: number, s: number[]) => sumRange(s, now - 7 * (i + 1), now - 7 * i);
  const book = Array.from({ length: weeks }, (_, i) => w(i, total));
  const bookBase = book.slice(RECENT_WEEKS).reduce((a, b) => a + b, 0) / nb;
  const y = Array.from({ length: weeks }, (_, i) => w(i, p) / Math.max(0.2, Math.min(1, book[i] / bookBase)));
  const base = y.slice(RECENT_WEEKS);
  const mu = base.reduce((a, b) => a + b, 0) / nb;
  if (mu < MIN_BASELINE_PER_WEEK) return null;
  const s2 = base.reduce((a, b) => a + (b - mu) ** 2, 0) / (nb - 1);
  const prior = 2 * mu + (0.15 * mu) ** 2;
  const PRIOR_WEEKS = 4;
  return { y, mu, s2: ((nb - 1) * s2 + PRIOR_WEEKS * prior) / (nb - 1 + PRIOR_WEEKS), nb };
}

/** Own-noise rule at t < -c on the last 1 week (fall >= d1), 2 or 3 weeks (fall >= d). */
export function ownNoiseRule(c: number, d = 0.25, d1 = 0.35): FlagRule {
  return (ctx) => {
    const k = weekly(ctx);
    if (!k) return false;
    for (const [K, minFall] of [[1, d1], [2, d], [3, d]] as const) {
      const m = k.y.slice(0, K).reduce((a, b) => a + b, 0) / K;
      const t = (m - k.mu) / Math.sqrt(k.s2 * (1 / K + 1 / k.nb));
      if (t < -c && m / k.mu - 1 <= -minFall) return true;
    }
    return false;
  };
}

/** Slope rule: slope t < -c over the last 4 weeks and the last week at t < -c below the baseline. */
export function slopeRule(c: number, d = 0.25): FlagRule {
  return (ctx) => {
    const k = weekly(ctx);
    if (!k || k.y.length < 4) return false;
    const xs = [1.5, 0.5, -0.5, -1.5]; // y[0] is the most recent week
    const slope = xs.reduce((a, x, i) => a + x * k.y[i], 0) / 5;
    const tSlope = slope / Math.sqrt(k.s2 / 5);
    const tLevel = (k.y[0] - k.mu) / Math.sqrt(k.s2 * (1 + 1 / k.nb));
    return tSlope < -c && tLevel < -c && k.y[0] / k.mu - 1 <= -d;
  };
}
