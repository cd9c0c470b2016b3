import { describe, it, expect } from 'vitest';
import {
  RULES,
  fadeEvidence,
  leadIfFlaggedAfter,
  scoreRules,
  silentFor,
  simulateBook,
  trendRule,
  weekOverWeek,
} from '../bench/simulate-book.js';
import { DEFAULT_TREND_PARAMS } from '../src/domain/trend.js';

/**
 * A smaller run of `npm run bench:trend` (one seed the bench does not use), so that a
 * change to the trend rule that makes warnings worse fails the build. The floors sit a
 * little under this seed's measured figures on the accounts of at least 50 a week (since
 * issue 12: recall 98.4 %, lead 2.29 weeks to the last event, false alarms 4.5 %, 2.3 %
 * without the dips; before: 98.9 %, 2.29, 3.8 %, 2.0 %), to allow for sampling noise, not
 * for regressions. Leads come in whole days over 7 (2.29 = 16 days; 2.14 = 15 days).
 */
describe('trend rule on a simulated book (3,000 companies, seed 7)', () => {
  const book = simulateBook({ companies: 3000, seed: 7 });
  // Issue 7's figures are on the accounts that did at least 50 a week; issue 12 lowered the
  // floor (test/trend-family.test.ts scores the smaller ones), this keeps guarding the larger.
  const gate = { ...DEFAULT_TREND_PARAMS, minBaselinePerWeek: 50 };
  const scores = scoreRules(book, RULES, gate);
  const product = scores['trend rule (product)'];
  const wow = scores['week-over-week <= -30 %'];
  const silent = scores['no activity 30 days'];

  it('has the shape it claims', () => {
    const share = (k: string) => book.companies.filter((c) => c.kind === k).length / book.companies.length;
    expect(share('fading')).toBeGreaterThan(0.08);
    expect(share('fading')).toBeLessThan(0.12);
    expect(share('dip')).toBeGreaterThan(0.035);
    expect(book.days).toBe(26 * 7);
    // A B2B book: the median account is a team (lognormal, median 8 people), not one person,
    // so most fading accounts clear the product's own minimum and are scored.
    const people = book.companies.filter((c) => !c.tiny).map((c) => c.people).sort((a, b) => a - b);
    expect(people[people.length >> 1]).toBeGreaterThanOrEqual(6);
    expect(people[people.length >> 1]).toBeLessThanOrEqual(10);
    expect(people[people.length - 1]).toBeGreaterThan(100);
    expect(product.fadingEligible).toBeGreaterThan(product.fadingExcluded);
    expect(product.othersEligible).toBeGreaterThan(1500);
    // Activity stops on or before the curve's end, and lead is measured to when it stops.
    for (const c of book.companies) if (c.kind === 'fading') expect(c.silentFrom!).toBeLessThanOrEqual(c.zeroDay!);
  });

  it('catches fading accounts before they reach zero', () => {
    expect(product.recall).toBeGreaterThanOrEqual(0.93);
    expect(product.medianLeadWeeks).toBeGreaterThanOrEqual(2.2);
  });

  it('rarely cries wolf over a quarter (dip-and-recover accounts count as false alarms)', () => {
    expect(product.falseAlarms).toBeLessThanOrEqual(0.05);
    expect(product.falseAlarmsRest).toBeLessThanOrEqual(0.025);
  });

  it('beats the naive rules where they fail', () => {
    expect(product.falseAlarms).toBeLessThan(wow.falseAlarms / 10); // week-over-week flags nearly everyone
    expect(product.recall).toBeGreaterThan(silent.recall + 0.8); // 30 days of silence comes after zero
  });

  it('beats the naive rules at equal false alarms (each tightened to the 5 % budget)', () => {
    // The settings the bench finds: the loosest with false alarms <= 5 % on seeds 1-3.
    const fair = scoreRules(book, { wow: weekOverWeek(0.85), silent: silentFor(3) }, gate);
    for (const s of Object.values(fair)) {
      expect(s.falseAlarms).toBeLessThanOrEqual(0.05);
      expect(product.recall).toBeGreaterThan(s.recall + 0.5);
      expect(product.medianLeadWeeks).toBeGreaterThan(s.medianLeadWeeks);
    }
  });

  // docs/trend.md's claim that a 3-week median lead is out of reach at <= 5 % false alarms in
  // this book: if a change to the simulation or the rule makes it reachable, this fails and
  // the claim (and the goal's status) must be revisited.
  it('shows why a 3-week lead costs far more than 5 % false alarms here', () => {
    // Even knowing the day each fade begins, a flag must come within about two weeks of it
    // (this seed: 15 days gives 3.0 weeks, 16 days 2.7; seeds 1-3 of the bench: 13 days).
    expect(leadIfFlaggedAfter(book, 15, gate)).toBeGreaterThanOrEqual(3);
    expect(leadIfFlaggedAfter(book, 16, gate)).toBeLessThan(3);
    // By then the median fade has lost about as much of its last week as a dip (30-70 %).
    const ev = fadeEvidence(book, 15, gate);
    expect(ev.loss7).toBeGreaterThan(0.3);
    expect(ev.loss7).toBeLessThan(0.6);
    expect(ev.weeklyCv).toBeGreaterThan(0.1);
    // Loosening the product's own test buys lead only with false alarms.
    // (This seed: p < 2 %: 2.5 weeks at 6.0 %; p < 5 %: 2.7 at 13.7 %; p < 20 %: 2.9 at 25.4 %.)
    let previous = product;
    for (const downAlpha of [0.005, 0.02, 0.05, 0.2]) {
      const s = scoreRules(book, { r: trendRule({ ...DEFAULT_TREND_PARAMS, downAlpha }) }, gate).r;
      if (s.falseAlarms <= 0.05) expect(s.medianLeadWeeks).toBeLessThan(3);
      if (downAlpha > 0.01) {
        expect(s.falseAlarms).toBeGreaterThan(previous.falseAlarms);
        previous = s;
      }
    }
    expect(previous.falseAlarms).toBeGreaterThan(0.2);
    expect(previous.medianLeadWeeks).toBeLessThan(3);
  });
});
