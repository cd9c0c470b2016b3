import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  escapeMrkdwn,
  formatCount,
  formatDay,
  formatNumber,
  formatPercent,
  formatShare,
  metricLabel,
  relativeTime,
  sparkline,
  truncate,
} from '../src/render/format.js';
import type { Metric } from '../src/domain/types.js';

describe('escapeMrkdwn', () => {
  it.each([
    ['plain', 'plain'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<https://x|y>', '&lt;https://x|y&gt;'],
    ['&amp;', '&amp;amp;'],
    ['A & B', 'A &amp; B'],
    ['@here', '@here'],
    ['@channel *bold* _it_ ~s~ `code` "q" \'s\'', '@channel *bold* _it_ ~s~ `code` "q" \'s\''],
    ['', ''],
  ])('%j -> %j', (input, out) => expect(escapeMrkdwn(input)).toBe(out));

  it('leaves no < or > and no bare & on any string', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const e = escapeMrkdwn(s);
        expect(e).not.toMatch(/[<>]/);
        expect(e.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
        expect(e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')).toBe(s);
      }),
    );
  });
});

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1200, '1,200'],
    [1234567, '1,234,567'],
    [-1200, '-1,200'],
    [12.6, '13'],
    [-0.2, '0'],
    [Number.NaN, '—'],
    [Infinity, '—'],
  ])('%s -> %s', (n, s) => expect(formatNumber(n)).toBe(s));
});

describe('formatPercent', () => {
  it.each([
    [-0.9, '−90 %'],
    [-1, '−100 %'],
    [0.35, '+35 %'],
    [0, '0 %'],
    [0.004, '0 %'],
    [-0.004, '0 %'],
    [19, '+1,900 %'],
    [-0.255, '−26 %'],
    [Number.NaN, '—'],
  ])('%s -> %s', (n, s) => expect(formatPercent(n)).toBe(s));
  it('uses the real minus sign', () => expect(formatPercent(-0.5).charCodeAt(0)).toBe(0x2212));
});

describe('relativeTime', () => {
  const now = new Date('2025-06-02T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const MIN = 60_000;
  const H = 60 * MIN;
  const D = 24 * H;
  it.each([
    [0, 'just now'],
    [-5 * MIN, 'just now'],
    [59_000, 'just now'],
    [MIN, '1 minute ago'],
    [5 * MIN, '5 minutes ago'],
    [59 * MIN, '59 minutes ago'],
    [H, '1 hour ago'],
    [3 * H, '3 hours ago'],
    [23 * H, '23 hours ago'],
    [D, 'yesterday'],
    [47 * H, 'yesterday'],
    [2 * D, '2 days ago'],
    [3 * D, '3 days ago'],
    [13 * D, '13 days ago'],
    [14 * D, '2 weeks ago'],
    [59 * D, '8 weeks ago'],
    [60 * D, '2 months ago'],
    [125 * D, '4 months ago'],
    [364 * D, '12 months ago'],
    [365 * D, '1 year ago'],
    [800 * D, '2 years ago'],
  ])('%s ms ago -> %s', (ms, s) => expect(relativeTime(ago(ms), now)).toBe(s));
  it('an invalid date is "just now", not NaN', () => expect(relativeTime(new Date('x'), now)).toBe('just now'));
});

describe('sparkline', () => {
  it.each([
    [[], ''],
    [[0, 0, 0], '▁▁▁'],
    [[1, 2, 3, 4, 5, 6, 7, 8].map((x) => x * 10), '▂▃▄▅▅▆▇█'],
    [[0, 7], '▁█'],
    [[5], '█'],
    [[0, 1, 1000], '▁▂█'],
    [[-3, 0, 4], '▁▁█'],
    [[Number.NaN, 2], '▁█'],
  ])('%j -> %s', (values, s) => expect(sparkline(values)).toBe(s));
  it('one bar per value', () => {
    fc.assert(
      fc.property(fc.array(fc.double()), (vs) => {
        expect([...sparkline(vs)].length).toBe(vs.length);
      }),
    );
  });
});

describe('metricLabel and formatCount', () => {
  it.each<[Metric, number, string]>([
    ['key_actions', 1, 'key action'],
    ['key_actions', 2, 'key actions'],
    ['key_actions', 0, 'key actions'],
    ['events', 1, 'event'],
    ['events', 5, 'events'],
    ['sessions', 1, 'session'],
    ['sessions', 3, 'sessions'],
    ['people', 1, 'person'],
    ['people', 14, 'people'],
  ])('%s %s -> %s', (m, n, s) => expect(metricLabel(m, n)).toBe(s));
  it('counts with separators', () => {
    expect(formatCount(1200, 'key_actions')).toBe('1,200 key actions');
    expect(formatCount(1, 'people')).toBe('1 person');
  });
});

describe('truncate', () => {
  it.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven chars', 10, 'eleven ch…'],
    ['abc', 1, '…'],
    ['abc', 0, ''],
    ['ab😀cd', 4, 'ab…'],
  ])('%j, %s -> %j', (s, max, out) => expect(truncate(s, max)).toBe(out));
  it('never longer than max', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(50), (s, max) => {
        expect(truncate(s, max).length).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe('formatDay and formatShare', () => {
  it('days in UTC', () => expect(formatDay(new Date('2025-03-03T23:30:00Z'))).toBe('Mar 3'));
  it.each([
    [45, 100, '45 %'],
    [2, 3, '67 %'],
    [0, 0, '—'],
  ])('%s of %s', (a, b, s) => expect(formatShare(a, b)).toBe(s));
});
