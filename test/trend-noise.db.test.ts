/**
 * The trend's noise as the daily rollover stores it (company_summary.phi_*, active_weeks_*,
 * summary_state.noise_prior) is exactly the domain's estimator on each company's baseline
 * weeks, read back from company_days; and the replies judge with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rows } from '../src/db/client.js';
import { baselineWeekly } from '../src/db/queries/companies.js';
import { companyRows } from '../src/app/company-reads.js';
import { ensureSummaryFresh, noisePrior } from '../src/db/queries/summary.js';
import { bookWeekFactors, fitNoisePrior, ownDispersion, OWN_SKIP_WEEKS, withoutBookMove } from '../src/domain/trend.js';
import type { Metric } from '../src/domain/types.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { mulberry32 } from '../bench/simulate-book.js';
import { testDatabase, type TestDatabase } from './harness.js';

const NOW = new Date('2026-11-18T15:00:00Z');
const DAY = 86_400_000;
const COMPANIES = 40;

describe('the noise the rollover measures', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase();
    const rand = mulberry32(12);
    const calls: Record<string, unknown>[] = [];
    for (let c = 0; c < COMPANIES; c++) {
      // Steady, swinging, young (50 days), one with a holiday-like week, one that stopped.
      const base = 1 + rand() * 12;
      const startBack = c % 10 === 3 ? 50 : 112;
      for (let back = startBack; back >= 0; back--) {
        const week = Math.floor(back / 7);
        let rate = base * (c % 4 === 1 ? (week % 2 ? 1.4 : 0.6) : 1);
        if (back >= 50 && back < 57) rate *= 0.3;
        if (c % 10 === 7 && back < 16) rate = 0;
        const n = Math.floor(rate + rand());
        for (let j = 0; j < n; j++) {
          const t = new Date(Math.floor((NOW.getTime() - back * DAY) / DAY) * DAY + 8 * 3_600_000 + j * 400_000);
          calls.push({ type: 'track', userId: `c${c}-p${j % 3}`, event: rand() < 0.5 ? 'Key' : 'Other', timestamp: t.toISOString(), context: { groupId: `co-${c}` } });
        }
      }
    }
    for (let i = 0; i < calls.length; i += 500) {
      const events = parseRequest({ batch: calls.slice(i, i + 500) }, { endpoint: 'batch', receivedAt: NOW, groupKeyPath: null });
      await ingestEvents(tdb.database.db, events, { source: 'test', keyActions: new Set(['Key']) });
    }
    await ensureSummaryFresh(tdb.database.db, NOW);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it.each(['key_actions', 'events', 'sessions', 'people'] as Metric[])('%s: own dispersion, active weeks and the book prior equal the domain estimator', async (metric) => {
    const db = tdb.database.db;
    const stored = await rows<{ k: string; phi: number | null; act: number; age: number }>(
      db,
      sql.raw(`select s.company_key as k, s.phi_${metric}::float8 as phi, s.active_weeks_${metric}::int as act,
                      (date '2026-11-18' - (c.first_seen_at at time zone 'UTC')::date) as age
               from company_summary s join companies c on c.company_key = s.company_key`),
    );
    expect(stored.length).toBe(COMPANIES);
    const weeks = await baselineWeekly(db, { now: NOW, metric, keys: stored.map((s) => s.k) });
    const had = (age: number) => Math.max(0, Math.floor(Math.min(84, age - 14) / 7));
    const full = stored.filter((s) => had(Number(s.age)) === 12).map((s) => weeks.get(s.k)!);
    const factors = bookWeekFactors(full);
    // The holiday-like week is in the book's move.
    expect(Math.min(...factors)).toBeLessThan(0.8);
    let young = 0;
    for (const s of stored) {
      const h = had(Number(s.age));
      if (h < 12) young++;
      const w = weeks.get(s.k)!.slice(12 - h);
      const adjusted = withoutBookMove(w, factors);
      const own = ownDispersion(adjusted.slice(0, Math.max(0, adjusted.length - OWN_SKIP_WEEKS)));
      if (own === null) expect(s.phi, s.k).toBeNull();
      else expect(Number(s.phi), s.k).toBeCloseTo(own.phi, 9);
      expect(Number(s.act), s.k).toBe(w.filter((x) => x > 0).length);
    }
    expect(young).toBeGreaterThan(0);
    const prior = await noisePrior(db, NOW, metric);
    const want = fitNoisePrior(full);
    expect(prior).not.toBeNull();
    expect(prior!.perWeek).toEqual(want!.perWeek.map((x) => expect.closeTo(x, 9)));
    expect(prior!.phi).toEqual(want!.phi.map((x) => expect.closeTo(x, 9)));
  });

  it("a company ingested after the day's rollover has its noise measured by the next read, and can be gone quiet that day", async () => {
    const db = tdb.database.db;
    // Busy every day of its baseline (6 a day), silent for the last 15 days; sent today, after the rollover.
    const calls: Record<string, unknown>[] = [];
    for (let back = 112; back >= 16; back--) {
      for (let j = 0; j < 6; j++) {
        const t = new Date(Math.floor((NOW.getTime() - back * DAY) / DAY) * DAY + 9 * 3_600_000 + j * 60_000);
        calls.push({ type: 'track', userId: `late-p${j % 2}`, event: 'Key', timestamp: t.toISOString(), context: { groupId: 'co-late' } });
      }
    }
    for (let i = 0; i < calls.length; i += 500) {
      await ingestEvents(db, parseRequest({ batch: calls.slice(i, i + 500) }, { endpoint: 'batch', receivedAt: NOW, groupKeyPath: null }), { source: 'test', keyActions: new Set(['Key']) });
    }
    const unmeasured = async () =>
      (await rows<{ act: number }>(db, sql`select active_weeks_events::int as act from company_summary where company_key = 'co-late'`))[0].act;
    expect(await unmeasured()).toBe(0); // written by ingestion, not measured yet
    const row = (await companyRows({ db, keyActions: ['Key'] }, { now: NOW, range: { days: 30, label: '30d' }, metric: 'events' })).find((r) => r.key === 'co-late')!;
    expect(await unmeasured()).toBe(12);
    expect(row.goneQuiet).toBe(true);
    expect(row.trend).toMatch(/^down/);
    // Measured as the rollover would: the book's move it stored, the latest weeks left out.
    const weeks = (await baselineWeekly(db, { now: NOW, metric: 'events', keys: ['co-late'] })).get('co-late')!;
    const prior = await noisePrior(db, NOW, 'events');
    const own = ownDispersion(withoutBookMove(weeks, prior!.weekFactors).slice(0, 12 - OWN_SKIP_WEEKS))!;
    expect(row.windows.noise?.phi).toBeCloseTo(own.phi, 9);
  });
});
