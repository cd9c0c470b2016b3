/**
 * `npm run bench:trend`: the trend rule's warning quality on a simulated book
 * (src/domain/simulate.ts), beside two naive rules, over three seeds.
 * Usage: npm run bench:trend [-- --companies 2000 --seeds 1,2,3]
 */
import { NAIVE_FAMILIES, RULES, scoreRules, simulateBook, type RuleScore, type SimBook } from '../src/domain/simulate.js';
import { MIN_BASELINE_PER_WEEK, describeTrendRule } from '../src/domain/trend.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const companies = Number(arg('companies', '4000'));
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const wk = (x: number) => `${x.toFixed(1)} wk`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows
    .map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '))
    .join('\n');
}

const header = ['rule', 'recall', 'median lead', '(to curve end)', '(flagged)', '(linear fades)', 'false alarms', '(dips)', '(others)'];
const row = (name: string, s: RuleScore) => [
  name,
  pct(s.recall),
  wk(s.medianLeadWeeks),
  wk(s.medianLeadToCurveZero),
  wk(s.medianLeadFlagged),
  wk(s.medianLeadLinear),
  pct(s.falseAlarms),
  pct(s.falseAlarmsDip),
  pct(s.falseAlarmsRest),
];

console.log(describeTrendRule());
console.log();
const all: Record<string, RuleScore[]> = {};
const books: SimBook[] = [];
for (const seed of seeds) {
  const t0 = performance.now();
  const book = simulateBook({ companies, seed });
  books.push(book);
  const scores = scoreRules(book, RULES);
  const ms = performance.now() - t0;
  const s0 = Object.values(scores)[0];
  console.log(
    `seed ${seed}: ${companies} companies, ${book.days / 7} weeks, holiday week from day ${book.holidayStart}; ` +
      `${s0.fadingEligible} fading accounts scored (${s0.fadingExcluded} faders under the minimum of ${MIN_BASELINE_PER_WEEK} a week left out), ` +
      `${s0.othersEligible} others (${s0.dipEligible} dip-and-recover) [${ms.toFixed(0)} ms]`,
  );
  console.log(table([header, ...Object.entries(scores).map(([n, s]) => row(n, s))]));
  console.log();
  for (const [n, s] of Object.entries(scores)) (all[n] ??= []).push(s);
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const medScore = (ss: RuleScore[]): RuleScore => {
  const keys = Object.keys(ss[0]) as (keyof RuleScore)[];
  return Object.fromEntries(keys.map((k) => [k, med(ss.map((s) => s[k]))])) as unknown as RuleScore;
};
console.log(`median over seeds ${seeds.join(', ')}:`);
const medians = Object.entries(all).map(([n, ss]) => [n, medScore(ss)] as const);
console.log(table([header, ...medians.map(([n, s]) => row(n, s))]));

const [productName, product] = medians[0];
const worstFa = Math.max(...all[productName].map((s) => s.falseAlarms));

// The fair comparison: each naive rule tightened (loosest first) until its false alarms are
// at most 5 % on every seed, the product's own budget; then recall and lead side by side.
const BUDGET = 0.05;
console.log(`\nat equal false alarms (each naive rule at its loosest setting with false alarms <= ${pct(BUDGET)} on every seed):`);
const fair: [string, RuleScore][] = [[productName, product]];
for (const fam of Object.values(NAIVE_FAMILIES)) {
  for (const x of fam.steps) {
    const ss = books.map((b) => scoreRules(b, { r: fam.rule(x) }).r);
    if (Math.max(...ss.map((s) => s.falseAlarms)) <= BUDGET) {
      fair.push([fam.label(x), medScore(ss)]);
      break;
    }
  }
}
console.log(table([header, ...fair.map(([n, s]) => row(n, s))]));
const fairNaive = fair.slice(1).map(([, s]) => s);
const goals: [string, boolean][] = [
  ['recall >= 90 %', product.recall >= 0.9],
  ['median lead >= 3 weeks', product.medianLeadWeeks >= 3],
  [`false alarms <= 5 % on every seed (worst ${pct(worstFa)})`, worstFa <= BUDGET],
  ['at <= 5 % false alarms: recall above both naive rules', fairNaive.every((s) => product.recall > s.recall)],
  ['at <= 5 % false alarms: median lead at least both naive rules\'', fairNaive.every((s) => product.medianLeadWeeks >= s.medianLeadWeeks)],
];
console.log();
for (const [g, ok] of goals) console.log(`${ok ? 'met   ' : 'MISSED'}  ${g}`);
console.log(`
Reading: recall = fading accounts (that did >= the minimum a week before the fade) flagged
down/down sharply after the fade began and before activity reached zero (the day after its
last event); lead = weeks from that first flag to zero (a missed account counts 0; "to curve
end" measures to the fade curve's end instead, the old definition); false alarms = non-fading accounts that
were active in the quarter and were flagged at any of its 13 week ends (dip-and-recover
accounts count as non-fading). Week-over-week flags nearly everyone (the holiday week alone
does it), so its recall is free; 30 days of silence only comes after zero, so its false
alarms are free. Neither can be beaten on both columns at its default setting, so the fair
comparison holds false alarms equal (<= 5 % on every seed) and compares recall and lead. Fades run 4-8 weeks on curves from linear to convex (exponent 1-2.5);
"(linear fades)" is the lead on the near-linear ones (exponent < 1.5), which give least warning.`);
