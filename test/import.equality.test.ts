/**
 * The end state of an import equals what the same events give sent live in time order:
 * one history through the HTTP API (in time order, in requests of SPLIT events) on one
 * database, the same history as Segment archive files (lines shuffled across files) through
 * `npm run import` (slices of SPLIT) on another, and through `--url` into a running bot on a
 * third; every rollup table compared row by row.
 * Then the import run over the live database stores nothing: overlap counts once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Db } from '../src/db/client.js';
import { sourceOfWriteKey } from '../src/ingest/http.js';
import { httpSink } from '../src/import/sink.js';
import { MERGED_TRAITS, traitEntryBytes } from '../src/ingest/segment.js';
import { ago, gz, importPaths, join, jsonl, rollupRows, write } from './helpers/import.js';
import { storedIdList } from './helpers/dbq.js';
import { post, startTestApp, WRITE_KEY } from './harness.js';

const KEY_ACTIONS = ['Report Built', 'Invite Sent'];
const now = new Date();

/** A small deterministic random. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * The live path merges a company's traits per request (the request's calls first, then into the
 * stored row), and a merge bounded by MERGED_TRAITS is not associative: past the bound, the
 * kept keys depend on where requests split. So both sides split the same way: live requests
 * and import slices of SPLIT events, in the same time order.
 */
const SPLIT = 50;

/**
 * 40 days of a small book: 4 companies, 14 people; sessions of 2-8 events; group and
 * identify calls; people whose events carry no company (rule 4 ties them); one person who
 * moves to another company half way; pages; sent session ids; an anonymous visitor.
 */
function history(): Record<string, unknown>[] {
  const r = rng(7);
  const out: Record<string, unknown>[] = [];
  let id = 0;
  const companies = ['acme', 'globex', 'initech', 'umbrella'];
  const names = ['Acme Inc', 'Globex', 'Initech', 'Umbrella Corp'];
  const people = Array.from({ length: 14 }, (_, i) => ({ user: `u${i}`, company: companies[i % 4], carries: i % 3 !== 0 }));
  for (const [i, c] of companies.entries()) {
    out.push({ type: 'group', userId: `u${i}`, groupId: c, traits: { name: names[i], plan: i % 2 ? 'pro' : 'free' }, messageId: `g-${c}`, timestamp: ago(now, 40, 1).toISOString() });
  }
  for (const p of people) {
    out.push({ type: 'group', userId: p.user, groupId: p.company, messageId: `gp-${p.user}`, timestamp: ago(now, 39, 2).toISOString() });
    out.push({ type: 'identify', userId: p.user, traits: { name: `Person ${p.user}`, email: `${p.user}@example.com` }, messageId: `id-${p.user}`, timestamp: ago(now, 39, 3).toISOString() });
  }
  // u5 moves from globex to umbrella on day 20.
  out.push({ type: 'group', userId: 'u5', groupId: 'umbrella', messageId: 'move-u5', timestamp: ago(now, 20, 0, 30).toISOString() });
  for (let day = 38; day >= 1; day--) {
    for (const p of people) {
      if (r() < 0.45) continue;
      const sessions = 1 + Math.floor(r() * 2);
      for (let s = 0; s < sessions; s++) {
        let t = ago(now, day, 8 + s * 5 + Math.floor(r() * 3), Math.floor(r() * 50)).getTime();
        const sent = r() < 0.2 ? `sess-${p.user}-${day}-${s}` : null;
        const n = 2 + Math.floor(r() * 7);
        for (let k = 0; k < n; k++) {
          const page = r() < 0.2;
          const ev: Record<string, unknown> = {
            type: page ? 'page' : 'track',
            userId: p.user,
            messageId: `e${id++}`,
            timestamp: new Date(t).toISOString(),
          };
          if (page) ev.name = 'Dashboard';
          else ev.event = ['Login', 'Report Built', 'Invite Sent', 'Search'][Math.floor(r() * 4)];
          if (p.carries) ev.context = { groupId: p.user === 'u5' && day < 20 ? 'umbrella' : p.company };
          if (sent) ev.properties = { session_id: sent };
          out.push(ev);
          t += 60_000 * (1 + Math.floor(r() * 10));
        }
      }
    }
    if (r() < 0.5) out.push({ type: 'page', anonymousId: `visitor-${day % 3}`, name: 'Pricing', messageId: `v${id++}`, timestamp: ago(now, day, 12).toISOString(), context: { groupId: 'acme' } });
    // Traits past MERGED_TRAITS over the days: Initech's many small ones (the 100 keys bind),
    // Globex's big ones (the 16 KB bind), u1's many. At :17 s, a time no other event has.
    const traits = (n: number, pool: number, len: number) =>
      Object.fromEntries(Array.from({ length: n }, () => [`t${Math.floor(r() * pool)}`, 'x'.repeat(1 + Math.floor(r() * len))]));
    const at17 = (hh: number) => new Date(ago(now, day, 0, 30).getTime() + hh * 3_600_000 + 17_000).toISOString();
    out.push({ type: 'group', userId: 'u2', groupId: 'initech', traits: traits(15, 300, 6), messageId: `tr-i-${day}`, timestamp: at17(7) });
    for (let k = 0; k < 3; k++) {
      out.push({ type: 'group', userId: 'u1', groupId: 'globex', traits: traits(12, 150, 600), messageId: `tr-g-${day}-${k}`, timestamp: at17(6 + k / 60) });
    }
    out.push({ type: 'identify', userId: 'u1', traits: traits(10, 200, 600), messageId: `tr-u-${day}`, timestamp: at17(5) });
    // Where the split shows: Umbrella's 15 KB of traits, then five big keys set and, a minute
    // later, set again small. In one request the big values never count; in two, they push
    // out older keys first, and those stay out.
    if (day === 30) out.push({ type: 'group', userId: 'u3', groupId: 'umbrella', traits: Object.fromEntries(Array.from({ length: 15 }, (_, k) => [`old${k}`, 'o'.repeat(1000)])), messageId: 'tr-um-0', timestamp: at17(9) });
    if (day === 29) {
      out.push({ type: 'group', userId: 'u3', groupId: 'umbrella', traits: Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`new${k}`, 'n'.repeat(1500)])), messageId: 'tr-um-1', timestamp: at17(9) });
      out.push({ type: 'group', userId: 'u3', groupId: 'umbrella', traits: Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`new${k}`, 'n'])), messageId: 'tr-um-2', timestamp: at17(9 + 1 / 60) });
    }
  }
  return out;
}

const byTime = (a: Record<string, unknown>, b: Record<string, unknown>) => Date.parse(a.timestamp as string) - Date.parse(b.timestamp as string);

/** The stored ids, from either store (the live path keeps rows, the import compact sets). */
const messageIds = (db: Db) => storedIdList(db);

describe('an import equals the same events sent live in time order', () => {
  let live: Awaited<ReturnType<typeof startTestApp>>;
  let imported: Awaited<ReturnType<typeof startTestApp>>;
  let viaUrl: Awaited<ReturnType<typeof startTestApp>>;
  let front: Server;
  let frontUrl = '';
  const hits: number[] = [];
  let dir: string;
  const events = history();

  beforeAll(async () => {
    const env = { KEY_ACTIONS: KEY_ACTIONS.join(',') };
    [live, imported, viaUrl] = await Promise.all([startTestApp({ env }), startTestApp({ env }), startTestApp({ env })]);
    dir = mkdtempSync(join(tmpdir(), 'lm-import-eq-'));
    // Live: the HTTP API, in time order, in batches as an SDK sends.
    const ordered = [...events].sort(byTime);
    for (let i = 0; i < ordered.length; i += SPLIT) {
      const res = await post(`${live.url}/v1/batch`, { batch: ordered.slice(i, i + SPLIT) });
      expect(res.status).toBe(200);
    }
    // The archive: the same messages shuffled over three files (the file order is not the time order).
    const r = rng(11);
    const shuffled = [...events].sort(() => r() - 0.5);
    const third = Math.ceil(shuffled.length / 3);
    for (let f = 0; f < 3; f++) {
      const lines = shuffled.slice(f * third, (f + 1) * third).map((e) => ({ ...e, receivedAt: e.timestamp, sentAt: e.timestamp }));
      write(join(dir, `segment-logs/src/${1700000000000 + f * 86_400_000}/part-${f}.gz`), gz(jsonl(lines)));
    }
    // A stand-in for a load balancer in front of the bot: a 503, then a 429 with Retry-After, then through.
    front = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      hits.push(hits.length);
      if (hits.length === 1) return res.writeHead(503).end('{"success":false}');
      if (hits.length === 2) return res.writeHead(429, { 'retry-after': '0' }).end('{"success":false}');
      const upstream = await fetch(`${viaUrl.url}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: req.headers.authorization! }, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((ok) => front.listen(0, '127.0.0.1', () => ok()));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  }, 180_000);

  afterAll(async () => {
    front?.close();
    for (const a of [live, imported, viaUrl]) {
      await a?.stop();
      await a?.dropDatabase();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('direct import: every rollup table equal, row by row, and the same ids under the same write key', async () => {
    const report = await importPaths(imported.database.db, [dir], { keyActions: KEY_ACTIONS, liveSource: sourceOfWriteKey(WRITE_KEY), chunk: SPLIT });
    expect(report.fileProblems).toEqual([]);
    expect(report.skipped.total).toBe(0);
    expect(report.stored).toBe(events.length);
    const [a, b] = [await rollupRows(live.database.db), await rollupRows(imported.database.db)];
    for (const table of Object.keys(a)) {
      expect(a[table].length, table).toBeGreaterThan(0);
      expect(b[table], table).toEqual(a[table]);
    }
    expect(await messageIds(imported.database.db)).toEqual(await messageIds(live.database.db));
    // The traits bound bit, so the equality above covers it: Initech by its keys, Globex and u1 by their bytes.
    const held = await rows<{ id: string; traits: Record<string, unknown> }>(
      imported.database.db,
      sql`select company_key as id, traits from companies where company_key in ('globex', 'initech') union all select person_id, traits from people where person_id = 'u1' order by 1`,
    );
    const size = (t: Record<string, unknown>) => Object.entries(t).reduce((sum, [k, v]) => sum + traitEntryBytes(k, v), 0);
    expect(held.map((h) => [h.id, Object.keys(h.traits).length === MERGED_TRAITS.keys, size(h.traits) > MERGED_TRAITS.bytes - 1024])).toEqual([
      ['globex', false, true],
      ['initech', true, false],
      ['u1', false, true],
    ]);
  });

  it('--url into a running bot (through a 503 and a 429): the same rollups', async () => {
    const retries: string[] = [];
    const sink = httpSink({ url: frontUrl, writeKey: WRITE_KEY, idPrefixOf: () => '', baseDelayMs: 10, onRetry: (why) => retries.push(why) });
    const report = await importPaths(viaUrl.database.db, [dir], { sink, chunk: SPLIT });
    expect(report.ending).toBe('done');
    expect(retries).toEqual(['503', '429']);
    expect(await rollupRows(viaUrl.database.db)).toEqual(await rollupRows(live.database.db));
  });

  it('importing what already came in live stores nothing (same write key, same ids)', async () => {
    const before = await rollupRows(live.database.db);
    const report = await importPaths(live.database.db, [dir], { keyActions: KEY_ACTIONS, liveSource: sourceOfWriteKey(WRITE_KEY) });
    expect(report.stored).toBe(0);
    expect(report.duplicates).toBe(events.length);
    expect(await rollupRows(live.database.db)).toEqual(before);
  });

  it('a refusal from the bot (401, 400) is final: the run stops and says so', async () => {
    const bad = httpSink({ url: viaUrl.url, writeKey: 'not-a-key', idPrefixOf: () => '', baseDelayMs: 10 });
    const report = await importPaths(viaUrl.database.db, [dir], { sink: bad });
    expect(report.ending).toBe('failed');
    expect(report.failure).toMatch(/answered 401.*--write-key/);
  });
});
