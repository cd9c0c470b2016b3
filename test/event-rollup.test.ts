/**
 * The per-company, per-event rollup (company_event_days), through the ingestion API:
 * exact under replays and concurrent batches, page/screen names, and the bound on
 * distinct names per company (EVENT_NAMES_PER_COMPANY, the rest under OTHER_EVENTS).
 * Its equality with the import's write path is in history-store.test.ts.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Db } from '../src/db/client.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS, eventName } from '../src/ingest/event-names.js';
import { ingestHistory } from '../src/ingest/history-store.js';
import { post, startTestApp } from './harness.js';

const T0 = Date.parse('2026-11-10T08:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

const eventDays = (db: Db, key: string) =>
  rows<{ day: string; event: string; count: number }>(
    db,
    sql`select day::text, event, count from company_event_counts where company_key = ${key} order by day, event collate "C"`,
  );
const names = async (db: Db, key: string) =>
  (await rows<{ n: number }>(db, sql`select coalesce((select cardinality(names) from company_event_names where company_key = ${key}), 0)::int as n`))[0].n;

describe('eventName', () => {
  it.each([
    [{ type: 'track', name: 'Dashboard Shared' }, 'Dashboard Shared'],
    [{ type: 'page', name: 'Pricing' }, 'Pricing'],
    [{ type: 'page', name: null }, 'page'],
    [{ type: 'screen', name: null }, 'screen'],
    [{ type: 'screen', name: '' }, 'screen'],
  ] as const)('%o counts under %s', (e, name) => {
    expect(eventName(e)).toBe(name);
  });
});

describe('company_event_days through the API', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp({ env: { KEY_ACTIONS: 'Buy' } });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  it('counts each event once under its name and UTC day; replays and repeats count nothing', async () => {
    const batch = {
      batch: [
        { type: 'track', userId: 'x1', event: 'Buy', messageId: 'e-1', timestamp: at(0), context: { groupId: 'exact' } },
        { type: 'track', userId: 'x1', event: 'Buy', messageId: 'e-2', timestamp: at(1), context: { groupId: 'exact' } },
        { type: 'track', userId: 'x2', event: 'Buy', messageId: 'e-2', timestamp: at(1), context: { groupId: 'exact' } },
        { type: 'page', userId: 'x1', name: 'Pricing', messageId: 'e-3', timestamp: at(2), context: { groupId: 'exact' } },
        { type: 'page', userId: 'x1', messageId: 'e-4', timestamp: at(3), context: { groupId: 'exact' } },
        { type: 'screen', userId: 'x2', messageId: 'e-5', timestamp: at(24 * 60), context: { groupId: 'exact' } },
        // Not activity: counted nowhere.
        { type: 'identify', userId: 'x1', messageId: 'e-6', timestamp: at(4), traits: { name: 'X' } },
        { type: 'group', userId: 'x1', groupId: 'exact', messageId: 'e-7', timestamp: at(5), traits: { name: 'Exact' } },
      ],
    };
    for (let i = 0; i < 3; i++) expect((await post(`${app.url}/v1/batch`, batch)).status).toBe(200);
    expect(await eventDays(app.database.db, 'exact')).toEqual([
      { day: '2026-11-10', event: 'Buy', count: 2 },
      { day: '2026-11-10', event: 'Pricing', count: 1 },
      { day: '2026-11-10', event: 'page', count: 1 },
      { day: '2026-11-11', event: 'screen', count: 1 },
    ]);
    // The same total as company_days.
    const [cd] = await rows<{ n: number }>(app.database.db, sql`select sum(events)::int as n from company_days where company_key = 'exact'`);
    expect(cd.n).toBe(5);
  });

  it('concurrent batches for one company all count, under the same names', async () => {
    const senders = 8;
    const perBatch = 40;
    const results = await Promise.all(
      Array.from({ length: senders }, (_, s) =>
        post(`${app.url}/v1/batch`, {
          batch: Array.from({ length: perBatch }, (_, i) => ({
            type: 'track',
            userId: `c-${i % 5}`,
            event: `E${i % 4}`,
            messageId: `conc-${s}-${i}`,
            timestamp: at(i),
            context: { groupId: 'busy' },
          })),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(senders).fill(200));
    const got = await eventDays(app.database.db, 'busy');
    expect(got).toEqual(['E0', 'E1', 'E2', 'E3'].map((event) => ({ day: '2026-11-10', event, count: (senders * perBatch) / 4 })));
    expect(await names(app.database.db, 'busy')).toBe(4);
  });

  it('concurrent batches bringing new names to a company near its bound never pass it', async () => {
    const track = (event: string, id: string) => ({ type: 'track', userId: 'n1', event, messageId: id, timestamp: at(30), context: { groupId: 'nearly' } });
    const held = EVENT_NAMES_PER_COMPANY - 10;
    expect((await post(`${app.url}/v1/batch`, { batch: Array.from({ length: held }, (_, i) => track(`Held ${i}`, `near-${i}`)) })).status).toBe(200);
    // 8 requests at once, each with 20 names the company does not hold (160 in all, 10 of them fit).
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, s) =>
        post(`${app.url}/v1/batch`, { batch: Array.from({ length: 20 }, (_, i) => track(`New ${s}-${i}`, `near-new-${s}-${i}`)) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await names(app.database.db, 'nearly')).toBe(EVENT_NAMES_PER_COMPANY);
    const got = await eventDays(app.database.db, 'nearly');
    expect(got.filter((r) => r.event !== OTHER_EVENTS)).toHaveLength(EVENT_NAMES_PER_COMPANY);
    expect(got.reduce((n, r) => n + r.count, 0)).toBe(held + 160);
    expect(got.find((r) => r.event === OTHER_EVENTS)?.count).toBe(150);
  });

  it(`10,000 distinct names to one company: ${EVENT_NAMES_PER_COMPANY} kept, the rest under "${OTHER_EVENTS}", every event counted`, async () => {
    const total = 10_000;
    const perBatch = 1000;
    for (let b = 0; b < total / perBatch; b++) {
      const res = await post(`${app.url}/v1/batch`, {
        batch: Array.from({ length: perBatch }, (_, i) => {
          const n = b * perBatch + i;
          return { type: 'track', userId: `w${n % 13}`, event: `Viewed /invoice/${n}`, messageId: `wide-${n}`, timestamp: at(n % 2 === 0 ? 10 : 24 * 60 + 10), context: { groupId: 'wide' } };
        }),
      });
      expect(res.status).toBe(200);
    }
    const got = await eventDays(app.database.db, 'wide');
    // Two days, at most the bound plus "other events" rows on each.
    expect(got.length).toBeLessThanOrEqual(2 * (EVENT_NAMES_PER_COMPANY + 1));
    expect(got.reduce((n, r) => n + r.count, 0)).toBe(total);
    expect(await names(app.database.db, 'wide')).toBe(EVENT_NAMES_PER_COMPANY);
    expect(new Set(got.filter((r) => r.event !== OTHER_EVENTS).map((r) => r.event)).size).toBe(EVENT_NAMES_PER_COMPANY);
    // The first names to arrive are the ones kept.
    expect(got.some((r) => r.event === 'Viewed /invoice/0')).toBe(true);
    expect(got.some((r) => r.event === `Viewed /invoice/${EVENT_NAMES_PER_COMPANY}`)).toBe(false);
    const other = got.filter((r) => r.event === OTHER_EVENTS).reduce((n, r) => n + r.count, 0);
    expect(other).toBe(total - EVENT_NAMES_PER_COMPANY);
    // A kept name still counts under itself afterwards; a folded one still folds.
    await post(`${app.url}/v1/batch`, {
      batch: [
        { type: 'track', userId: 'w1', event: 'Viewed /invoice/0', messageId: 'wide-again-0', timestamp: at(10), context: { groupId: 'wide' } },
        { type: 'track', userId: 'w1', event: 'Viewed /invoice/9999', messageId: 'wide-again-1', timestamp: at(10), context: { groupId: 'wide' } },
      ],
    });
    const after = await eventDays(app.database.db, 'wide');
    const count = (event: string, day: string) => after.find((r) => r.event === event && r.day === day)?.count;
    expect(count('Viewed /invoice/0', '2026-11-10')).toBe(2);
    expect(count(OTHER_EVENTS, '2026-11-10')).toBe(got.find((r) => r.event === OTHER_EVENTS && r.day === '2026-11-10')!.count + 1);
  });

  it('10,000 distinct names in one import slice: the same bound, every event counted', async () => {
    const total = 10_000;
    const events = Array.from({ length: total }, (_, n) => ({
      type: 'track' as const,
      messageId: `imp-${n}`,
      personId: `i${n % 17}`,
      userId: `i${n % 17}`,
      time: new Date(T0 + (n % 3) * 86_400_000),
      name: `Opened /doc/${n}`,
      companyKey: 'imported',
      companyName: null,
      companyTraits: null,
      personTraits: null,
      sessionId: null,
      source: 'segment-import',
    }));
    expect(await ingestHistory(app.database.db, events, { keyActions: new Set() })).toEqual({ stored: total, duplicates: 0 });
    const got = await eventDays(app.database.db, 'imported');
    expect(got.length).toBeLessThanOrEqual(3 * (EVENT_NAMES_PER_COMPANY + 1));
    expect(got.reduce((n, r) => n + r.count, 0)).toBe(total);
    expect(await names(app.database.db, 'imported')).toBe(EVENT_NAMES_PER_COMPANY);
  });
});
