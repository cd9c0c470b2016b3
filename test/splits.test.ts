import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestNames, editDistance, reportCounts } from '../src/app/company-reads.js';
import { dayString, weekBlocks, windowsFor } from '../src/domain/period.js';
import { findSplits, looksLikeName, normaliseName } from '../src/domain/splits.js';
import type { CompanyRow } from '../src/domain/types.js';

describe('normaliseName', () => {
  it.each([
    ['Acme Inc', 'acme'],
    ['ACME, Inc.', 'acme'],
    ['acme ltd', 'acme'],
    ['Acme GmbH', 'acme'],
    ['The Acme Corporation', 'acme'],
    ['Acmé Corp', 'acme'],
    ['Procter & Gamble Co.', 'procter and gamble'],
    ['Inc', 'inc'],
    ['  ', ''],
  ])('%s -> %s', (name, expected) => expect(normaliseName(name)).toBe(expected));
});

describe('split companies', () => {
  it('groups keys whose names are one company once case, punctuation and suffixes are set aside', () => {
    const splits = findSplits([
      { key: 'acct_1', name: 'Acme Inc' },
      { key: 'acct_2', name: 'ACME, Ltd.' },
      { key: 'Acme', name: null },
      { key: 'acct_3', name: 'Globex' },
      { key: 'acct_4', name: null },
    ]);
    expect(splits).toEqual([
      { reason: 'acme', companies: [{ key: 'acct_1', name: 'Acme Inc' }, { key: 'acct_2', name: 'ACME, Ltd.' }, { key: 'Acme', name: null }] },
    ]);
  });
  it.each([
    ['Acme Inc', null, true],
    ['acme', 'Acme', true],
    ['acct_123', 'Acme', false],
    ['6f1c2a', null, false],
    ['org-42', 'Org 42', false],
  ])('key %s (name %s) looks like a name: %s', (key, name, expected) => expect(looksLikeName(key, name)).toBe(expected));
});

describe('closest names', () => {
  const names = [
    { key: 'a', name: 'Acme Inc' },
    { key: 'n', name: 'Northwind Ltd' },
    { key: 'g', name: 'Globex' },
  ];
  it('suggests near spellings and nothing far', () => {
    expect(closestNames('Acne', names).map((n) => n.key)).toEqual(['a']);
    expect(closestNames('globx', names).map((n) => n.key)).toEqual(['g']);
    expect(closestNames('zzzzzz', names)).toEqual([]);
  });
  it('edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('edit distance: a swap of neighbours is one edit; a bound stops early without changing what is within it', () => {
    expect(editDistance('tpo', 'top')).toBe(1);
    expect(editDistance('acme', 'amce')).toBe(1);
    expect(editDistance('abc', 'ca')).toBe(3);
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' '), maxLength: 9 });
    fc.assert(
      fc.property(word, word, fc.nat(6), (a, b, max) => {
        const full = editDistance(a, b);
        const bounded = editDistance(a, b, max);
        if (full <= max) expect(bounded).toBe(full);
        else expect(bounded).toBeGreaterThan(max);
      }),
      { numRuns: 3000 },
    );
  });

  it('closestNames equals the plain computation (every distance in full, then sorted)', () => {
    const plain = (query: string, list: { key: string; name: string | null }[], max = 3) => {
      const q = query.toLowerCase();
      const limit = Math.max(1, Math.ceil(q.length / 3));
      return list
        .map((n) => {
          const label = (n.name ?? n.key).toLowerCase();
          return { n, d: Math.min(...[label, label.slice(0, q.length), ...label.split(/\s+/)].map((c) => editDistance(q, c))) };
        })
        .filter((x) => x.d <= limit)
        .sort((a, b) => a.d - b.d || (a.n.name ?? a.n.key).localeCompare(b.n.name ?? b.n.key))
        .slice(0, max)
        .map((x) => x.n);
    };
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', ' '), minLength: 1, maxLength: 10 });
    const list = fc.uniqueArray(fc.record({ key: fc.string({ minLength: 1, maxLength: 4 }), name: fc.option(text) }), { selector: (n) => n.key, maxLength: 30 });
    fc.assert(
      fc.property(text, list, fc.integer({ min: 1, max: 5 }), (query, names, max) => {
        expect(closestNames(query, names, max)).toEqual(plain(query, names, max));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('periods', () => {
  const now = new Date('2026-11-29T10:00:00Z');
  it('a range of N days ends today, today included; trend windows are complete days before today', () => {
    expect(windowsFor(now, 30)).toMatchObject({
      today: '2026-11-29',
      rangeStart: '2026-10-31',
      recentStart: '2026-11-15',
      recentEnd: '2026-11-28',
      baselineEnd: '2026-11-14',
      baselineStart: '2026-08-23',
    });
    expect(windowsFor(now, 1).rangeStart).toBe('2026-11-29');
  });
  it('12 weeks of 7 days, the last ending today', () => {
    const w = weekBlocks(now);
    expect(w).toHaveLength(12);
    expect(w[11]).toEqual({ start: '2026-11-23', end: '2026-11-29' });
    expect(w[0].start).toBe('2026-09-07');
    expect(dayString(new Date('2026-11-29T23:59:59.999Z'))).toBe('2026-11-29');
  });
});

describe('report counts', () => {
  const row = (trend: CompanyRow['trend'], recent: number, baseline: number, events = recent): CompanyRow => ({
    key: `${trend}-${recent}-${baseline}`,
    name: null,
    activity: { people: events > 0 ? 1 : 0, events, keyActions: 0, sessions: 0 },
    windows: { recent, baseline, ageDays: 200 },
    trend,
    change: null,
  });
  it('active, growing, steady, at risk, gone quiet, new and total', () => {
    const counts = reportCounts([
      row('up', 100, 500),
      row('steady', 100, 600),
      row('down', 50, 1200),
      row('down sharply', 0, 1200, 10),
      row('steady', 0, 0, 0),
      { ...row('new', 5, 0), windows: { recent: 5, baseline: 0, ageDays: 3 } },
    ]);
    expect(counts).toEqual({ active: 5, growing: 1, steady: 2, atRisk: 1, goneQuiet: 1, new: 1, total: 6 });
  });
});
