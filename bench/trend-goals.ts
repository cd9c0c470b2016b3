/** The goals of issue 12 on one book and seed, shared by `npm run bench:trend` and test/trend-family.test.ts. */
import type { BookKind, RuleScore } from './simulate-book.js';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** [goal, met, measured] for the rule's score on one book and seed. */
export function trendGoals(book: BookKind, s: RuleScore): [string, boolean, string][] {
  const goals: [string, boolean, string][] = [
    ['false alarms <= 5 %', s.falseAlarms <= 0.05, pct(s.falseAlarms)],
    ['recall >= 90 %', s.recall >= 0.9, pct(s.recall)],
  ];
  if (book === 'e') {
    goals.push(['precision >= 90 %', s.precision >= 0.9, pct(s.precision)]);
  } else {
    goals.push(['median lead >= 2 weeks', s.medianLeadWeeks >= 2, `${s.medianLeadWeeks.toFixed(2)} wk`]);
  }
  if (book === 'a') {
    goals.push(['recall >= 97 %', s.recall >= 0.97, pct(s.recall)]);
    goals.push(['recall 2-3 weeks in >= 90 %', s.recall2to3 >= 0.9, pct(s.recall2to3)]);
  }
  return goals;
}
