import { describe, it, expect } from 'vitest';
import { RULES, scoreRules, simulateBook } from '../src/domain/simulate.js';

/**
 * A smaller run of `npm run bench:trend` (one seed the bench does not use), so that a
 * change to the trend rule that makes warnings worse fails the build. The floors sit a
 * little under the measured figures (recall ~94 %, lead ~2.4 weeks, false alarms ~3.5 %)
 * to allow for this seed's sampling noise, not for regressions.
 */
describe('trend rule on a simulated book (3,000 companies, seed 7)', () => {
  const book = simulateBook({ companies: 3000, seed: 7 });
  const scores = scoreRules(book, RULES);
  const product = scores['trend rule (product)'];
  const wow = scores['week-over-week <= -30 %'];
  const silent = scores['no activity 30 days'];

  it('has the shape it claims', () => {
    const share = (k: string) => book.companies.filter((c) => c.kind === k).length / book.companies.length;
    expect(share('fading')).toBeGreaterThan(0.08);
    expect(share('fading')).toBeLessThan(0.12);
    expect(share('dip')).toBeGreaterThan(0.035);
    expect(book.days).toBe(26 * 7);
    expect(product.fadingEligible).toBeGreaterThan(50);
    expect(product.othersEligible).toBeGreaterThan(500);
  });

  it('catches fading accounts before they reach zero', () => {
    expect(product.recall).toBeGreaterThanOrEqual(0.88);
    expect(product.medianLeadWeeks).toBeGreaterThanOrEqual(2);
  });

  it('rarely cries wolf over a quarter (dip-and-recover accounts count as false alarms)', () => {
    expect(product.falseAlarms).toBeLessThanOrEqual(0.05);
    expect(product.falseAlarmsRest).toBeLessThanOrEqual(0.035);
  });

  it('beats the naive rules where they fail', () => {
    expect(product.falseAlarms).toBeLessThan(wow.falseAlarms / 10); // week-over-week flags nearly everyone
    expect(product.recall).toBeGreaterThan(silent.recall + 0.8); // 30 days of silence comes after zero
  });
});
