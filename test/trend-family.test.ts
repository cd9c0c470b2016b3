/**
 * A small run of `npm run bench:trend` (issue 12): every book of the family at 1,500
 * companies, one seed the bench does not use, the rule against the rule before issue 12.
 * The goals of the issue are asserted where this rule meets them; where it does not (see
 * docs/trend.md, "The rule since issue 12"), the floors sit a little under this seed's
 * measured figures, so a change that makes warnings worse on any book fails the build.
 */
import { describe, expect, it } from 'vitest';
import { BOOK_KINDS, noEvidenceRule, productRule, scoreRules, simulateBook, todayRule, type BookKind, type RuleScore } from '../bench/simulate-book.js';

const SEED = 11;
const COMPANIES = 1500;

const scores = new Map<BookKind, { now: RuleScore; before: RuleScore; noEvidence: RuleScore }>();
for (const book of BOOK_KINDS) {
  const s = scoreRules(simulateBook({ companies: COMPANIES, seed: SEED, book }), { now: productRule, before: todayRule, noEvidence: noEvidenceRule });
  scores.set(book, { now: s.now, before: s.before, noEvidence: s.noEvidence });
}
const get = (b: BookKind) => scores.get(b)!;

describe(`the trend rule on the family of books (${COMPANIES} companies, seed ${SEED})`, () => {
  it.each(BOOK_KINDS)('book %s: false alarms at most 5 % a quarter', (b) => {
    expect(get(b).now.falseAlarms).toBeLessThanOrEqual(0.05);
  });

  it('book a (steady accounts): recall at least 97 %, median lead at least 2 weeks', () => {
    const { now } = get('a');
    expect(now.recall).toBeGreaterThanOrEqual(0.97);
    expect(now.medianLeadWeeks).toBeGreaterThanOrEqual(2);
    // Goal 90 % at 2-3 weeks in: not met (measured 68 %): floor.
    expect(now.recall2to3).toBeGreaterThanOrEqual(0.64);
  });

  it('books b, c, d: floors under the measured recall and lead (goals 90 % and 2 weeks not met on all accounts)', () => {
    const floors: Record<string, { recall: number; large: number; lead: number }> = {
      // Measured (the book's weight measured, sessions' evidence at 0.5 %): b 83.9 %, c 80.0 %,
      // d 86.6 %; lead 1.4-1.7. A test on key actions knowing each account's true rate and noise
      // (bench/trend-oracle.ts) gets 84-90 % on these books: the goal is out of that metric's reach.
      b: { recall: 0.82, large: 0.95, lead: 1.4 },
      c: { recall: 0.78, large: 0.93, lead: 1.4 },
      d: { recall: 0.85, large: 0.95, lead: 1.4 },
    };
    for (const [b, f] of Object.entries(floors)) {
      const { now } = get(b as BookKind);
      expect(now.recall, `book ${b} recall`).toBeGreaterThanOrEqual(f.recall);
      expect(now.recallBand['> 50'], `book ${b} recall over 50 a week`).toBeGreaterThanOrEqual(f.large);
      expect(now.medianLeadWeeks, `book ${b} lead`).toBeGreaterThanOrEqual(f.lead);
    }
  });

  it('book e (small B2B): finds several times what the rule before issue 12 found, most of what it lists is falling', () => {
    const { now, before } = get('e');
    expect(now.recall).toBeGreaterThanOrEqual(0.79); // goal 90 %: not met (measured 81.3 %; was 60.0 % before the measured weight)
    expect(now.recall).toBeGreaterThan(5 * before.recall);
    expect(now.precision).toBeGreaterThanOrEqual(0.86); // goal 90 %: not met (measured 88.4 %)
  });

  it('the evidence of sessions (thin key actions) never finds less, finds more small accounts, most on book e', () => {
    for (const b of BOOK_KINDS) {
      const { now, noEvidence } = get(b);
      expect(now.recall, `book ${b}`).toBeGreaterThanOrEqual(noEvidence.recall);
      expect(now.falseAlarms, `book ${b}`).toBeLessThanOrEqual(0.05);
    }
    // Measured: a, b, c, e find more of the accounts under 50 a week (d: as many).
    for (const b of ['a', 'b', 'c', 'e'] as const) {
      const { now, noEvidence } = get(b);
      expect(now.recallBand['< 20'] + now.recallBand['20-50'], `book ${b}: the small accounts`).toBeGreaterThan(noEvidence.recallBand['< 20'] + noEvidence.recallBand['20-50']);
    }
    // Book e (measured: 42.7 % without, 81.3 % with).
    expect(get('e').now.recall).toBeGreaterThan(get('e').noEvidence.recall + 0.3);
  });

  it.each(BOOK_KINDS)('book %s: accounts of 10-50 a week are found, which the floor of 50 left out', (b) => {
    const { now, before } = get(b);
    expect(now.recallBand['20-50']).toBeGreaterThan(before.recallBand['20-50'] + 0.15);
  });

  it('on the steadier books it warns earlier than the rule before issue 12', () => {
    for (const b of ['a', 'b', 'd'] as const) {
      expect(get(b).now.recall2to3, `book ${b}`).toBeGreaterThan(get(b).before.recall2to3);
    }
  });
});
