/**
 * The import's memory bound by size: a history of events with traits near the 32 KB event
 * limit is cut into slices under the character bound (not only under the event count), and
 * the totals stay exact: every event stored once, the same counters as an import in one slice.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Db } from '../src/db/client.js';
import { LIMITS } from '../src/ingest/segment.js';
import { databaseSink, HISTORY_SLICE, HISTORY_SLICE_CHARS, type ImportSink, type SourcedEvent } from '../src/import/sink.js';
import { TimeSpill } from '../src/import/spill.js';
import { ago, gz, importPaths, join, jsonl, write } from './helpers/import.js';
import { tableCounts } from './helpers/dbq.js';
import { startTestApp } from './harness.js';

const KEY = 'Report Built';

/** Traits of about `chars` characters of JSON, different per `seed`. */
function bigTraits(seed: string, chars: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = 0; JSON.stringify(out).length < chars - 1_100; k++) out[`${seed}_${k}`] = `${seed}:${k}:`.padEnd(1_000, 'x');
  return out;
}

/** The characters of traits an event carries: its serialised line in the spill holds at least these. */
const traitChars = (e: SourcedEvent) => (e.personTraits ? JSON.stringify(e.personTraits).length : 0) + (e.companyTraits ? JSON.stringify(e.companyTraits).length : 0);

describe('the spill bounds chunks by size', () => {
  it('cuts large events into chunks under the character bound, in time order, each event once, and bounds its buffer and sort by size', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'lm-spill-size-'));
    // Event counts far above what is added: only the character bounds can bind.
    const spill = new TimeSpill(parent, { bufferEvents: 1_000_000, bufferChars: 500_000, maxInMemory: 1_000_000, maxInMemoryChars: 400_000 });
    const day = Date.parse('2026-11-20T00:00:00Z');
    const added: { id: string; ms: number; seq: number }[] = [];
    for (let i = 0; i < 120; i++) {
      const ms = day + ((i * 7_919) % 86_400) * 1_000 - (i % 4 === 0 ? 86_400_000 : 0);
      const big = i % 3 !== 2;
      const e: SourcedEvent = {
        type: big ? 'identify' : 'track', messageId: `m${i}`, personId: `p${i % 5}`, userId: `p${i % 5}`, time: new Date(ms), name: big ? null : 'x',
        companyKey: null, companyName: null, companyTraits: null, personTraits: big ? bigTraits(`t${i}`, 30_000) : null, sessionId: null, source: 's',
      };
      spill.add(e);
      added.push({ id: e.messageId!, ms, seq: i });
    }
    // 80 events of 30 KB: 2.4 MB, over the 500,000-character buffer; so lines are on disk before the replay.
    expect(readdirSync(spill.dir).length).toBeGreaterThan(0);
    const bound = 200_000;
    const out: string[] = [];
    const sizes: number[] = [];
    for await (const chunk of spill.replay(20_000, bound)) {
      sizes.push(chunk.length);
      expect(chunk.reduce((a, e) => a + traitChars(e), 0)).toBeLessThanOrEqual(bound);
      out.push(...chunk.map((e) => e.messageId!));
    }
    // 80 events of 30,000 characters under 200,000 a chunk: at least 12 chunks, none of them all 120 events.
    expect(sizes.length).toBeGreaterThanOrEqual(12);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.ceil(bound / 30_000) * 3);
    expect(out).toEqual([...added].sort((a, b) => a.ms - b.ms || a.seq - b.seq).map((a) => a.id));
    expect(spill.repeated).toBe(0);
    expect(readdirSync(spill.dir)).toEqual([]);
    spill.remove();
    rmSync(parent, { recursive: true, force: true });
  });

  it('gives an event larger than the bound a chunk of its own', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'lm-spill-size-'));
    const spill = new TimeSpill(parent);
    const t = Date.parse('2026-11-20T10:00:00Z');
    for (let i = 0; i < 4; i++) {
      spill.add({ type: 'identify', messageId: `b${i}`, personId: 'p', userId: 'p', time: new Date(t + i), name: null, companyKey: null, companyName: null, companyTraits: null, personTraits: bigTraits(`b${i}`, 20_000), sessionId: null, source: 's' });
    }
    const chunks: string[][] = [];
    for await (const chunk of spill.replay(100, 10_000)) chunks.push(chunk.map((e) => e.messageId!));
    expect(chunks).toEqual([['b0'], ['b1'], ['b2'], ['b3']]);
    spill.remove();
    rmSync(parent, { recursive: true, force: true });
  });

  it('the database sink bounds its slices by both', () => {
    const sink = databaseSink({} as Db, new Set());
    expect(sink.slice).toBe(HISTORY_SLICE);
    expect(sink.sliceChars).toBe(HISTORY_SLICE_CHARS);
    // At the default bound, a slice of events near the event limit is a few hundred events, not 20,000.
    expect(HISTORY_SLICE_CHARS / LIMITS.eventBytes).toBeLessThan(HISTORY_SLICE / 10);
  });
});

describe('an import of large events', () => {
  const now = new Date();
  let dir: string;
  let bounded: Awaited<ReturnType<typeof startTestApp>>;
  let whole: Awaited<ReturnType<typeof startTestApp>>;
  const COMPANIES = ['acme', 'globex', 'initech'];
  const PEOPLE = 24;
  const TRACKS = 8;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    // Each person: an identify and a group call with traits near 32 KB, then tracks over four days.
    for (let p = 0; p < PEOPLE; p++) {
      const user = `u${p}`;
      const company = COMPANIES[p % COMPANIES.length];
      lines.push({ type: 'identify', userId: user, traits: { email: `${user}@example.com`, ...bigTraits(`p${p}`, 28_000) }, messageId: `id-${user}`, timestamp: ago(now, 6, 8, p).toISOString() });
      lines.push({ type: 'group', userId: user, groupId: company, traits: { name: company.toUpperCase(), ...bigTraits(`c${p}`, 28_000) }, messageId: `g-${user}`, timestamp: ago(now, 6, 9, p).toISOString() });
      for (let k = 0; k < TRACKS; k++) {
        lines.push({ type: 'track', userId: user, event: k % 4 === 0 ? KEY : 'Viewed', messageId: `t-${user}-${k}`, timestamp: ago(now, 5 - (k % 4), 10 + (k % 2) * 3, p).toISOString() });
      }
    }
    for (const l of lines) expect(JSON.stringify(l).length).toBeLessThan(LIMITS.eventBytes);
    dir = mkdtempSync(join(tmpdir(), 'lm-import-size-'));
    // Two files, out of time order.
    write(join(dir, 'segment-logs/src1/1/b.gz'), gz(jsonl(lines.filter((_, i) => i % 2 === 1))));
    write(join(dir, 'segment-logs/src1/1/a.gz'), gz(jsonl(lines.filter((_, i) => i % 2 === 0))));
    [bounded, whole] = await Promise.all([startTestApp({ env: { KEY_ACTIONS: KEY } }), startTestApp({ env: { KEY_ACTIONS: KEY } })]);
  });
  afterAll(async () => {
    for (const a of [bounded, whole]) {
      await a?.stop();
      await a?.dropDatabase();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function totals(db: Db) {
    const days = await rows<{ company_key: string; events: number; key_actions: number; sessions: number; people: number }>(
      db,
      sql`select company_key, sum(events)::int as events, sum(key_actions)::int as key_actions, sum(sessions)::int as sessions, sum(people)::int as people from company_days group by 1 order by 1`,
    );
    const { messages } = await tableCounts(db);
    const [p] = await rows<{ n: number }>(db, sql`select count(*)::int as n from people`);
    return { days, messages, people: p.n };
  }

  it('writes slices under the bound, and the totals equal those of one slice and of the input', async () => {
    const bound = 150_000;
    const slices: { events: number; chars: number }[] = [];
    const inner = databaseSink(bounded.database.db, new Set([KEY]));
    const recording: ImportSink = {
      ...inner,
      sliceChars: bound,
      write: async (events) => {
        slices.push({ events: events.length, chars: events.reduce((a, e) => a + traitChars(e), 0) });
        return inner.write(events);
      },
      // The run writes through prepare when the sink has it (the database sink does).
      prepare: (events) => {
        slices.push({ events: events.length, chars: events.reduce((a, e) => a + traitChars(e), 0) });
        return inner.prepare!(events);
      },
    };
    const report = await importPaths(bounded.database.db, [dir], { keyActions: [KEY], now, sink: recording });
    expect(report.ending).toBe('done');
    expect(report.skipped.total).toBe(0);
    expect(report.stored).toBe(lines.length);
    expect(report.duplicates).toBe(0);
    // 48 events of about 28,000 characters, under 150,000 a slice: at least 9 slices.
    expect(slices.length).toBeGreaterThanOrEqual(9);
    for (const s of slices) expect(s.chars).toBeLessThanOrEqual(bound);
    expect(slices.reduce((a, s) => a + s.events, 0)).toBe(lines.length);

    const one = await importPaths(whole.database.db, [dir], { keyActions: [KEY], now, chunkChars: Infinity });
    expect(one.stored).toBe(lines.length);
    const got = await totals(bounded.database.db);
    expect(got).toEqual(await totals(whole.database.db));
    expect(got.messages).toBe(lines.length);
    expect(got.people).toBe(PEOPLE);
    const byCompany = Object.fromEntries(got.days.map((d) => [d.company_key, d]));
    for (const [i, c] of COMPANIES.entries()) {
      const people = Array.from({ length: PEOPLE }, (_, p) => p).filter((p) => p % COMPANIES.length === i).length;
      expect(byCompany[c].events).toBe(people * TRACKS);
      expect(byCompany[c].key_actions).toBe(people * (TRACKS / 4));
    }

    // A re-run stores nothing.
    const again = await importPaths(bounded.database.db, [dir], { keyActions: [KEY], now, sink: recording });
    expect(again.stored).toBe(0);
    expect(again.duplicates).toBe(lines.length);
    expect(await totals(bounded.database.db)).toEqual(got);
  });
});
