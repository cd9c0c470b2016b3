/**
 * The pure rules of an event's change against its own baseline (src/domain/event-changes.ts):
 * Fell most decided by the trend's count test (so 2 → 0 is not news), Stopped by the weeks it
 * was used, "other events" never named, a young company's shortened baseline, the book's move.
 */
import { describe, expect, it } from 'vitest';
import {
  eventChanges,
  EVENT_WEEKS,
  fellMostInLine,
  FELL_MOST_IN_LINE,
  FELL_MOST_LISTED,
  judgeEvents,
  significantDrops,
  STOPPED_LISTED,
  type EventHistory,
} from '../src/domain/event-changes.js';
import { GONE_QUIET_ACTIVE_WEEKS } from '../src/domain/trend.js';
import { OTHER_EVENTS } from '../src/ingest/event-names.js';
import { fellMostLine, fellMostLines, formatRate, stoppedLines, whatTheyDo } from '../src/render/blocks.js';

const OLD = 400;

/** An event with `weeks` (12 baseline weeks, oldest first) and `recent` over the 14-day window. */
function ev(name: string, weeks: number[], recent: number, extra: Partial<EventHistory> = {}): EventHistory {
  expect(weeks).toHaveLength(EVENT_WEEKS);
  const baseline = weeks.reduce((a, b) => a + b, 0);
  return { name, count: recent, recent, baseline, today: 0, weeks, lastDay: null, ...extra };
}
const every = (n: number) => Array.from({ length: EVENT_WEEKS }, () => n);
/** Used `n` a week in the weeks whose index is listed, none in the others. */
const only = (n: number, idx: number[]) => Array.from({ length: EVENT_WEEKS }, (_, i) => (idx.includes(i) ? n : 0));

const judgedOne = (e: EventHistory, ageDays = OLD) => judgeEvents([e], { ageDays })[0];

describe('an event against its own baseline: the trend test decides, not a threshold', () => {
  it.each([
    // name, weeks, recent (14 days), expected trend, significant drop, stopped
    ['holds', every(70), 140, 'steady', false, false],
    ['42 a week → 3', every(42), 6, 'down sharply', true, false],
    ['42 a week → 21 (−50 %)', every(42), 42, 'down', true, false],
    ['10 a week → 7 (−30 %): within its swing', every(10), 14, 'steady', false, false],
    ['2 a week, every week → 0: stopped, but no significant drop', every(2), 0, 'steady', false, true],
    ['2 a week in half the weeks → 0: neither', only(2, [0, 2, 4, 6, 8, 10]), 0, 'steady', false, false],
    ['2 a week in 7 of 12 weeks → 0: stopped (more than half)', only(2, [0, 2, 4, 6, 8, 10, 11]), 0, 'steady', false, true],
    ['30 a week, every week → 0: both', every(30), 0, 'down sharply', true, true],
    ['rises', every(10), 60, 'up sharply', false, false],
  ] as const)('%s', (name, weeks, recent, trend, dropped, stopped) => {
    const j = judgedOne(ev(name, [...weeks], recent));
    expect(j.trend).toBe(trend);
    expect(significantDrops([j]).length > 0).toBe(dropped);
    expect(j.stopped).toBe(stopped);
  });

  it('used today is not stopped, even with nothing in the recent window', () => {
    expect(judgedOne(ev('back today', every(30), 0, { today: 1 })).stopped).toBe(false);
  });

  it(`"${OTHER_EVENTS}" is never under Fell most nor Stopped`, () => {
    const judged = judgeEvents([ev(OTHER_EVENTS, every(300), 0), ev('Real', every(300), 0)], { ageDays: OLD });
    expect(significantDrops(judged).map((e) => e.name)).toEqual(['Real']);
    expect(judged.filter((e) => e.stopped).map((e) => e.name)).toEqual(['Real']);
  });
});

describe('a young company: the baseline is shortened exactly like the trend', () => {
  it(`4 weeks of baseline (${14 + 28} days old): rates over 28 days, stopped after ${GONE_QUIET_ACTIVE_WEEKS} active weeks of 4`, () => {
    // The 8 oldest weeks are before the company existed (zeros).
    const weeks = [...every(0).slice(0, 8), 35, 35, 35, 35];
    const c = eventChanges([ev('Dashboard Shared', weeks, 0, { count: 10 })], { ageDays: 42 }, 8);
    expect(c.judged).toBe(true);
    expect(c.stopped).toEqual([{ name: 'Dashboard Shared', perWeekBefore: 35, activeWeeks: 4, weeks: 4, lastDay: null }]);
    const drop = fellMostInLine([ev('Dashboard Shared', weeks, 0)], { ageDays: 42 });
    expect(drop).toMatchObject([{ perWeekBefore: 35, perWeekNow: 0, change: -1 }]);
  });

  it('3 weeks of baseline: too few to call it stopped', () => {
    const weeks = [...every(0).slice(0, 9), 35, 35, 35];
    expect(judgeEvents([ev('x', weeks, 0)], { ageDays: 14 + 21 })[0].stopped).toBe(false);
  });

  it('under 28 days old: no change, no Fell most, no Stopped', () => {
    const c = eventChanges([ev('x', every(0), 50, { count: 60 })], { ageDays: 20 }, 8);
    expect(c).toMatchObject({ judged: false, top: [{ name: 'x', count: 60, change: null }], fellMost: [], stopped: [] });
    expect(fellMostLines(c)).toEqual([]);
  });
});

describe("What they do's change", () => {
  it('the change against its own baseline; "new" for an event with no baseline used lately; nothing when not used lately', () => {
    const c = eventChanges(
      [ev('Held', every(70), 140, { count: 300 }), ev('Fresh', every(0), 20, { count: 20 }), ev('Today only', every(0), 0, { count: 3, today: 3 }), ev('Long ago', every(0), 0, { count: 5 })],
      { ageDays: OLD },
      8,
    );
    expect(c.top).toEqual([
      { name: 'Held', count: 300, change: 0 },
      { name: 'Fresh', count: 20, change: 'new' },
      { name: 'Long ago', count: 5, change: null },
      { name: 'Today only', count: 3, change: 'new' },
    ]);
    expect(whatTheyDo(c, { days: 30, label: '30d' }).slice(1, 3)).toEqual(['1. Held · 300 · 0 %', '2. Fresh · 20 · new']);
  });
});

describe('Fell most and Stopped lists', () => {
  const drops = Array.from({ length: 8 }, (_, i) => ev(`Drop ${i}`, every(70), 140 - 15 * (i + 2), { count: 10 }));
  const stops = Array.from({ length: 7 }, (_, i) => ev(`Stop ${i}`, every(20 + i), 0, { lastDay: '2026-11-01' }));

  it(`largest drop first, at most ${FELL_MOST_LISTED}; the stopped ones under Stopped only, most used first, at most ${STOPPED_LISTED}`, () => {
    const c = eventChanges([...drops, ...stops], { ageDays: OLD }, 8);
    expect(c.fellMost!.map((d) => d.name)).toEqual(['Drop 7', 'Drop 6', 'Drop 5', 'Drop 4', 'Drop 3']);
    expect(c.stopped!.map((d) => d.name)).toEqual(['Stop 6', 'Stop 5', 'Stop 4', 'Stop 3', 'Stop 2']);
    expect(stoppedLines(c)[1]).toBe('Stop 6: about 26 a week in 12 of 12 weeks before; none since Nov 1');
  });

  it(`the digest's line: stopped ones included (−100 %), at most ${FELL_MOST_IN_LINE}`, () => {
    const line = fellMostInLine([...drops, ...stops], { ageDays: OLD });
    expect(line).toHaveLength(FELL_MOST_IN_LINE);
    expect(line.every((d) => d.change === -1)).toBe(true);
    expect(fellMostLine([{ name: 'Dashboard Shared', perWeekBefore: 42, perWeekNow: 3, change: -0.93, trend: 'down sharply' }])).toBe('fell most: Dashboard Shared −93 %');
    expect(fellMostLine([])).toBeNull();
  });

  it('worded "Dashboard Shared: 42 a week → 3 (−93 %)"', () => {
    const c = eventChanges([ev('Dashboard Shared', every(42), 6, { count: 9 })], { ageDays: OLD }, 8);
    expect(fellMostLines(c)[1]).toBe('Dashboard Shared: 42 a week → 3 (−93 %)');
  });

  it('an old company with no events in the windows (history older than the event rollup): nothing to judge, no Fell most line', () => {
    const c = eventChanges([], { ageDays: OLD }, 8);
    expect(c.judged).toBe(false);
    expect(fellMostLines(c)).toEqual([]);
  });

  it('says so when nothing fell', () => {
    const c = eventChanges([ev('Held', every(70), 140)], { ageDays: OLD }, 8);
    expect(fellMostLines(c)[1]).toMatch(/^No event fell/);
    expect(stoppedLines(c)).toEqual([]);
  });

  it.each([
    [0, '0'],
    [0.01, '0.1'],
    [1.43, '1.4'],
    [3, '3'],
    [9.96, '10'],
    [42.4, '42'],
    [1234.5, '1,235'],
  ])('a weekly rate of %d reads %s', (x, s) => expect(formatRate(x)).toBe(s));
});

describe("the book's move", () => {
  it('a fall the whole book made (a holiday fortnight) is not the event\'s news', () => {
    const e = ev('Report Created', every(700), 700); // −50 %
    expect(judgeEvents([e], { ageDays: OLD })[0].trend).toBe('down');
    // The rest of the book halved too: 84 days of 10,000 a day, then 14 days of 5,000.
    const book = { recent: 14 * 5000 + 700, baseline: 84 * 10000 + e.baseline };
    expect(judgeEvents([e], { ageDays: OLD, book })[0].trend).toBe('steady');
    // A steady book leaves it down.
    expect(judgeEvents([e], { ageDays: OLD, book: { recent: 14 * 10000 + 700, baseline: 84 * 10000 + e.baseline } })[0].trend).toBe('down');
  });
});
