/**
 * The oracle of `npm run bench:trend` (bench/trend-oracle.ts), whose figures docs/trend.md
 * holds the goals of issue 12 against: its tail is the right one, and it flags what it should.
 */
import { describe, expect, it } from 'vitest';
import { lowerTail, oracleRule } from '../bench/trend-oracle.js';
import { prefix, scoreRules, simulateBook } from '../bench/simulate-book.js';

const choose = (n: number, k: number) => Array.from({ length: k }, (_, i) => (n - i) / (i + 1)).reduce((a, b) => a * b, 1);

describe('lowerTail: P(X <= k) for a count of known mean and variance', () => {
  it.each([
    // Poisson (variance = mean): e^-10.8 (1 + 10.8 + 10.8^2 / 2).
    ['Poisson', 2, 10.8, 10.8, Math.exp(-10.8) * (1 + 10.8 + 10.8 ** 2 / 2)],
    // Binomial (variance under the mean): n = 10, p = 0.2, P(X = 0) = 0.8^10.
    ['binomial', 0, 2, 1.6, 0.8 ** 10],
    // n = 50, p = 0.2: the four lowest terms.
    ['binomial', 3, 10, 8, [0, 1, 2, 3].reduce((a, j) => a + choose(50, j) * 0.2 ** j * 0.8 ** (50 - j), 0)],
    // Negative binomial, mean 20, variance 60: size r = 10, success share r / (r + m) = 1/3.
    ['negative binomial', 0, 20, 60, (1 / 3) ** 10],
    ['negative binomial', 1, 20, 60, (1 / 3) ** 10 * (1 + 10 * (2 / 3))],
  ])('%s: k = %d, mean %d, variance %d', (_, k, m, v, want) => {
    expect(lowerTail(k, m, v)).toBeCloseTo(want, 10);
  });

  it('far from the tail it answers with the normal approximation (a level search never reads there)', () => {
    expect(lowerTail(1, 2, 1.6)).toBeGreaterThan(0.3);
  });

  it('is a distribution function: rising in k, 1 far above the mean', () => {
    let last = 0;
    for (let k = 0; k < 60; k++) {
      const t = lowerTail(k, 20, 60);
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
    expect(lowerTail(200, 20, 20)).toBeCloseTo(1, 6);
  });
});

describe('the oracle', () => {
  it('flags a fading account once its window falls far below what it knew, and a steady one almost never', () => {
    const book = simulateBook({ companies: 600, seed: 5, book: 'a' });
    const score = scoreRules(book, { o: oracleRule('key_actions', 1e-4) }).o;
    expect(score.recall).toBeGreaterThan(0.9);
    expect(score.falseAlarmsRest).toBeLessThan(0.02);
    // It reads the truth, not the counts' own history: an account whose truth says 0 is never flagged.
    const c = book.companies.find((x) => x.kind === 'new')!;
    const p = prefix(c.daily);
    expect(oracleRule('key_actions', 0.5)({ company: c, p, firstDay: -1, now: c.startDay! - 1, market: () => ({ recent: 0, baseline: 0 }), total: p, prior: () => null })).toBe(false);
  });
});
