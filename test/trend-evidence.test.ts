/**
 * Issue 12, point 4: when the asked metric (key actions) is thin, a fall the same calibrated
 * test finds on events or sessions counts, if the asked metric moved the same way by a fall's
 * change. Table tests of domain/trend trendWithEvidence on hand-made windows.
 */
import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_MIN_CHANGE,
  EVIDENCE_THIN_PER_WEEK,
  explainTrend,
  trendReason,
  trendVerdict,
  trendWithEvidence,
  type MetricEvidence,
} from '../src/domain/trend.js';
import type { TrendWindows } from '../src/domain/types.js';

/** Windows from a weekly rate before and in the recent 14 days, a full baseline (no weeks: the assumed noise). */
const win = (perWeekBefore: number, perWeekNow: number, ageDays = 200): TrendWindows => ({
  baseline: perWeekBefore * 12,
  recent: perWeekNow * 2,
  ageDays,
});
const events = (before: number, now: number, market?: { recent: number; baseline: number }): MetricEvidence => ({
  metric: 'events',
  windows: win(before, now),
  market,
});

describe('the evidence of the other metrics (thin asked metric)', () => {
  it('a thin fall that key actions alone cannot tell is down when events fall plainly; the figures stay the asked ones', () => {
    const ka = win(14, 7);
    expect(trendVerdict(ka).trend).toBe('steady');
    const v = trendWithEvidence(ka, undefined, null, [events(700, 350)], 'key_actions');
    expect(v.trend).toBe('down');
    expect(v.change).toBeCloseTo(-0.5, 9);
    expect(v.evidence).toEqual({ metric: 'events', change: expect.closeTo(-0.5, 9), asked: 'key_actions' });
    expect(explainTrend(v)).toMatch(/^−50 % over the last 14 days; key actions thin, events −50 %; its weekly swing is usually ±\d+ %$/);
  });

  it('down sharply from −60 % on the asked metric, but never for a tiny account', () => {
    expect(trendWithEvidence(win(30, 9), undefined, null, [events(1500, 450)]).trend).toBe('down sharply');
    expect(trendWithEvidence(win(8, 2), undefined, null, [events(400, 100)]).trend).toBe('down');
  });

  it('never against the asked metric: steady or rising key actions stay so, whatever events do', () => {
    expect(trendWithEvidence(win(14, 13), undefined, null, [events(700, 200)]).trend).toBe('steady');
    expect(trendWithEvidence(win(14, 11), undefined, null, [events(700, 200)]).trend).toBe('steady'); // −21 %: not a fall's change
    // −36 %: a fall's change, but not the plain fall (EVIDENCE_MIN_CHANGE, −40 %) evidence needs.
    expect(EVIDENCE_MIN_CHANGE).toBe(-0.4);
    expect(trendWithEvidence(win(14, 9), undefined, null, [events(700, 200)]).trend).toBe('steady');
    expect(trendWithEvidence(win(14, 8), undefined, null, [events(700, 200)]).trend).toBe('down'); // −43 %
    expect(trendWithEvidence(win(14, 40), undefined, null, [events(700, 200)]).trend).toBe('up sharply');
  });

  it('only when the asked metric is thin: over EVIDENCE_THIN_PER_WEEK it decides alone', () => {
    // 60 a week with a strong own swing (weeks alternating 30 / 90): −30 % is within its noise.
    const weeks = Array.from({ length: 12 }, (_, i) => (i % 2 ? 90 : 30));
    const thick: TrendWindows = { baseline: 720, recent: 84, ageDays: 200, weeks };
    expect(60).toBeGreaterThan(EVIDENCE_THIN_PER_WEEK);
    expect(trendVerdict(thick).trend).toBe('steady');
    expect(trendWithEvidence(thick, undefined, null, [events(3000, 1000)]).trend).toBe('steady');
  });

  it('an evidence metric that is not certain does not count, nor one the book moved with', () => {
    expect(trendWithEvidence(win(14, 7), undefined, null, [events(20, 10)]).trend).toBe('steady');
    // Every account's events fell by half (a holiday fortnight): the rest of the book explains it.
    const book = { recent: 1_000_000 * 2 * 0.5, baseline: 1_000_000 * 12 };
    expect(trendWithEvidence(win(14, 7), undefined, null, [events(700, 350, book)]).trend).toBe('steady');
  });

  it('sessions count too; the first certain one is named', () => {
    const v = trendWithEvidence(win(14, 7), undefined, null, [events(30, 20), { metric: 'sessions', windows: win(300, 100) }], 'key_actions');
    expect(v.trend).toBe('down');
    expect(v.evidence?.metric).toBe('sessions');
  });

  it('the reason show and the alerts give names the thin metric and the evidence, after the change', () => {
    const reason = trendReason({ change: -0.5, swing: 0.3, goneQuiet: false, evidence: { metric: 'sessions', change: -0.62, asked: 'key_actions' } });
    expect(reason).toBe(' over the last 14 days; key actions thin, sessions −62 %; its weekly swing is usually ±30 %');
    expect(trendReason({ change: -0.5, swing: 0.3, goneQuiet: false })).toBe(' over the last 14 days; its weekly swing is usually ±30 %');
  });

  it('a young company is new, whatever the evidence', () => {
    expect(trendWithEvidence(win(14, 2, 20), undefined, null, [events(700, 100)]).trend).toBe('new');
  });
});
