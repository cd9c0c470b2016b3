/**
 * `quiet` and `report` let PostgreSQL decide the trends it can be sure of (decidedWindows)
 * and send Node only the uncertain band. On the seeded book of `npm run bench -- --only reads`
 * (with some large regular accounts whose verdicts are clear), the answers equal the full
 * computation over every company, and what SQL decides is what the rule decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { companyRows, quiet, QUIET_DETAILED, quietRows, report, reportCounts, trendConstants } from '../src/app/company-reads.js';
import { rows } from '../src/db/client.js';
import { decidedWindows } from '../src/db/queries/companies.js';
import { noisePrior } from '../src/db/queries/summary.js';
import { isFalling, isRising, usedToBeActive } from '../src/domain/trend.js';
import type { Metric, Range } from '../src/domain/types.js';
import { seedWith } from '../bench/reads.js';
import { testDatabase, type TestDatabase } from './harness.js';

const NOW = new Date('2026-11-18T15:00:00Z');
const COMPANIES = 1500;

describe('trends decided in PostgreSQL equal the rule', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase();
    const db = tdb.database.db;
    const exec = (text: string) => rows<Record<string, number>>(db, sql.raw(text));
    await seedWith(exec, COMPANIES, NOW);
    // And 60 large, regular accounts (a steady 200 events a day, ±10 % from day to day): 20 fall
    // to 60, 20 double, 20 stay. Their verdicts are clear, so PostgreSQL decides them.
    await exec(`
      insert into companies (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
      select 'big_' || i, 'Big ' || i, '{}'::jsonb, timestamptz '${NOW.toISOString()}' - interval '120 days',
             timestamptz '${NOW.toISOString()}' - interval '120 days', timestamptz '${NOW.toISOString()}' - interval '1 hour'
      from generate_series(1, 60) i`);
    await exec(`
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select 'big_' || i, d::date, x.e, x.e / 4, x.e / 6, 5
      from generate_series(1, 60) i
      cross join generate_series(date '${NOW.toISOString().slice(0, 10)}' - 100, date '${NOW.toISOString().slice(0, 10)}', interval '1 day') d
      cross join lateral (select (200 * (0.9 + 0.2 * ((i * 7 + extract(doy from d)::int * 13) % 11) / 10.0)
             * case when d >= date '${NOW.toISOString().slice(0, 10)}' - 14 then (case i % 3 when 0 then 0.3 when 1 then 2 else 1 end) else 1 end)::int as e) x`);
    // And 40 accounts with thin key actions (2 a day, 14 a week) beside plenty of events (100 a
    // day) and sessions (20 a day), in the last 14 days: thin_1-20 lose half of each (key actions
    // alone cannot tell, sessions can: a fall on evidence); thin_21-30 lose half of their events and
    // sessions but keep their key actions (the asked metric contradicts: steady); thin_31-40 lose half
    // of their key actions only (no evidence: steady).
    await exec(`
      insert into companies (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
      select 'thin_' || i, 'Thin ' || i, '{}'::jsonb, timestamptz '${NOW.toISOString()}' - interval '120 days',
             timestamptz '${NOW.toISOString()}' - interval '120 days', timestamptz '${NOW.toISOString()}' - interval '1 hour'
      from generate_series(1, 40) i`);
    await exec(`
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select 'thin_' || i, d::date,
             case when recent and i <= 30 then 50 else 100 end,
             case when recent and (i <= 20 or i > 30) then 1 else 2 end,
             case when recent and i <= 30 then 10 else 20 end, 3
      from generate_series(1, 40) i
      cross join generate_series(date '${NOW.toISOString().slice(0, 10)}' - 100, date '${NOW.toISOString().slice(0, 10)}', interval '1 day') d
      cross join lateral (select d >= date '${NOW.toISOString().slice(0, 10)}' - 14 as recent) x`);
    // And 91 accounts first seen 20 to 110 days ago, at, just after or just before a UTC midnight,
    // half of them falling by two thirds: SQL's boundaries of the age (old enough for a trend, a
    // full baseline), compared with first_seen_at, meet the rule's on every side.
    await exec(`
      insert into companies (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
      select 'age_' || i, 'Age ' || i, '{}'::jsonb, x.ts, x.ts, timestamptz '${NOW.toISOString()}' - interval '1 hour'
      from generate_series(20, 110) i
      cross join lateral (select (date '${NOW.toISOString().slice(0, 10)}' - i)::timestamp at time zone 'UTC'
             + case i % 3 when 0 then interval '0' when 1 then interval '1 microsecond' else interval '1 day' - interval '1 microsecond' end as ts) x`);
    await exec(`
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select 'age_' || i, d::date, x.e, x.e / 4, x.e / 6, 3
      from generate_series(20, 110) i
      cross join generate_series(date '${NOW.toISOString().slice(0, 10)}' - i, date '${NOW.toISOString().slice(0, 10)}', interval '1 day') d
      cross join lateral (select (case when d >= date '${NOW.toISOString().slice(0, 10)}' - 13 and i % 2 = 0 then 40 else 120 end
             + (i * 7 + extract(doy from d)::int * 13) % 23)::int as e) x`);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  const cases: [number, Metric][] = [
    [30, 'key_actions'],
    [7, 'events'],
    [90, 'people'],
  ];

  it.each(cases)('%i days by %s: quiet and report equal the full computation', async (days, metric) => {
    const ctx = { db: tdb.database.db, keyActions: ['Created Report'] };
    const range: Range = { days, label: `${days}d` };
    const all = await companyRows(ctx, { now: NOW, range, metric });
    const quietAll = quietRows(all);
    if (metric === 'key_actions') {
      // Thin key actions: some falls are called on the evidence of events or sessions (issue 12,
      // point 4), and they are among those SQL leaves to the rule.
      const thin = (from: number, to: number) => all.filter((r) => /^thin_\d+$/.test(r.key) && Number(r.key.slice(5)) >= from && Number(r.key.slice(5)) <= to);
      for (const r of thin(1, 20)) {
        expect(r.trend, r.key).toBe('down');
        expect(r.change, r.key).toBeCloseTo(-0.5, 6);
        expect(r.evidence?.metric, r.key).toBe('sessions');
        expect(r.evidence!.change, r.key).toBeCloseTo(-0.5, 6);
      }
      for (const r of thin(21, 40)) expect(r.trend, r.key).toBe('steady');
      expect(quietAll.filter((r) => r.key.startsWith('thin_')).map((r) => r.key).sort()).toEqual(thin(1, 20).map((r) => r.key).sort());
    }
    // The accounts of every age: some new, and (people did not fall: three each) over 20 falling.
    const aged = all.filter((r) => r.key.startsWith('age_'));
    expect(aged.length).toBe(91);
    expect(aged.filter((r) => r.trend === 'new').length).toBeGreaterThan(0);
    if (metric !== 'people') expect(aged.filter((r) => isFalling(r.trend)).length).toBeGreaterThan(20);
    expect(await quiet(ctx, { now: NOW, range, metric })).toEqual({ rows: quietAll.slice(0, QUIET_DETAILED), total: quietAll.length });
    expect(await report(ctx, { now: NOW, range, metric })).toEqual(reportCounts(all));
  });

  it('decides the clear movers in SQL, each as the rule does', async () => {
    const db = tdb.database.db;
    // Events: four times the key actions, so many verdicts are clear at the seeded swing.
    const metric: Metric = 'events';
    const all = await companyRows({ db, keyActions: ['Created Report'] }, { now: NOW, range: { days: 30, label: '30d' }, metric });
    const byKey = new Map(all.map((r) => [r.key, r]));
    const t = trendConstants(await noisePrior(db, NOW, metric));
    const moving = await decidedWindows(db, { now: NOW, rangeDays: 30, metric, trend: t });
    expect(moving.up).toBe(all.filter((r) => isRising(r.trend)).length - moving.undecided.filter((w) => isRising(byKey.get(w.key)!.trend)).length);
    // The 20 that fell and the 20 that doubled, at least, are decided in SQL.
    expect(moving.down).toBeGreaterThanOrEqual(20);
    expect(moving.up).toBeGreaterThanOrEqual(20);
    // Every falling one it decided, listed in full: falling and used to be active, by the rule.
    const falling = await decidedWindows(db, { now: NOW, rangeDays: 30, metric, trend: t, falling: true, top: COMPANIES });
    expect(falling.downTop.length).toBe(falling.down);
    expect(falling.down).toBeGreaterThanOrEqual(20);
    for (const w of falling.downTop) {
      const row = byKey.get(w.key)!;
      expect(isFalling(row.trend) && usedToBeActive(row.windows)).toBe(true);
    }
    // ... in the order of the biggest drop.
    const changes = falling.downTop.map((w) => byKey.get(w.key)!.change!);
    expect(changes).toEqual([...changes].sort((a, b) => a - b));
  });
});
