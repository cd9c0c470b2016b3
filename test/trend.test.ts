import { describe, it, expect } from 'vitest';
import {
  BASELINE_DAYS,
  MIN_BASELINE_PER_WEEK,
  NEW_BEFORE_DAYS,
  RECENT_DAYS,
  compareByDrop,
  decideTrend,
  describeTrendRule,
  isFalling,
  isRising,
  marketFactor,
  trendChange,
  trendLevel,
  trendSign,
  usedToBeActive,
} from '../src/domain/trend.js';
import { windowsAt, workedExampleDaily } from '../bench/simulate-book.js';
import type { Trend, TrendWindows } from '../src/domain/types.js';

const OLD = 365;
/** Windows from daily rates: `base` a day in the baseline, `now` a day in the recent window. */
const rates = (base: number, now: number, ageDays = OLD): TrendWindows => ({
  recent: Math.round(now * RECENT_DAYS),
  baseline: Math.round(base * BASELINE_DAYS),
  ageDays,
});
const prefix = (d: number[]) => d.reduce<number[]>((p, x) => (p.push(p[p.length - 1] + x), p), [0]);

describe('decideTrend: edges', () => {
  const table: [string, TrendWindows, Trend][] = [
    ['0 -> 0', { recent: 0, baseline: 0, ageDays: OLD }, 'steady'],
    ['1 -> 0', { recent: 0, baseline: 1, ageDays: OLD }, 'steady'],
    ['2 -> 1', { recent: 1, baseline: 2, ageDays: OLD }, 'steady'],
    ['2 a fortnight -> 1 a fortnight', { recent: 1, baseline: 12, ageDays: OLD }, 'steady'],
    ['1 a week -> 0', { recent: 0, baseline: 12, ageDays: OLD }, 'steady'],
    ['3 a week -> 0 (tiny account)', { recent: 0, baseline: 36, ageDays: OLD }, 'steady'],
    ['tiny account doubles (2 -> 4 a week)', { recent: 8, baseline: 24, ageDays: OLD }, 'steady'],
    ['nothing before, 2 now', { recent: 2, baseline: 0, ageDays: OLD }, 'steady'],
    ['nothing before, 500 now (old company wakes up)', { recent: 500, baseline: 0, ageDays: OLD }, 'up sharply'],
    ['10 a week -> 0', { recent: 0, baseline: 120, ageDays: OLD }, 'down sharply'],
    ['huge drop 100/day -> 1/day', rates(100, 1), 'down sharply'],
    ['huge jump 10/day -> 100/day', rates(10, 100), 'up sharply'],
    ['flat 40/day', rates(40, 40), 'steady'],
    ['-15 % on 40/day (ordinary wobble)', rates(40, 34), 'steady'],
    ['-45 % on 40/day', rates(40, 22), 'down'],
    ['-70 % on 40/day', rates(40, 12), 'down sharply'],
    ['+60 % on 40/day', rates(40, 64), 'up'],
    ['+150 % on 40/day', rates(40, 100), 'up sharply'],
    ['-20 % on 10,000/day is below the effect size', rates(10_000, 8_000), 'steady'],
    ['-30 % on 10,000/day is within a big account\'s weekly swing', rates(10_000, 7_000), 'steady'],
    ['-45 % on 10,000/day', rates(10_000, 5_500), 'down'],
    ['-40 % on 3/day is not enough evidence', rates(3, 1.8), 'steady'],
  ];
  it.each(table)('%s', (_name, w, want) => {
    expect(decideTrend(w)).toBe(want);
  });

  it('never calls a sharp trend (or any trend) on a handful of events', () => {
    for (let r = 0; r <= 5; r++) for (let b = 0; b <= 5; b++) {
      expect(decideTrend({ recent: r, baseline: b, ageDays: OLD }), `${b} -> ${r}`).toBe('steady');
    }
  });

  it('is monotone in the recent count', () => {
    const order: Trend[] = ['down sharply', 'down', 'steady', 'up', 'up sharply'];
    let last = 0;
    for (let r = 0; r <= 3000; r += 5) {
      const i = order.indexOf(decideTrend({ recent: r, baseline: 6 * BASELINE_DAYS * 10, ageDays: OLD }));
      expect(i).toBeGreaterThanOrEqual(last);
      last = i;
    }
  });
});

describe('decideTrend: new companies', () => {
  it(`is new under ${NEW_BEFORE_DAYS} days, whatever the counts`, () => {
    expect(decideTrend({ recent: 500, baseline: 0, ageDays: 0 })).toBe('new');
    expect(decideTrend({ recent: 0, baseline: 300, ageDays: NEW_BEFORE_DAYS - 1 })).toBe('new');
    expect(decideTrend({ recent: 140, baseline: 140, ageDays: NEW_BEFORE_DAYS })).toBe('steady');
  });
  it('uses the baseline the young company actually had (no false "up")', () => {
    // 42 days old: 14 recent days, 28 baseline days, 10 a day throughout.
    expect(decideTrend({ recent: 140, baseline: 280, ageDays: 42 })).toBe('steady');
    expect(trendChange({ recent: 140, baseline: 280, ageDays: 42 })).toBeCloseTo(0, 10);
    expect(decideTrend({ recent: 40, baseline: 280, ageDays: 42 })).toBe('down sharply');
  });
});

describe('decideTrend: rhythm and the book', () => {
  it('a weekend-heavy company is steady on every weekday (windows are whole weeks)', () => {
    // 5 a weekday, 45 or 75 on Saturdays and Sundays (weeks swing ±15 %); two extra-busy days
    // in the recent window.
    const days = 120;
    const daily: number[] = Array.from({ length: days }, (_, d) => (d % 7 >= 5 ? (Math.floor(d / 7) % 2 ? 45 : 75) : 5));
    daily[days - 4] = 80;
    daily[days - 3] = 80;
    const p = prefix(daily);
    for (let now = days - 7; now <= days; now++) {
      expect(decideTrend(windowsAt(p, 0, now))).toBe('steady');
    }
  });

  it('a holiday week does not flag the whole book, but a real fade still shows', () => {
    // 40 companies at 20..800 a day; the last complete week is a holiday (x0.2) for all.
    const days = RECENT_DAYS + BASELINE_DAYS + 1;
    const now = days - 1;
    const books = Array.from({ length: 40 }, (_, i) => {
      const rate = 20 + i * 20;
      return Array.from({ length: days }, (_, d) => Math.round(rate * (d >= now - 7 ? 0.2 : 1)));
    });
    // One company really fading: x0.1 over the whole recent window, on top of the holiday.
    books[10] = books[10].map((x, d) => (d >= now - RECENT_DAYS ? Math.round(x * 0.1) : x));
    const ws = books.map((d) => windowsAt(prefix(d), 0, now));
    const market = ws.reduce((m, w) => ({ recent: m.recent + w.recent, baseline: m.baseline + w.baseline }), {
      recent: 0,
      baseline: 0,
    });
    const without = ws.map((w) => decideTrend(w));
    const withMarket = ws.map((w) => decideTrend(w, market));
    expect(without.filter(isFalling).length).toBeGreaterThan(30); // -40 %: everyone looks down
    expect(withMarket.filter(isFalling)).toEqual(['down sharply']);
    expect(withMarket[10]).toBe('down sharply');
  });

  it('a book-wide rise does not make a flat company "down", nor a flat one "up"', () => {
    const market = { recent: 2 * RECENT_DAYS * 1000, baseline: BASELINE_DAYS * 1000 }; // book x2
    expect(decideTrend(rates(100, 100), market)).toBe('steady');
    expect(decideTrend(rates(100, 150), market)).toBe('steady'); // up on its own, lagging the book
    expect(decideTrend(rates(100, 10), market)).toBe('down sharply');
  });

  it("a company's own fall is not explained away by the book it is part of", () => {
    // A book of two: one flat, one halved. The whole book fell 25 %, all of it this company's
    // fall; only the rest of the book (flat) may discount it.
    // Both as steady as they come: every baseline week the same.
    const flat = { ...rates(8, 8), weeks: new Array(12).fill(56) };
    const halved = { ...rates(8, 4), weeks: new Array(12).fill(56) };
    const book = { recent: flat.recent + halved.recent, baseline: flat.baseline + halved.baseline };
    expect(decideTrend(halved)).toBe('down');
    expect(decideTrend(halved, book)).toBe('down');
    expect(decideTrend(flat, book)).toBe('steady');
    // Had the whole book's factor (0.75) been used, the halving would read steady.
    expect(marketFactor(book)).toBeCloseTo(0.75, 6);
    expect(trendLevel(halved, marketFactor(book))).toBe(0);
  });

  it('without a market (or an empty one) the factor is 1', () => {
    expect(decideTrend(rates(40, 24), { recent: 0, baseline: 0 })).toBe(decideTrend(rates(40, 24)));
  });
});

describe("the product brief's worked example", () => {
  const ex = workedExampleDaily();
  const today = ex[0].daily.length - 1;
  const ws = ex.map((c) => windowsAt(prefix(c.daily), 0, today));
  const market = ws.reduce((m, w) => ({ recent: m.recent + w.recent, baseline: m.baseline + w.baseline }), {
    recent: 0,
    baseline: 0,
  });
  it('has 1,200 / 800 / 120 key actions over the 30 days ending today (today included)', () => {
    expect(ex.map((c) => c.daily.slice(-30).reduce((a, b) => a + b, 0))).toEqual([1200, 800, 120]);
    expect(ex.map((c) => [c.name, c.people])).toEqual([
      ['Acme Inc', 14],
      ['Northwind Ltd', 9],
      ['Globex', 11],
    ]);
  });
  it('reads up / steady / down sharply, with and without the book factor of these three', () => {
    expect(ws.map((w) => decideTrend(w))).toEqual(['up', 'steady', 'down sharply']);
    expect(ws.map((w) => decideTrend(w, market))).toEqual(['up', 'steady', 'down sharply']);
  });
  it('Acme grows ~+50 %, Northwind is flat, Globex lost ~90 %', () => {
    const [acme, northwind, globex] = ws.map(trendChange);
    expect(acme).toBeGreaterThan(0.3);
    expect(acme).toBeLessThan(0.6);
    expect(Math.abs(northwind!)).toBeLessThan(0.01);
    expect(globex).toBeLessThan(-0.85);
    expect(ws.map((w) => usedToBeActive(w))).toEqual([true, true, true]);
  });
});

describe('helpers', () => {
  it('trendChange: daily rate ratio - 1, null without a baseline', () => {
    expect(trendChange(rates(40, 4))).toBeCloseTo(-0.9, 10);
    expect(trendChange(rates(10, 15))).toBeCloseTo(0.5, 10);
    expect(trendChange({ recent: 5, baseline: 0, ageDays: OLD })).toBeNull();
    expect(trendChange({ recent: 0, baseline: 0, ageDays: OLD })).toBeNull();
  });

  it(`usedToBeActive: at least ${MIN_BASELINE_PER_WEEK} a week in the baseline`, () => {
    const perWeek = (x: number): TrendWindows => ({ recent: 0, baseline: (x * BASELINE_DAYS) / 7, ageDays: OLD });
    expect(usedToBeActive(perWeek(MIN_BASELINE_PER_WEEK))).toBe(true);
    expect(usedToBeActive(perWeek(MIN_BASELINE_PER_WEEK - 1))).toBe(false);
    expect(usedToBeActive({ recent: 0, baseline: 1000, ageDays: 3 })).toBe(false); // new
    // A young company's rate uses the baseline days it had: 28 days at 10 a day = 70 a week.
    expect(usedToBeActive({ recent: 0, baseline: 280, ageDays: 42 })).toBe(true);
  });

  it('compareByDrop: biggest relative drop first, ties by lost volume, no baseline last', () => {
    const row = (key: string, w: TrendWindows) => ({ key, windows: w, change: trendChange(w) });
    const rows = [
      row('half', rates(100, 50)),
      row('none', { recent: 9, baseline: 0, ageDays: OLD }),
      row('gone-small', rates(10, 0)),
      row('ninety', rates(100, 10)),
      row('gone-big', rates(500, 0)),
      row('up', rates(10, 20)),
    ];
    expect(rows.sort(compareByDrop).map((r) => r.key)).toEqual(['gone-big', 'gone-small', 'ninety', 'half', 'up', 'none']);
  });

  it('isFalling / isRising', () => {
    expect(['up sharply', 'up', 'steady', 'down', 'down sharply', 'new'].map((t) => isFalling(t as Trend))).toEqual([
      false, false, false, true, true, false,
    ]);
    expect(['up sharply', 'up', 'steady', 'down', 'down sharply', 'new'].map((t) => isRising(t as Trend))).toEqual([
      true, true, false, false, false, false,
    ]);
  });

  it('trendSign', () => {
    expect(['up sharply', 'up', 'steady', 'down', 'down sharply', 'new'].map((t) => trendSign(t as Trend))).toEqual([
      '⇈', '↑', '→', '↓', '⇊', '✦',
    ]);
  });

  it('describeTrendRule names the windows and thresholds', () => {
    const s = describeTrendRule();
    expect(s).toContain(`${RECENT_DAYS} complete days`);
    expect(s).toContain(`${BASELINE_DAYS} days`);
    expect(s).toContain(`${MIN_BASELINE_PER_WEEK} a week`);
    expect(s).toContain('25 %');
  });
});
