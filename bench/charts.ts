/**
 * `npm run bench -- --only charts`: how long a chart takes to draw, spec to PNG bytes
 * (Vega-Lite compile, vega SVG, resvg PNG at 2x), over synthetic 26-week series.
 * No database: the reads behind a chart are two indexed sums over one company.
 */
import { availableParallelism, loadavg } from 'node:os';
import { chartSvg, svgToPng } from '../src/render/chart-png.js';
import { companyChartSpec, digestChartSpec, type CompanyChartInput } from '../src/render/chart-spec.js';
import { mulberry32 } from './simulate-book.js';

const DAY = 86_400_000;

function series(seed: number, now: Date): CompanyChartInput {
  const rand = mulberry32(seed);
  const today = Math.floor(now.getTime() / DAY) * DAY;
  const base = 50 + rand() * 2000;
  const fall = rand() < 0.5;
  const weeks = Array.from({ length: 26 }, (_, i) => {
    const start = new Date(today - (25 - i) * 7 * DAY - 6 * DAY).toISOString().slice(0, 10);
    const level = fall && i > 20 ? 0.3 : 1;
    return { start, value: Math.round(base * level * (0.8 + rand() * 0.4)), people: Math.round(3 + rand() * 20) };
  });
  return {
    name: `Company ${seed}`,
    metric: 'key_actions',
    weeks,
    baselinePerWeek: base,
    recent: { start: new Date(today - 14 * DAY).toISOString().slice(0, 10), end: new Date(today - DAY).toISOString().slice(0, 10) },
    trend: fall ? 'down sharply' : 'steady',
    change: fall ? -0.7 : 0.02,
  };
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)];
  return `median ${median.toFixed(1)} ms, slowest ${s[s.length - 1].toFixed(1)} ms (n=${s.length})`;
}

async function timeOne(spec: ReturnType<typeof companyChartSpec>): Promise<{ svg: number; png: number; total: number }> {
  const t0 = performance.now();
  const svg = await chartSvg(spec);
  const t1 = performance.now();
  svgToPng(svg);
  const t2 = performance.now();
  return { svg: t1 - t0, png: t2 - t1, total: t2 - t0 };
}

export async function runCharts(opts: { reps: number; now: Date }): Promise<void> {
  // A shared machine: the load says how far these figures are from an idle one.
  console.log(`Charts (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores): ${opts.reps} company charts (26 weeks, 1200×596 PNG) and ${Math.max(3, Math.floor(opts.reps / 5))} digest charts (6 panels)`);
  const first = await timeOne(companyChartSpec(series(0, opts.now)));
  console.log(`  first chart in this process (loads vega, resvg, the font): ${first.total.toFixed(1)} ms`);
  const company = [];
  for (let i = 1; i <= opts.reps; i++) company.push(await timeOne(companyChartSpec(series(i, opts.now))));
  console.log(`  company chart, total: ${stats(company.map((t) => t.total))}`);
  console.log(`    spec to SVG:        ${stats(company.map((t) => t.svg))}`);
  console.log(`    SVG to PNG:         ${stats(company.map((t) => t.png))}`);
  const digest = [];
  for (let i = 0; i < Math.max(3, Math.floor(opts.reps / 5)); i++) {
    digest.push(await timeOne(digestChartSpec({ weekLabel: 'week of Nov 30, 2026', companies: Array.from({ length: 6 }, (_, k) => series(1000 + i * 6 + k, opts.now)) })));
  }
  console.log(`  digest chart, total:  ${stats(digest.map((t) => t.total))}`);
}
