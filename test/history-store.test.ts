/**
 * The history import's write path (src/ingest/history-store.ts) against the live
 * one: the same calls through ingestEvents (one request per source group, in
 * order) on one database and through ingestHistory on another must leave every
 * table equal, row by row; a repeated call stores nothing; a call that fails
 * midway leaves nothing.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Db } from '../src/db/client.js';
import { ensureSummaryFresh } from '../src/db/queries/summary.js';
import { pruneMessages } from '../src/db/queries/maintenance.js';
import { HistoryInputError, ingestHistory, type SourcedEvent } from '../src/ingest/history-store.js';
import { MERGED_TRAITS, parseRequest, traitEntryBytes } from '../src/ingest/segment.js';
import { sqlState } from '../src/db/sqlutil.js';
import { ingestEvents } from '../src/ingest/store.js';
import { STORED_MESSAGE_IDS, messageHash } from '../src/ingest/message-ids.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS } from '../src/ingest/event-names.js';
import { mulberry32 } from '../bench/simulate-book.js';
import { emptyIngested } from './helpers/dbq.js';
import { testDatabase, type TestDatabase } from './harness.js';

const KEY_ACTIONS = new Set(['Buy']);
const T0 = Date.parse('2026-11-01T00:00:00Z');
/** The summary is valid for a day after the events, so the increments land in its windows. */
const SUMMARY_NOW = new Date('2026-11-20T12:00:00Z');
const SOURCES = ['segment-import', 'mixpanel'];

type Raw = Record<string, unknown>;

/** Every table ingestion writes, every column, in key order. */
const TABLES: Record<string, string> = {
  // Stored ids from both stores, as (source, event day, hash): the live path keeps rows, the import compact sets.
  messages: `select source, day::text, h::text from ${STORED_MESSAGE_IDS} ids order by 1, 2, 3`,
  people: `select person_id, company_key, company_at::text, name, email, traits::text, trait_keys::text, traits_at::text, first_seen_at::text, last_active_at::text
           from people order by person_id`,
  companies: 'select company_key, name, traits::text, trait_keys::text, traits_at::text, first_seen_at::text, last_seen_at::text from companies order by company_key',
  company_days: 'select company_key, day::text, events, key_actions, sessions, people from company_days order by company_key, day',
  company_people: `select company_key, person_id, first_seen_at::text, last_seen_at::text, events, key_actions, sessions
                   from company_people order by company_key, person_id`,
  company_person_days: 'select company_key, person_id, day::text, events, key_actions, sessions from company_person_days order by 1, 2, 3',
  person_sessions: 'select person_id, session_key, started_at::text, ended_at::text, company_key, day::text from person_sessions order by 1, 2',
  company_event_days: 'select company_key, day::text, event, count from company_event_counts order by 1, 2, 3',
  // Each company's names in the order it took them.
  company_event_names: 'select company_key, u.i, u.event from company_event_names, unnest(names) with ordinality as u(event, i) order by 1, 2',
  company_summary: 'select * from company_summary order by company_key',
  summary_state: 'select id, as_of::text from summary_state order by id',
};

async function snapshot(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [name, q] of Object.entries(TABLES)) out[name] = await rows(db, sql.raw(q));
  return out;
}

/** A random stream of Segment calls: few people and companies, so that everything collides. */
function randomStream(seed: number, n: number): SourcedEvent[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const people = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
  const companies = ['c0', 'c1', 'c2', 'c3'];
  // Bursts around a few anchors (sessions that merge, split and cross midnight).
  const anchors = Array.from({ length: 12 }, () => T0 + Math.floor(rnd() * 6) * 86_400_000 + Math.floor(rnd() * 24) * 3_600_000 - 1_800_000);
  const raws: Raw[] = [];
  const ids: string[] = [];
  const timeOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const anon = rnd() < 0.08;
    const who: Raw = anon ? { anonymousId: `a${Math.floor(rnd() * 3)}` } : { userId: pick(people) };
    const drawn = pick(anchors) + Math.floor(rnd() * 50 * 60_000);
    // A few ids repeat (duplicates inside the stream, sometimes in another source): sent again
    // within 10 minutes of the first, as a retry is (an id is a duplicate within a day of its time).
    const messageId = ids.length > 0 && rnd() < 0.05 ? pick(ids) : `m${i}`;
    const first = timeOf.get(messageId);
    const timestamp = new Date(first === undefined ? drawn : first + (drawn % 600_000)).toISOString();
    if (first === undefined) timeOf.set(messageId, drawn);
    ids.push(messageId);
    const r = rnd();
    let e: Raw;
    if (r < 0.55) e = { type: 'track', event: pick(['Buy', 'Look', 'Share']) };
    else if (r < 0.65) e = rnd() < 0.6 ? { type: 'page', name: 'Home' } : { type: 'page' };
    else if (r < 0.8) {
      const traits: Raw = {};
      if (rnd() < 0.6) traits.name = `Name ${Math.floor(rnd() * 4)}`;
      if (rnd() < 0.5) traits.email = `p${Math.floor(rnd() * 4)}@x.example`;
      traits[pick(['plan', 'role', 'seat'])] = Math.floor(rnd() * 3);
      if (rnd() < 0.3) traits.company = rnd() < 0.5 ? { id: pick(companies), name: `Co ${Math.floor(rnd() * 3)}` } : { id: pick(companies) };
      e = { type: 'identify', traits };
    } else {
      const traits: Raw = { [pick(['tier', 'plan', 'size'])]: Math.floor(rnd() * 3) };
      if (rnd() < 0.7) traits.name = `Company ${Math.floor(rnd() * 3)}`;
      e = { type: 'group', groupId: pick(companies), traits };
    }
    if (e.type === 'track' || e.type === 'page') {
      if (rnd() < 0.3) e.context = { groupId: pick(companies) };
      if (rnd() < 0.1) e.properties = { session_id: `s${Math.floor(rnd() * 3)}` };
    }
    raws.push({ ...e, ...who, messageId, timestamp });
  }
  const events = parseRequest({ batch: raws }, { endpoint: 'batch', receivedAt: new Date(T0 + 30 * 86_400_000), groupKeyPath: null });
  return events.map((e) => ({ ...e, source: rnd() < 0.85 ? SOURCES[0] : SOURCES[1] }));
}

/**
 * The calls an importer could make: time-ordered slices of random sizes, with repeats,
 * overlaps, one out of order, and, at the end, events older than what is stored.
 */
function slicesOf(events: SourcedEvent[], seed: number): SourcedEvent[][] {
  const rnd = mulberry32(seed ^ 0x5eed);
  const sorted = [...events].sort((a, b) => a.time.getTime() - b.time.getTime());
  const held: SourcedEvent[] = [];
  const main: SourcedEvent[] = [];
  for (const e of sorted) (rnd() < 0.15 ? held : main).push(e);
  const calls: SourcedEvent[][] = [];
  let i = 0;
  while (i < main.length) {
    const size = 5 + Math.floor(rnd() * 60);
    const slice = main.slice(i, i + size);
    calls.push(slice);
    const r = rnd();
    if (r < 0.15) calls.push(slice); // a re-run of the same call
    else if (r < 0.3 && calls.length > 1) calls.push([...calls[calls.length - 2].slice(-10), ...slice.slice(0, 10)]); // overlap
    else if (r < 0.4) calls.push([...slice].reverse()); // the same events again, out of order
    i += size;
  }
  // A resumed or late run: older than everything stored, in two calls, then once more.
  const half = held.length >> 1;
  calls.push(held.slice(0, half), held.slice(half), held);
  return calls;
}

/** The live path for one call: one request per source group, in order of first appearance. */
async function live(db: Db, call: SourcedEvent[]) {
  const groups = new Map<string, SourcedEvent[]>();
  for (const e of call) {
    const g = groups.get(e.source);
    if (g) g.push(e);
    else groups.set(e.source, [e]);
  }
  const total = { stored: 0, duplicates: 0 };
  for (const [source, evs] of groups) {
    const r = await ingestEvents(db, evs, { source, keyActions: KEY_ACTIONS });
    total.stored += r.stored;
    total.duplicates += r.duplicates;
  }
  return total;
}

const ev = (over: Partial<SourcedEvent> & Pick<SourcedEvent, 'type' | 'messageId' | 'personId' | 'time'>): SourcedEvent => ({
  userId: over.personId,
  name: null,
  companyKey: null,
  companyName: null,
  companyTraits: null,
  personTraits: null,
  sessionId: null,
  source: 'segment-import',
  ...over,
});

describe('ingestHistory against the live path', () => {
  let liveDb: TestDatabase;
  let histDb: TestDatabase;
  beforeAll(async () => {
    [liveDb, histDb] = await Promise.all([testDatabase(), testDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([liveDb?.drop(), histDb?.drop()]);
  });

  const reset = async () => {
    for (const d of [liveDb, histDb]) {
      await emptyIngested(d.database.db);
      await ensureSummaryFresh(d.database.db, SUMMARY_NOW);
    }
  };

  for (const seed of [1, 2, 3, 4]) {
    it(`random stream ${seed}: every table equal, row by row, call after call`, async () => {
      await reset();
      const calls = slicesOf(randomStream(seed, 400), seed);
      let checked = 0;
      let pruned = 0;
      for (const [n, call] of calls.entries()) {
        const a = await live(liveDb.database.db, call);
        const b = await ingestHistory(histDb.database.db, call, { keyActions: KEY_ACTIONS });
        expect(b, `call ${n}`).toEqual(a);
        // Now and then the live side's ids age past DEDUP_DAYS: the prune moves its rows into the
        // compact store, and the calls after must still find them there.
        if (n % 7 === 3) {
          const ids = (await snapshot(liveDb.database.db)).messages;
          await pruneMessages(liveDb.database.db, new Date(Date.now() + 8 * 86_400_000));
          // The prune moves ids and loses none.
          expect((await snapshot(liveDb.database.db)).messages).toEqual(ids);
          pruned++;
        }
        // Compare often, not only at the end: a difference is easier to read where it starts.
        if (n % 5 === 0 || n === calls.length - 1) {
          expect(await snapshot(histDb.database.db), `after call ${n}`).toEqual(await snapshot(liveDb.database.db));
          checked++;
        }
      }
      const end = await snapshot(histDb.database.db);
      // The stream reached every part of the model, so the equality above says something.
      expect(end.company_summary.length).toBeGreaterThan(0);
      expect(end.person_sessions.some((r) => (r as { session_key: string }).session_key.startsWith('id:'))).toBe(true);
      expect(end.company_days.some((r) => (r as { company_key: string }).company_key === '')).toBe(true);
      expect(end.company_event_days.some((r) => (r as { event: string }).event === 'page')).toBe(true);
      expect(checked).toBeGreaterThan(3);
      expect(pruned).toBeGreaterThan(1);
      const [rowsLeft] = await rows<{ n: number }>(liveDb.database.db, sql`select count(*)::int as n from messages`);
      expect(rowsLeft.n).toBeLessThan(end.messages.length);
    });
  }

  it('past the bound on event names, the import keeps the names the live path keeps', async () => {
    await reset();
    // 3 calls of 150 names each, overlapping: 350 distinct names to one company, over 2 days.
    const calls = [0, 100, 200].map((from, c) =>
      Array.from({ length: 150 }, (_, i) =>
        ev({
          type: 'track',
          messageId: `wide-${c}-${i}`,
          personId: `w${i % 7}`,
          time: new Date(T0 + (c * 150 + i) * 60_000),
          name: `Viewed /invoice/${from + i}`,
          companyKey: 'wide',
        }),
      ),
    );
    for (const call of calls) {
      await live(liveDb.database.db, call);
      await ingestHistory(histDb.database.db, call, { keyActions: KEY_ACTIONS });
    }
    const a = await snapshot(liveDb.database.db);
    expect(await snapshot(histDb.database.db)).toEqual(a);
    expect(a.company_event_names).toHaveLength(EVENT_NAMES_PER_COMPANY);
    const days = a.company_event_days as { event: string; count: number }[];
    expect(days.reduce((n, r) => n + r.count, 0)).toBe(450);
    expect(days.some((r) => r.event === OTHER_EVENTS)).toBe(true);
  });

  it('one large call equals the same call sent live as one request per source', async () => {
    await reset();
    const events = randomStream(99, 1500).sort((a, b) => a.time.getTime() - b.time.getTime());
    const a = await live(liveDb.database.db, events);
    const b = await ingestHistory(histDb.database.db, events, { keyActions: KEY_ACTIONS });
    expect(b).toEqual(a);
    expect(await snapshot(histDb.database.db)).toEqual(await snapshot(liveDb.database.db));
  });

  it('exactly once: a repeated call stores nothing and changes nothing', async () => {
    await reset();
    const events = randomStream(7, 300);
    const first = await ingestHistory(histDb.database.db, events, { keyActions: KEY_ACTIONS });
    expect(first.stored).toBeGreaterThan(250);
    const before = await snapshot(histDb.database.db);
    const again = await ingestHistory(histDb.database.db, events, { keyActions: KEY_ACTIONS });
    expect(again).toEqual({ stored: 0, duplicates: events.length });
    expect(await snapshot(histDb.database.db)).toEqual(before);
  });

  it('an overlap with live traffic (same source and ids) counts nothing twice', async () => {
    await reset();
    const events = randomStream(8, 200).map((e) => ({ ...e, source: 'wk-digest' }));
    // Live traffic took the first half; the import brings all of it.
    await live(histDb.database.db, events.slice(0, 100));
    await live(liveDb.database.db, events.slice(0, 100));
    const r = await ingestHistory(histDb.database.db, events, { keyActions: KEY_ACTIONS });
    const a = await live(liveDb.database.db, events);
    expect(r).toEqual(a);
    expect(r.duplicates).toBeGreaterThanOrEqual(100);
    expect(await snapshot(histDb.database.db)).toEqual(await snapshot(liveDb.database.db));
  });

  // The first write of the call (sessions) and its last (companies, pipelined with COMMIT on PostgreSQL).
  const failures = [
    { where: 'its first write', table: 'person_sessions', check: "session_key <> 'id:boom'", event: { type: 'track', name: 'Look', sessionId: 'boom' } },
    { where: 'its last statement', table: 'companies', check: "name is distinct from 'BOOM'", event: { type: 'group', companyKey: 'c9', companyName: 'BOOM', companyTraits: { name: 'BOOM' } } },
  ] as const;
  for (const f of failures) {
    it(`all or nothing: a call that fails at ${f.where} leaves nothing, and a re-run stores it all`, async () => {
      await reset();
      const db = histDb.database.db;
      await ingestHistory(db, randomStream(11, 100), { keyActions: KEY_ACTIONS });
      const before = await snapshot(db);
      await db.execute(sql.raw(`alter table ${f.table} add constraint test_fail check (${f.check})`));
      const call = [...randomStream(12, 200).map((e) => ({ ...e, messageId: `b-${e.messageId}` })), ev({ messageId: 'boom-1', personId: 'u1', time: new Date(T0 + 10 * 86_400_000), ...f.event })];
      try {
        const err = await ingestHistory(db, call, { keyActions: KEY_ACTIONS }).then(() => null, (e: unknown) => e);
        expect(sqlState(err)).toBe('23514'); // check_violation
        expect(await snapshot(db)).toEqual(before);
      } finally {
        await db.execute(sql.raw(`alter table ${f.table} drop constraint test_fail`));
      }
      const r = await ingestHistory(db, call, { keyActions: KEY_ACTIONS });
      expect(r.stored).toBeGreaterThan(150);
      expect((await snapshot(db)).messages.length).toBe(before.messages.length + r.stored);
    });
  }

  it('a track before its person’s group call in the same call gets what the live path gives for that order', async () => {
    await reset();
    const t = (min: number) => new Date(T0 + 3 * 86_400_000 + min * 60_000);
    const call = [
      ev({ type: 'track', messageId: 'o-1', personId: 'ord', time: t(0), name: 'Buy' }),
      ev({ type: 'group', messageId: 'o-2', personId: 'ord', time: t(1), companyKey: 'acme', companyName: 'Acme', companyTraits: { name: 'Acme' } }),
      ev({ type: 'track', messageId: 'o-3', personId: 'ord', time: t(2), name: 'Buy' }),
    ];
    await live(liveDb.database.db, call);
    await ingestHistory(histDb.database.db, call, { keyActions: KEY_ACTIONS });
    const days = await rows<{ company_key: string; events: number }>(
      histDb.database.db,
      sql`select company_key, events from company_days order by company_key`,
    );
    // The first track came before the person had a company: ungrouped, as live; the second is Acme's.
    expect(days).toEqual([
      { company_key: '', events: 1 },
      { company_key: 'acme', events: 1 },
    ]);
    expect(await snapshot(histDb.database.db)).toEqual(await snapshot(liveDb.database.db));
  });

  it('many traits (over 100 keys and 16 KB per person and company across calls): the bound keeps the same ones on both paths', async () => {
    await reset();
    const rnd = mulberry32(21);
    const text = (n: number) => Array.from({ length: n }, () => 'abcdefghij'[Math.floor(rnd() * 10)]).join('');
    // Small values: the count (100 keys) binds. Big values: the bytes (16 KB) bind first.
    const who = [
      { id: 'small', user: 'u-small', company: 'c-small', len: () => 1 + Math.floor(rnd() * 8) },
      { id: 'big', user: 'u-big', company: 'c-big', len: () => 200 + Math.floor(rnd() * 300) },
    ];
    const sent = new Map<string, Set<string>>();
    const traitsOf = (entity: string, len: () => number) => {
      const t: Raw = {};
      for (let k = 0; k < 25; k++) {
        const key = `k${Math.floor(rnd() * 400)}`;
        t[key] = rnd() < 0.2 ? Math.floor(rnd() * 1000) : text(len());
        (sent.get(entity) ?? sent.set(entity, new Set()).get(entity)!).add(key);
      }
      return t;
    };
    // Ten calls, each a day, in shuffled order (older traits arrive after newer ones), each with
    // several identify and group calls per person and company, and tracks; a few in a second source.
    const days = [3, 0, 5, 1, 8, 2, 9, 4, 7, 6];
    const calls: SourcedEvent[][] = [];
    let id = 0;
    for (const day of days) {
      const raws: Raw[] = [];
      for (let k = 0; k < 4; k++) {
        for (const w of who) {
          const at = (min: number) => new Date(T0 + day * 86_400_000 + (k * 90 + min) * 60_000).toISOString();
          raws.push({ type: 'identify', userId: w.user, traits: traitsOf(w.user, w.len), messageId: `t${id++}`, timestamp: at(rnd() < 0.3 ? 40 : 0) });
          raws.push({ type: 'group', userId: w.user, groupId: w.company, traits: traitsOf(w.company, w.len), messageId: `t${id++}`, timestamp: at(rnd() < 0.3 ? 45 : 5) });
          raws.push({ type: 'track', userId: w.user, event: 'Buy', messageId: `t${id++}`, timestamp: at(10) });
        }
      }
      const events = parseRequest({ batch: raws }, { endpoint: 'batch', receivedAt: new Date(T0 + 30 * 86_400_000), groupKeyPath: null });
      calls.push(events.map((e) => ({ ...e, source: rnd() < 0.8 ? SOURCES[0] : SOURCES[1] })));
    }
    for (const [n, call] of calls.entries()) {
      const a = await live(liveDb.database.db, call);
      const b = await ingestHistory(histDb.database.db, call, { keyActions: KEY_ACTIONS });
      expect(b, `call ${n}`).toEqual(a);
      expect(await snapshot(histDb.database.db), `after call ${n}`).toEqual(await snapshot(liveDb.database.db));
    }
    // The bound bit, each way, so the equality above compares it.
    type Held = { id: string; traits: Record<string, unknown>; trait_keys: string[] };
    const held = [
      ...(await rows<Held>(histDb.database.db, sql`select person_id as id, traits, trait_keys from people where person_id like 'u-%'`)),
      ...(await rows<Held>(histDb.database.db, sql`select company_key as id, traits, trait_keys from companies where company_key like 'c-%'`)),
    ];
    expect(held.map((h) => h.id).sort()).toEqual(['c-big', 'c-small', 'u-big', 'u-small']);
    for (const h of held) {
      const keys = Object.keys(h.traits);
      const bytes = keys.reduce((sum, k) => sum + traitEntryBytes(k, h.traits[k]), 0);
      expect(sent.get(h.id)!.size, h.id).toBeGreaterThan(MERGED_TRAITS.keys);
      expect([...h.trait_keys].sort(), h.id).toEqual([...keys].sort());
      expect(bytes, h.id).toBeLessThanOrEqual(MERGED_TRAITS.bytes);
      if (h.id.endsWith('small')) expect(keys.length, h.id).toBe(MERGED_TRAITS.keys);
      else {
        expect(keys.length, h.id).toBeLessThan(MERGED_TRAITS.keys);
        expect(bytes, h.id).toBeGreaterThan(MERGED_TRAITS.bytes - 1024);
      }
    }
  });

  it('ids holding the unit separator (which the fast path joins on) are stored as sent', async () => {
    await reset();
    const call = randomStream(13, 60).map((e, i) => (i % 7 === 0 ? { ...e, messageId: `x\u001f${e.messageId}`, personId: `${e.personId}\u001fz` } : e));
    const a = await live(liveDb.database.db, call);
    const b = await ingestHistory(histDb.database.db, call, { keyActions: KEY_ACTIONS });
    expect(b).toEqual(a);
    const end = await snapshot(histDb.database.db);
    // The id as sent (separator and all) is the one stored: its hash is there, and a repeat is a duplicate.
    const sepId = call.find((e) => e.messageId!.includes('\u001f'))!;
    const [found] = await rows<{ n: number }>(
      histDb.database.db,
      sql`select count(*)::int as n from ${sql.raw(STORED_MESSAGE_IDS)} ids where source = ${sepId.source} and h = ${messageHash(sql`${sepId.messageId}::text`)}`,
    );
    expect(found.n).toBe(1);
    expect(await ingestHistory(histDb.database.db, [sepId], { keyActions: KEY_ACTIONS })).toEqual({ stored: 0, duplicates: 1 });
    expect(end).toEqual(await snapshot(liveDb.database.db));
  });

  it('refuses an event with no messageId, naming it and the fix, and stores nothing', async () => {
    await reset();
    const bad = [ev({ type: 'track', messageId: null, personId: 'x', time: new Date(T0), name: 'Buy' })];
    await expect(ingestHistory(histDb.database.db, bad, { keyActions: KEY_ACTIONS })).rejects.toThrow(HistoryInputError);
    await expect(ingestHistory(histDb.database.db, bad, { keyActions: KEY_ACTIONS })).rejects.toThrow(/event 0 .* no messageId: give every imported event an id/);
    expect((await snapshot(histDb.database.db)).messages).toEqual([]);
  });
});
