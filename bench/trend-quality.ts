/**
 * `npm run bench:trend`: the trend rule's warning quality on a family of simulated books
 * (bench/simulate-book.ts, issue 12): a. steady, b. today's, c. noisy, d. a product-wide dip,
 * e. a realistic small-B2B year; several seeds each. For every book and seed: recall (overall,
 * by size band, 2-3 weeks into the fade), median lead, false alarms and precision of the rule,
 * of the rule before issue 12, and of the naive rules at equal false alarms; then the goals.
 * Usage: npm run bench:trend [-- --companies 3000 --seeds 1,2,3 --books a,b,c,d,e]
 */
import {
  BOOK_KINDS,
  BOOK_NAMES,
  NAIVE_FAMILIES,
  SIZE_BANDS,
  noEvidenceRule,
  productRule,
  scoreRules,
  simulateBook,
  todayRule,
  type BookKind,
  type FlagRule,
  type RuleScore,
  type SimBook,
} from './simulate-book.js';
import { describeTrendRule, MIN_BASELINE_PER_WEEK } from '../src/domain/trend.js';
import { trendGoals } from './trend-goals.js';
import { oracleAtBudget } from './trend-oracle.js';
import { TRUTH_METRICS } from './simulate-book.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const companies = Number(arg('companies', '3000'));
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const books = arg('books', BOOK_KINDS.join(',')).split(',') as BookKind[];
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const wk = (x: number) => `${x.toFixed(1)} wk`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n');
}

const header = ['rule', 'recall', ...SIZE_BANDS.map((b) => `(${b}/wk)`), '2-3 wk in', 'median lead', 'false alarms', '(dips)', 'precision'];
const row = (name: string, s: RuleScore) => [
  name,
  pct(s.recall),
  ...SIZE_BANDS.map((b) => (s.fadingBand[b] ? `${pct(s.recallBand[b])} of ${s.fadingBand[b]}` : '-')),
  pct(s.recall2to3),
  wk(s.medianLeadWeeks),
  pct(s.falseAlarms),
  pct(s.falseAlarmsDip),
  pct(s.precision),
];

console.log(describeTrendRule());
console.log();
const goalLines: string[] = [];
for (const kind of books) {
  const t0 = performance.now();
  const sims: SimBook[] = seeds.map((seed) => simulateBook({ companies, seed, book: kind }));
  const main = sims.map((b) => scoreRules(b, { new: productRule, noEvidence: noEvidenceRule, before: todayRule }));
  // The naive rules at equal false alarms: each at its loosest setting whose false alarms are
  // at most the new rule's on every seed of this book.
  const budget = Math.max(...main.map((m) => m.new.falseAlarms));
  const naive: { label: string; rule: FlagRule; scores: RuleScore[] }[] = [];
  for (const fam of Object.values(NAIVE_FAMILIES)) {
    for (const x of fam.steps) {
      const ss = sims.map((b) => scoreRules(b, { r: fam.rule(x) }).r);
      if (Math.max(...ss.map((s) => s.falseAlarms)) <= budget) {
        naive.push({ label: fam.label(x), rule: fam.rule(x), scores: ss });
        break;
      }
    }
  }
  // The oracle (bench/trend-oracle.ts): what a test knowing each account's true rate and noise
  // gets at false alarms of at most 5 % on every seed, on each metric alone.
  const oracles = TRUTH_METRICS.map((metric) => ({ metric, at: oracleAtBudget(sims, metric) }));
  console.log(`book ${BOOK_NAMES[kind]} [${((performance.now() - t0) / 1000).toFixed(1)} s]`);
  sims.forEach((b, i) => {
    const s = main[i].new;
    console.log(
      `  seed ${b.seed}: ${companies} companies; ${s.fadingEligible} fading accounts scored (${s.fadingExcluded} under ${MIN_BASELINE_PER_WEEK} a week left out), ${s.othersEligible} others (${s.dipEligible} dip-and-recover)`,
    );
    const rows = [
      row('trend rule (issue 12)', s),
      row('  without other metrics\' evidence', main[i].noEvidence),
      row('rule before issue 12', main[i].before),
      ...naive.map((n) => row(`${n.label} (equal false alarms)`, n.scores[i])),
      ...oracles.flatMap((o) => (o.at ? [row(`oracle on ${o.metric.replace('_', ' ')}, p < ${o.at.alpha} (<= 5 %)`, o.at.scores[i])] : [])),
    ];
    console.log(table([header, ...rows]).replace(/^/gm, '    '));
    for (const [goal, ok, got] of trendGoals(kind, s)) goalLines.push(`${ok ? 'met   ' : 'MISSED'}  book ${kind} seed ${b.seed}: ${goal} (${got})`);
  });
  console.log();
}
console.log('goals (issue 12, point 3; book e: point 4):');
console.log(goalLines.join('\n'));
console.log(`
Reading: recall = fading accounts (that did >= ${MIN_BASELINE_PER_WEEK} a week in the baseline before the fade, or went
quiet after regular activity) flagged down/down sharply after the fade began and before their activity reached
zero (book e: within 14 days after the fall to a fifth ends); by size band of that baseline a week; "2-3 wk in" =
flagged by the first week end at least 14 days into the fade; lead = weeks from the first flag to zero (a missed
account counts 0); false alarms = non-fading accounts eligible in the quarter and flagged at any of its 13 week
ends (dip-and-recover accounts count as non-fading); precision = of all flags in the quarter, the share on an
account in its fade. Every rule is scored on the same accounts (the new rule's floor), so the rule before issue 12
loses the small accounts its floor of 50 a week left out.`);
