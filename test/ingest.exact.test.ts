/**
 * Nothing counted twice, nothing lost: replays, concurrent batches, late and
 * out-of-order events, clock skew, and the database going away mid-run.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rows } from '../src/db/client.js';
import { correctSkew, parseRequest } from '../src/ingest/segment.js';
import { companyTotals } from './helpers/dbq.js';
import { post, startTestApp, testDatabase, usingPostgres } from './harness.js';
import { tcpProxy } from './helpers/proxy.js';

const T0 = Date.parse('2026-11-10T08:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

describe('exactly once', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp({ env: { KEY_ACTIONS: 'Buy' } });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });
  const totalsOf = async (key: string) => (await companyTotals(app.database.db)).find((r) => r.company_key === key);

  it('a replayed batch counts once (per write key, by messageId)', async () => {
    const batch = {
      batch: [
        { type: 'track', userId: 'r1', event: 'Buy', messageId: 'm-1', timestamp: at(0), context: { groupId: 'replay' } },
        { type: 'track', userId: 'r1', event: 'Look', messageId: 'm-2', timestamp: at(1), context: { groupId: 'replay' } },
        { type: 'track', userId: 'r1', event: 'Look', messageId: 'm-2', timestamp: at(1), context: { groupId: 'replay' } },
      ],
    };
    for (let i = 0; i < 3; i++) expect((await post(`${app.url}/v1/batch`, batch)).status).toBe(200);
    expect(await totalsOf('replay')).toEqual({ company_key: 'replay', events: 2, key_actions: 1, sessions: 1, person_days: 1 });
  });

  it('concurrent batches for the same company at the same time all count', async () => {
    const senders = 8;
    const perBatch = 50;
    const results = await Promise.all(
      Array.from({ length: senders }, (_, s) =>
        post(`${app.url}/v1/batch`, {
          batch: Array.from({ length: perBatch }, (_, i) => ({
            type: 'track',
            userId: `c-${i % 10}`,
            event: i % 2 ? 'Buy' : 'Look',
            messageId: `conc-${s}-${i}`,
            timestamp: at(i % 5),
            context: { groupId: 'busy' },
          })),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(senders).fill(200));
    const t = await totalsOf('busy');
    expect(t).toMatchObject({ events: senders * perBatch, key_actions: (senders * perBatch) / 2, person_days: 10 });
    // Ten people, each with events within 5 minutes: ten sessions, however the batches interleaved.
    expect(t?.sessions).toBe(10);
  });

  it('late and out-of-order events land on their own day and merge sessions exactly', async () => {
    const ev = (id: string, minutes: number) => ({ type: 'track', userId: 'late', event: 'Look', messageId: id, timestamp: at(minutes), context: { groupId: 'late-co' } });
    // Two sessions: 0 and 50 minutes (gap 50 > 30).
    await post(`${app.url}/v1/batch`, { batch: [ev('l-1', 0), ev('l-2', 50)] });
    expect((await totalsOf('late-co'))?.sessions).toBe(2);
    // A late event at 25 minutes bridges them: one session.
    await post(`${app.url}/v1/batch`, { batch: [ev('l-3', 25)] });
    expect((await totalsOf('late-co'))?.sessions).toBe(1);
    // An event three days earlier arrives last: its own day, its own session.
    await post(`${app.url}/v1/batch`, { batch: [ev('l-4', -3 * 24 * 60)] });
    const days = await rows<{ day: string; events: number; sessions: number }>(
      app.database.db,
      sql`select day::text, events, sessions from company_days where company_key = 'late-co' order by day`,
    );
    expect(days).toEqual([
      { day: '2026-11-07', events: 1, sessions: 1 },
      { day: '2026-11-10', events: 3, sessions: 1 },
    ]);
    // The person's first sighting moved back with the late event.
    const [p] = await rows<{ first: string }>(app.database.db, sql`select first_seen_at::text as first from people where person_id = 'late'`);
    expect(new Date(p.first).toISOString()).toBe(at(-3 * 24 * 60));
  });

  it('sessions are per company: one person switching companies within 30 minutes has a session at each', async () => {
    const ev = (id: string, minutes: number, company: string) => ({
      type: 'track', userId: 'consultant', event: 'Look', messageId: id, timestamp: at(minutes), context: { groupId: company },
    });
    // A at 0, B at 2, E at 4, A again at 20: A one session, B one, E one.
    await post(`${app.url}/v1/batch`, { batch: [ev('pc-1', 0, 'pc-a'), ev('pc-2', 2, 'pc-b'), ev('pc-3', 4, 'pc-e')] });
    await post(`${app.url}/v1/batch`, { batch: [ev('pc-4', 20, 'pc-a')] });
    expect(await totalsOf('pc-a')).toMatchObject({ events: 2, sessions: 1 });
    expect(await totalsOf('pc-b')).toMatchObject({ events: 1, sessions: 1 });
    expect(await totalsOf('pc-e')).toMatchObject({ events: 1, sessions: 1 });
    // A late B event at 40 is within 30 minutes of nothing at B (B's last was at 2): a second B session;
    // then one at 21 bridges B's two (2 -> 21 -> 40).
    await post(`${app.url}/v1/batch`, { batch: [ev('pc-5', 40, 'pc-b')] });
    expect(await totalsOf('pc-b')).toMatchObject({ events: 2, sessions: 2 });
    await post(`${app.url}/v1/batch`, { batch: [ev('pc-6', 21, 'pc-b')] });
    expect(await totalsOf('pc-b')).toMatchObject({ events: 3, sessions: 1 });
    expect(await totalsOf('pc-a')).toMatchObject({ events: 2, sessions: 1 });
  });

  it('a session stored before sessions were per company (key gap:<start>) still merges and moves exactly', async () => {
    // As the old code stored it: one session at legacy-co, keyed by its start alone.
    const t0 = Date.parse(at(0));
    await post(`${app.url}/v1/batch`, { batch: [{ type: 'track', userId: 'legacy', event: 'Look', messageId: 'lg-1', timestamp: at(0), context: { groupId: 'legacy-co' } }] });
    await app.database.db.execute(sql`update person_sessions set session_key = ${`gap:${t0}`} where person_id = 'legacy'`);
    // An event 10 minutes later joins it; one 60 minutes later is a new session; one at 35 bridges them.
    const ev = (id: string, minutes: number) => ({ type: 'track', userId: 'legacy', event: 'Look', messageId: id, timestamp: at(minutes), context: { groupId: 'legacy-co' } });
    await post(`${app.url}/v1/batch`, { batch: [ev('lg-2', 10)] });
    expect(await totalsOf('legacy-co')).toMatchObject({ events: 2, sessions: 1 });
    await post(`${app.url}/v1/batch`, { batch: [ev('lg-3', 60)] });
    expect(await totalsOf('legacy-co')).toMatchObject({ events: 3, sessions: 2 });
    await post(`${app.url}/v1/batch`, { batch: [ev('lg-4', 35)] });
    expect(await totalsOf('legacy-co')).toMatchObject({ events: 4, sessions: 1 });
    const keys = await rows<{ k: string }>(app.database.db, sql`select session_key as k from person_sessions where person_id = 'legacy'`);
    expect(keys).toEqual([{ k: `gap:${t0}` }]);
  });

  it('a sent session id counts once per person, whatever the gaps', async () => {
    const ev = (id: string, minutes: number) => ({
      type: 'track', userId: 'sid', event: 'Look', messageId: id, timestamp: at(minutes),
      properties: { session_id: 's-1' }, context: { groupId: 'sid-co' },
    });
    await post(`${app.url}/v1/batch`, { batch: [ev('s-1', 0), ev('s-2', 120)] });
    await post(`${app.url}/v1/batch`, { batch: [ev('s-3', 300)] });
    expect(await totalsOf('sid-co')).toMatchObject({ events: 3, sessions: 1 });
  });

  it('the group key: context.groupId, then traits.company.id, then the last company', async () => {
    await post(`${app.url}/v1/batch`, {
      batch: [
        { type: 'identify', userId: 'g1', messageId: 'g-1', timestamp: at(0), traits: { company: { id: 'k-co', name: 'K Co' } } },
        { type: 'track', userId: 'g1', event: 'Look', messageId: 'g-2', timestamp: at(1) },
        { type: 'track', userId: 'g1', event: 'Look', messageId: 'g-3', timestamp: at(2), context: { groupId: 'other-co' } },
        { type: 'track', userId: 'g1', event: 'Look', messageId: 'g-4', timestamp: at(3) },
        { type: 'track', userId: 'g2', event: 'Look', messageId: 'g-5', timestamp: at(3), context: { traits: { company: { id: 'k-co' } } } },
      ],
    });
    expect((await totalsOf('k-co'))?.events).toBe(2);
    expect((await totalsOf('other-co'))?.events).toBe(2);
    const [named] = await rows<{ name: string }>(app.database.db, sql`select name from companies where company_key = 'k-co'`);
    expect(named.name).toBe('K Co');
  });
});

describe('GROUP_KEY_PATH', () => {
  it('reads the group key from the configured path', async () => {
    const app = await startTestApp({ env: { GROUP_KEY_PATH: 'properties.account_id' } });
    try {
      await post(`${app.url}/v1/track`, { userId: 'p1', event: 'Look', properties: { account_id: 'acct_9' } });
      expect((await companyTotals(app.database.db)).map((r) => r.company_key)).toEqual(['acct_9']);
    } finally {
      await app.stop();
      await app.dropDatabase();
    }
  });
});

describe('clock skew (Segment: receivedAt - (sentAt - timestamp))', () => {
  const receivedAt = new Date('2026-11-29T12:00:00.000Z');
  it.each([
    ['client clock 1 hour fast', '2026-11-29T12:59:00.000Z', '2026-11-29T13:00:00.000Z', '2026-11-29T11:59:00.000Z'],
    ['client clock 2 days slow', '2026-11-27T11:00:00.000Z', '2026-11-27T12:00:00.000Z', '2026-11-29T11:00:00.000Z'],
    ['no skew', '2026-11-29T11:30:00.000Z', '2026-11-29T12:00:00.000Z', '2026-11-29T11:30:00.000Z'],
  ])('%s', (_name, timestamp, sentAt, expected) => {
    const [e] = parseRequest({ userId: 'u', event: 'X', timestamp, sentAt }, { endpoint: 'track', receivedAt, groupKeyPath: null });
    expect(e.time.toISOString()).toBe(expected);
  });
  it('batch-level sentAt applies to each event; no timestamp means the time received', () => {
    const events = parseRequest(
      { sentAt: '2026-11-29T12:10:00.000Z', batch: [{ type: 'track', userId: 'u', event: 'X', timestamp: '2026-11-29T12:09:00.000Z' }, { type: 'track', userId: 'u', event: 'Y' }] },
      { endpoint: 'batch', receivedAt, groupKeyPath: null },
    );
    expect(events.map((e) => e.time.toISOString())).toEqual(['2026-11-29T11:59:00.000Z', '2026-11-29T12:00:00.000Z']);
    expect(correctSkew(null, null, receivedAt)).toEqual(receivedAt);
  });
});

describe.skipIf(!usingPostgres)('the database going away mid-run', () => {
  it('answers 503 while it is down, stores everything acknowledged, and recovers by itself', async () => {
    const owned = await testDatabase();
    const target = new URL(owned.url!);
    const proxy = tcpProxy(target);
    const port = await proxy.open();
    const viaProxy = new URL(owned.url!);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    const database = await openDatabase({ databaseUrl: viaProxy.toString(), max: 2 });
    const app = await startTestApp({ database });
    try {
      const send = (i: number) =>
        post(`${app.url}/v1/track`, { userId: `d${i % 3}`, event: 'Look', messageId: `down-${i}`, timestamp: at(i), context: { groupId: 'down-co' } });
      const acknowledged = new Set<number>();
      for (let i = 0; i < 10; i++) if ((await send(i)).status === 200) acknowledged.add(i);
      await proxy.cut();
      const during = await Promise.all([10, 11, 12].map(send));
      expect(during.map((r) => r.status)).toEqual([503, 503, 503]);
      expect(during[0].json?.error).toMatch(/retry/);
      const health = await fetch(`${app.url}/healthz`);
      expect(health.status).toBe(503);
      await proxy.open(port);
      // The client retries what got 503; the app reconnects by itself.
      for (let i = 10; i < 20; i++) {
        let r = await send(i);
        for (let tries = 0; r.status !== 200 && tries < 20; tries++) {
          await new Promise((res) => setTimeout(res, 200));
          r = await send(i);
        }
        if (r.status === 200) acknowledged.add(i);
      }
      expect(acknowledged.size).toBe(20);
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      const t = (await companyTotals(owned.database.db)).find((r) => r.company_key === 'down-co');
      expect(t?.events).toBe(20);
    } finally {
      await app.stop();
      await database.close().catch(() => {});
      await proxy.cut().catch(() => {});
      await owned.drop();
    }
  });
});
