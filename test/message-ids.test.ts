/**
 * Message ids kept past DEDUP_DAYS (src/ingest/message-ids.ts): the prune moves the live
 * rows into the compact per-day store instead of deleting them, and the import writes there,
 * so an archive imported weeks after the same events arrived live, or an import run again
 * after a week, counts nothing twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../src/db/client.js';
import { DEDUP_DAYS, pruneMessages } from '../src/db/queries/maintenance.js';
import { ingestHistory, type SourcedEvent } from '../src/ingest/history-store.js';
import { messageHash, messageIdHash } from '../src/ingest/message-ids.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { emptyIngested, storedIdCount, tableCounts } from './helpers/dbq.js';
import { ago, DAY, gz, importPaths, join, jsonl, rollupRows, write } from './helpers/import.js';
import { testDatabase, usingPostgres, type TestDatabase } from './harness.js';

const SOURCE = 'test-source'; // the importer's namespace for Segment archives in these tests (helpers/import.ts)
const KEY_ACTIONS = new Set(['Buy']);

describe('message ids past DEDUP_DAYS', () => {
  let t: TestDatabase;
  let dir: string;
  const now = new Date();
  const later = () => new Date(Date.now() + (DEDUP_DAYS + 1) * DAY);
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-ids-'));
    await emptyIngested(t.database.db);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  /** n Segment track calls of one company over the days before now, ids `${prefix}-i`. */
  const lines = (n: number, prefix: string, daysAgo = 30) =>
    Array.from({ length: n }, (_, i) => ({
      type: 'track',
      event: i % 3 === 0 ? 'Buy' : 'Look',
      userId: `${prefix}-u${i % 4}`,
      messageId: `${prefix}-${i}`,
      timestamp: ago(now, daysAgo - (i % 20), 9, i % 60).toISOString(),
      context: { groupId: 'acme' },
    }));
  const live = (records: Record<string, unknown>[]) =>
    ingestEvents(t.database.db, parseRequest({ batch: records }, { endpoint: 'batch', receivedAt: new Date(), groupKeyPath: null }), { source: SOURCE, keyActions: KEY_ACTIONS });
  const rowCount = async () => (await rows<{ n: number }>(t.database.db, sql`select count(*)::int as n from messages`))[0].n;

  it("the import's hash computed in Node is the database's, for every kind of id", async () => {
    const ids = ['ajs-next-1', '', 'x'.repeat(300), 'naïve-ünïcödé-日本語-🎉', "it's \\ \"quoted\"", '0', 'derived:' + 'f'.repeat(64)];
    // Enough random ids that both halves of the signed 64-bit range come up.
    for (let i = 0; i < 200; i++) ids.push(`${i}-${Math.random().toString(36).slice(2)}`);
    const db = await rows<{ m: string; h: string }>(
      t.database.db,
      sql`select m, ${messageHash(sql`m`)}::text as h from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as m`,
    );
    expect(db.map((r) => r.h)).toEqual(ids.map(messageIdHash));
    expect(db.some((r) => r.h.startsWith('-'))).toBe(true);
  });

  it('an archive imported after the live rows were pruned counts nothing twice', async () => {
    const sent = lines(40, 'w');
    expect(await live(sent)).toEqual({ stored: 40, duplicates: 0 });
    const before = await rollupRows(t.database.db);
    await pruneMessages(t.database.db, later());
    // The rows are gone; the ids are kept, compactly.
    expect(await rowCount()).toBe(0);
    expect(await storedIdCount(t.database.db, sent.map((l) => l.messageId))).toBe(40);
    write(join(dir, 'archive.gz'), gz(jsonl([...sent, ...lines(5, 'new')])));
    const r = await importPaths(t.database.db, [dir], { keyActions: [...KEY_ACTIONS] });
    expect([r.stored, r.duplicates]).toEqual([5, 40]);
    const after = await rollupRows(t.database.db);
    const acme = (x: Record<string, string[]>) => x.company_days.map((j) => JSON.parse(j) as { events: number }).reduce((s, d) => s + d.events, 0);
    expect(acme(after)).toBe(acme(before) + 5);
  });

  it('an import run again after a week stores nothing', async () => {
    write(join(dir, 'a.gz'), gz(jsonl(lines(60, 'h', 90))));
    const first = await importPaths(t.database.db, [dir], { keyActions: [...KEY_ACTIONS] });
    expect(first.stored).toBe(60);
    const before = await rollupRows(t.database.db);
    await pruneMessages(t.database.db, later());
    const again = await importPaths(t.database.db, [dir], { keyActions: [...KEY_ACTIONS] });
    expect([again.stored, again.duplicates]).toEqual([0, 60]);
    expect(await rollupRows(t.database.db)).toEqual(before);
    expect((await tableCounts(t.database.db)).messages).toBe(60);
  });

  it('a live retry of an imported event is a duplicate, also when its time crossed midnight; the same id days later is another event', async () => {
    const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 10 * DAY;
    const at = (ms: number) => new Date(ms).toISOString();
    write(join(dir, 'a.jsonl'), jsonl([{ type: 'track', event: 'Buy', userId: 'm-u', messageId: 'm-1', timestamp: at(day - 500), context: { groupId: 'acme' } }]));
    expect((await importPaths(t.database.db, [dir])).stored).toBe(1);
    const retry = { type: 'track', event: 'Buy', userId: 'm-u', messageId: 'm-1', timestamp: at(day + 200), context: { groupId: 'acme' } };
    expect(await live([retry])).toEqual({ stored: 0, duplicates: 1 });
    // Outside the window (as Segment's own dedup has one): stored.
    expect(await live([{ ...retry, timestamp: at(day + 3 * DAY) }])).toEqual({ stored: 1, duplicates: 0 });
  });

  it('rows stored before the day column existed: found by the import by id, and moved by the prune under the day they arrived', async () => {
    await t.database.db.execute(sql`insert into messages (source, message_id, received_at) values (${SOURCE}, 'old-1', now() - interval '1 day')`);
    write(join(dir, 'a.jsonl'), jsonl(lines(3, 'old', 40)));
    const r = await importPaths(t.database.db, [dir]);
    expect([r.stored, r.duplicates]).toEqual([2, 1]);
    // A live event of the day before, stored before 0012: after the prune its retry is still one.
    await t.database.db.execute(sql`insert into messages (source, message_id, received_at) values (${SOURCE}, 'legacy-live', now() - interval '1 day')`);
    await pruneMessages(t.database.db, later());
    expect(await rowCount()).toBe(0);
    const retry = { type: 'track', event: 'Buy', userId: 'l-u', messageId: 'legacy-live', timestamp: ago(now, 1).toISOString(), context: { groupId: 'acme' } };
    expect(await live([retry])).toEqual({ stored: 0, duplicates: 1 });
  });

  it.skipIf(!usingPostgres)('events on thousands of days at once: live batches and the prune hold a bounded number of locks', async () => {
    // Each batch: 4,500 events on 4,500 different days since 2001 (about 470 KB, under the batch limit).
    const batch = (r: number) =>
      Array.from({ length: 4500 }, (_, i) => ({ type: 'track', event: 'Look', userId: `d-u${i % 50}`, messageId: `d${r}-${i}`, timestamp: new Date(Date.UTC(2001, 0, 1) + i * DAY).toISOString() }));
    const sent = await Promise.allSettled([0, 1, 2, 3].map((r) => live(batch(r))));
    expect(sent.map((x) => (x.status === 'fulfilled' ? x.value.stored : String(x.reason)))).toEqual([4500, 4500, 4500, 4500]);
    // Three more sources on the same days, then every row moves: one prune, all of them.
    for (const source of ['s1', 's2', 's3']) {
      const events = parseRequest({ batch: batch(9) }, { endpoint: 'batch', receivedAt: new Date(), groupKeyPath: null });
      await ingestEvents(t.database.db, events, { source, keyActions: KEY_ACTIONS });
    }
    await pruneMessages(t.database.db, later());
    expect(await rowCount()).toBe(0);
    expect((await tableCounts(t.database.db)).messages).toBe(4 * 4500 + 3 * 4500);
  });

  // PGlite runs one transaction at a time: only PostgreSQL can race them.
  it.skipIf(!usingPostgres)('across midnight: a slice of day D against live retries on D+1, and the prune of D against retries on D+1, at the same time, store each id once', async () => {
    const received = new Date();
    const D = Date.UTC(received.getUTCFullYear(), received.getUTCMonth(), received.getUTCDate()) - 20 * DAY;
    const calls = (r: number, ms: number) =>
      Array.from({ length: 100 }, (_, i) => ({ type: 'track', event: 'Look', userId: `m${r}-${i % 7}`, messageId: `M${r}-${i}`, timestamp: new Date(ms + i).toISOString() }));
    const parse = (b: Record<string, unknown>[]) => parseRequest({ batch: b }, { endpoint: 'batch', receivedAt: received, groupKeyPath: null });
    for (let r = 0; r < 20; r++) {
      // The import has them at 23:59:59 on D; the live retries, their clocks corrected, at 00:00:00 on D+1.
      const imported = parse(calls(r, D + DAY - 1000)).map((e) => ({ ...e, source: SOURCE }));
      const retried = calls(r, D + DAY + 100);
      const results = await Promise.all([ingestHistory(t.database.db, imported, { keyActions: KEY_ACTIONS }), live(retried.slice(0, 50)), live(retried.slice(50))]);
      expect(results.reduce((n, x) => n + x.stored, 0), `import round ${r}`).toBe(100);
    }
    for (let r = 100; r < 120; r++) {
      const first = calls(r, D + 4 * DAY - 500);
      await live(first);
      await t.database.db.execute(sql`update messages set received_at = now() - interval '8 days' where message_id like ${`M${r}-%`}`);
      const retried = calls(r, D + 4 * DAY + 500);
      const results = await Promise.all([pruneMessages(t.database.db, new Date()).then(() => ({ stored: 0 })), live(retried.slice(0, 50)), live(retried.slice(50))]);
      expect(results.reduce((n, x) => n + x.stored, 0), `prune round ${r}`).toBe(0);
    }
  });


  it.skipIf(!usingPostgres)('an import slice and live requests with the same ids at the same time store each id once', async () => {
    for (let round = 0; round < 8; round++) {
      const records = lines(120, `c${round}`, 25);
      const events = parseRequest({ batch: records }, { endpoint: 'batch', receivedAt: new Date(), groupKeyPath: null });
      const sourced: SourcedEvent[] = events.map((e) => ({ ...e, source: SOURCE }));
      const results = await Promise.all([
        ingestHistory(t.database.db, sourced, { keyActions: KEY_ACTIONS }),
        live(records.slice(0, 60)),
        live(records.slice(60)),
        ingestHistory(t.database.db, sourced.slice(30, 90), { keyActions: KEY_ACTIONS }),
      ]);
      expect(results.reduce((s, x) => s + x.stored, 0), `round ${round}`).toBe(120);
      expect(await storedIdCount(t.database.db, records.map((l) => l.messageId))).toBe(120);
    }
    const [events] = await rows<{ n: number }>(t.database.db, sql`select coalesce(sum(events), 0)::int as n from company_days`);
    expect(events.n).toBe(8 * 120);
  });
});
