/**
 * Ingestion sends its last statements with COMMIT right behind them, without
 * waiting for their answers (src/ingest/statements.ts). A failure in one of
 * them must still mean: an error (so the HTTP layer answers 503), and nothing
 * of the request stored. A statement of the first group failing likewise.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSummaryFresh } from '../src/db/queries/summary.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { companyTotals, tableCounts } from './helpers/dbq.js';
import { testDatabase, type TestDatabase } from './harness.js';

const NOW = new Date('2026-11-10T15:30:00Z');
const opts = { source: 'test', keyActions: new Set(['Buy']) };

const request = () =>
  parseRequest(
    {
      batch: [
        { type: 'identify', userId: 'n1', messageId: 'c-1', timestamp: '2026-11-10T09:00:00Z', traits: { name: 'New One', company: { id: 'co-c', name: 'Co C' } } },
        { type: 'track', userId: 'n1', event: 'Buy', messageId: 'c-2', timestamp: '2026-11-10T09:01:00Z', context: { groupId: 'co-c' } },
        { type: 'track', userId: 'n2', event: 'Look', messageId: 'c-3', timestamp: '2026-11-10T09:02:00Z', context: { groupId: 'co-c' } },
      ],
    },
    { endpoint: 'batch', receivedAt: NOW, groupKeyPath: null },
  );

describe('a failing statement stores nothing of the request', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await testDatabase();
    await ensureSummaryFresh(tdb.database.db, NOW);
    await tdb.database.db.execute(sql`create function fail_now() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  const nothingStored = async () => {
    expect(await tableCounts(tdb.database.db)).toEqual({ messages: 0, people: 0, companies: 0, company_days: 0, company_people: 0, sessions: 0 });
    const [s] = await tdb.database.db.execute(sql`select count(*)::int as n from company_summary`).then((r) => (Array.isArray(r) ? r : (r as { rows: { n: number }[] }).rows) as { n: number }[]);
    expect(s.n).toBe(0);
  };

  for (const table of ['companies', 'company_summary', 'messages']) {
    it(`when the write to ${table} fails`, async () => {
      await tdb.database.db.execute(sql.raw(`create trigger refuse before insert on ${table} for each row execute function fail_now()`));
      try {
        const err = await ingestEvents(tdb.database.db, request(), opts).then(() => null, (e: unknown) => e);
        // The database's own error (drizzle's PGlite driver wraps it as the cause).
        expect(`${err} ${(err as { cause?: unknown } | null)?.cause}`).toMatch(/refused by test/);
        await nothingStored();
      } finally {
        await tdb.database.db.execute(sql.raw(`drop trigger refuse on ${table}`));
      }
    });
  }

  it('and the same request afterwards is stored once', async () => {
    expect(await ingestEvents(tdb.database.db, request(), opts)).toEqual({ stored: 3, duplicates: 0 });
    expect(await ingestEvents(tdb.database.db, request(), opts)).toEqual({ stored: 0, duplicates: 3 });
    expect(await companyTotals(tdb.database.db)).toEqual([{ company_key: 'co-c', events: 2, key_actions: 1, sessions: 2, person_days: 2 }]);
    const [s] = await tdb.database.db
      .execute(sql`select events_7::int as e, people_7::int as p from company_summary where company_key = 'co-c'`)
      .then((r) => (Array.isArray(r) ? r : (r as { rows: { e: number; p: number }[] }).rows) as { e: number; p: number }[]);
    expect(s).toEqual({ e: 2, p: 2 });
  });
});
