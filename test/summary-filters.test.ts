/**
 * The reads that let PostgreSQL pre-select companies (top N, falling, moving)
 * give exactly the answers of the full computation over every company.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companyRows, quiet, QUIET_DETAILED, quietRows, rankByActivity, report, reportCounts, top } from '../src/app/company-reads.js';
import type { Metric, Range } from '../src/domain/types.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { mulberry32 } from '../bench/simulate-book.js';
import { testDatabase, type TestDatabase } from './harness.js';

const NOW = new Date('2026-11-18T15:00:00Z');
const DAY = 86_400_000;

describe('pre-selected reads equal the full computation', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase();
    const rand = mulberry32(42);
    const shapes = ['steady', 'fading', 'growing', 'gone', 'young', 'tiny', 'dip'] as const;
    const calls: Record<string, unknown>[] = [];
    for (let c = 0; c < 42; c++) {
      const shape = shapes[c % shapes.length];
      const base = shape === 'tiny' ? 0.4 : 2 + rand() * (c % 3 === 0 ? 40 : 8);
      const people = 1 + Math.floor(rand() * 6);
      const startBack = shape === 'young' ? 10 + Math.floor(rand() * 20) : 115;
      for (let back = startBack; back >= 0; back--) {
        let rate = base;
        if (shape === 'fading' && back < 35) rate = base * Math.max(0, back - 5) / 30;
        if (shape === 'gone' && back < 16) rate = 0;
        if (shape === 'growing' && back < 20) rate = base * 2.2;
        if (shape === 'dip' && back < 10 && back > 3) rate = base * 0.2;
        const n = Math.floor(rate + rand());
        for (let j = 0; j < n; j++) {
          const t = new Date(Math.floor((NOW.getTime() - back * DAY) / DAY) * DAY + 8 * 3_600_000 + j * 400_000 + Math.floor(rand() * 300_000));
          if (t > NOW) continue;
          calls.push({ type: 'track', userId: `c${c}-p${Math.floor(rand() * people)}`, event: rand() < 0.4 ? 'Key' : 'Other', timestamp: t.toISOString(), context: { groupId: `co-${c}` } });
        }
      }
      calls.push({ type: 'group', userId: `c${c}-p0`, groupId: `co-${c}`, traits: { name: c % 5 === 0 ? `Same Name` : `Company ${c}` }, timestamp: NOW.toISOString() });
    }
    for (let i = 0; i < calls.length; i += 500) {
      const events = parseRequest({ batch: calls.slice(i, i + 500) }, { endpoint: 'batch', receivedAt: NOW, groupKeyPath: null });
      await ingestEvents(tdb.database.db, events, { source: 'test', keyActions: new Set(['Key']) });
    }
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  const cases: [number, Metric][] = [];
  for (const days of [7, 30, 90]) for (const metric of ['key_actions', 'events', 'sessions', 'people'] as Metric[]) cases.push([days, metric]);

  it.each(cases)('%i days by %s: top, quiet and report', async (days, metric) => {
    const ctx = { db: tdb.database.db, keyActions: ['Key'] };
    const range: Range = { days, label: `${days}d` };
    const all = await companyRows(ctx, { now: NOW, range, metric });
    const ranked = rankByActivity(all, metric);
    for (const limit of [1, 5, 50]) {
      expect(await top(ctx, { now: NOW, range, metric, limit })).toEqual({ rows: ranked.slice(0, limit), totalCompanies: ranked.length });
    }
    const quietAll = quietRows(all);
    expect(await quiet(ctx, { now: NOW, range, metric })).toEqual({ rows: quietAll.slice(0, QUIET_DETAILED), total: quietAll.length });
    expect(await report(ctx, { now: NOW, range, metric })).toEqual(reportCounts(all));
    // The book is not trivial: some companies move, some fall.
    if (metric === 'events' && days === 30) {
      expect(quietAll.length).toBeGreaterThan(0);
      expect(all.filter((r) => r.trend === 'up' || r.trend === 'up sharply').length).toBeGreaterThan(0);
      expect(all.filter((r) => r.trend === 'new').length).toBeGreaterThan(0);
    }
  });
});
