/**
 * Bad input to `npm run import`: a truncated gzip or zip is named and the other files go on;
 * an unknown format names the formats; past --max-errors nothing is written; Ctrl-C (an
 * aborted run) keeps what it wrote and the same run again finishes; a dry run writes nothing.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nullSink } from '../src/import/sink.js';
import { companyTotals, emptyIngested, storedIdCount, tableCounts } from './helpers/dbq.js';
import { ago, gz, importPaths, join, jsonl, rollupRows, write, zip } from './helpers/import.js';
import { testDatabase, type TestDatabase } from './harness.js';

const now = new Date();

/** The ids `prefix-0` … `prefix-(n-1)`, as the generators below make them. */
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function segmentLines(n: number, prefix: string, company = 'acme') {
  return Array.from({ length: n }, (_, i) => ({
    type: 'track',
    event: 'Login',
    userId: `${prefix}-u${i % 4}`,
    messageId: `${prefix}-${i}`,
    timestamp: ago(now, 1 + (i % 20), 8 + (i % 10), i % 60).toISOString(),
    context: { groupId: company },
  }));
}

describe('npm run import: bad input', () => {
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-import-err-'));
    await emptyIngested(t.database.db);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('a truncated gzip is named, its complete lines are read, the other files go on', async () => {
    const whole = gz(jsonl(segmentLines(400, 'a')));
    write(join(dir, 'a.gz'), whole.subarray(0, Math.floor(whole.length * 0.6)));
    write(join(dir, 'b.gz'), gz(jsonl(segmentLines(30, 'b'))));
    const r = await importPaths(t.database.db, [dir]);
    expect(r.fileProblems).toHaveLength(1);
    expect(r.fileProblems[0].label).toBe(join(dir, 'a.gz'));
    expect(r.fileProblems[0].message).toMatch(/truncated or damaged gzip/);
    expect(r.skipped.total).toBe(0); // the half line at the cut is dropped, never read as a bad line
    expect(r.valid).toBeGreaterThan(30);
    expect(r.valid).toBeLessThan(430);
    expect(r.stored).toBe(r.valid);
    expect(await storedIdCount(t.database.db, ids('b', 30))).toBe(30);
  });

  it('PostHog brotli: read by its .br name, or by its first byte without it; a truncated one is named, the other files go on', async () => {
    const ph = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({
        uuid: `${prefix}-${i}`,
        event: 'Login',
        distinct_id: `${prefix}-u${i % 3}`,
        timestamp: ago(now, 1 + (i % 20), 9, i % 60).toISOString(),
        properties: { $groups: { company: 'ph-co' } },
      }));
    const br = (records: unknown[]) => brotliCompressSync(Buffer.from(jsonl(records)));
    write(join(dir, 'named.jsonl.br'), br(ph(12, 'n')));
    const unnamed = br(ph(7, 'u'));
    expect(unnamed[0] === 0x1b || unnamed[0] === 0x8b).toBe(true); // brotli's usual first byte (window 4 MB): not text
    write(join(dir, 'unnamed.jsonl'), unnamed);
    const whole = br(ph(300, 'c'));
    write(join(dir, 'cut.jsonl.br'), whole.subarray(0, Math.floor(whole.length * 0.6)));
    write(join(dir, 'plain.jsonl'), jsonl(segmentLines(5, 'p')));
    const r = await importPaths(t.database.db, [dir]);
    expect(r.fileProblems).toHaveLength(1);
    expect(r.fileProblems[0].label).toBe(join(dir, 'cut.jsonl.br'));
    expect(r.fileProblems[0].message).toMatch(/truncated or damaged brotli/);
    expect(r.skipped.total).toBe(0); // the half line at the cut is dropped, never read as a bad line
    const count = (prefix: string, n: number) => storedIdCount(t.database.db, ids(prefix, n));
    expect([await count('n', 12), await count('u', 7), await count('p', 5)]).toEqual([12, 7, 5]);
    const cut = await count('c', 300);
    expect(cut).toBeGreaterThan(0);
    expect(cut).toBeLessThan(300);
    expect(r.stored).toBe(24 + cut);
  });

  it('a truncated zip names the entry; a damaged entry does not stop the next file', async () => {
    const z = zip({ 'one.json.gz': gz(jsonl(segmentLines(200, 'z1'))), 'two.json.gz': gz(jsonl(segmentLines(200, 'z2'))) });
    write(join(dir, 'export.zip'), z.subarray(0, Math.floor(z.length * 0.7)));
    write(join(dir, 'more.jsonl'), jsonl(segmentLines(5, 'm')));
    const r = await importPaths(t.database.db, [dir]);
    expect(r.fileProblems).toHaveLength(1);
    expect(r.fileProblems[0].label).toMatch(/export\.zip:two\.json\.gz$/);
    expect(r.valid).toBeGreaterThanOrEqual(205);
    expect((await tableCounts(t.database.db)).messages).toBe(r.valid);
  });

  it('an unknown format names the formats it reads; --format overrides detection', async () => {
    write(join(dir, 'odd.jsonl'), jsonl([{ hello: 'world' }]));
    const r = await importPaths(t.database.db, [join(dir, 'odd.jsonl')]);
    expect(r.fileProblems[0].message).toMatch(/^unknown format: .*--format$/);
    for (const f of ['segment (Segment archive)', 'rudderstack', 'mixpanel', 'amplitude', 'posthog', 'csv']) expect(r.fileProblems[0].message).toContain(f);
    // Mixpanel lines with no distinct_id are not detected as Mixpanel; named, they are, and each bad line is named.
    write(join(dir, 'mp.jsonl'), jsonl([{ event: 'Login', props: {} }, { event: 'Login', properties: { time: 1_764_000_000, distinct_id: 'u' } }]));
    const forced = await importPaths(t.database.db, [join(dir, 'mp.jsonl')], { format: 'mixpanel' });
    expect(forced.fileProblems).toEqual([]);
    expect([...forced.skipped.reasons.values()].map((s) => [s.reason, s.where])).toEqual([['properties: must be an object', [`${join(dir, 'mp.jsonl')}:1`]]]);
    expect(forced.valid).toBe(1);
  });

  it('past --max-errors the run stops and writes nothing; each bad line is named', async () => {
    write(join(dir, 'bad.jsonl'), jsonl([...segmentLines(3, 'ok'), '{nope', { type: 'track', userId: 'u' }, 'oops', { type: 'group', userId: 'u' }, ...segmentLines(3, 'ok2')]));
    const r = await importPaths(t.database.db, [dir], { maxErrors: 2 });
    expect(r.ending).toBe('errors');
    expect(r.written).toBe(0);
    expect((await tableCounts(t.database.db)).messages).toBe(0);
    const where = [...r.skipped.reasons.values()].flatMap((s) => s.where.map((w) => `${w.replace(`${dir}/`, '')}: ${s.reason}`));
    expect(where.sort()).toEqual(['bad.jsonl:4: not valid JSON', 'bad.jsonl:5: event: a track call needs an event name', 'bad.jsonl:6: not valid JSON'].sort());
    // Under the limit, the good lines are written and the bad ones skipped.
    const ok = await importPaths(t.database.db, [dir], { maxErrors: 4 });
    expect(ok.ending).toBe('done');
    expect(ok.skipped.total).toBe(4);
    expect(ok.stored).toBe(6);
  });

  it('an interrupted run keeps what it wrote, and the same run again finishes with the same end state', async () => {
    write(join(dir, 'a.jsonl'), jsonl(segmentLines(60, 'r')));
    // One run, whole, on a second database.
    const whole = await testDatabase();
    try {
      await importPaths(whole.database.db, [dir], { chunk: 7 });
      const controller = new AbortController();
      let chunks = 0;
      const first = await importPaths(t.database.db, [dir], {
        chunk: 7,
        signal: controller.signal,
        progress: {
          reading: () => {},
          bytes: () => {},
          fileDone: () => {},
          events: () => {},
          writing: () => {},
          written: () => {
            if (++chunks === 3) controller.abort(); // Ctrl-C during the third chunk: it finishes, then the run stops
          },
          stop: () => {},
        },
      });
      expect(first.ending).toBe('interrupted');
      expect(first.stored).toBe(21);
      expect((await tableCounts(t.database.db)).messages).toBe(21);
      const again = await importPaths(t.database.db, [dir], { chunk: 7 });
      expect(again.ending).toBe('done');
      expect(again.duplicates).toBe(21);
      expect(again.stored).toBe(39);
      expect(await rollupRows(t.database.db)).toEqual(await rollupRows(whole.database.db));
    } finally {
      await whole.drop();
    }
  });

  it('a dry run reads and checks everything and writes nothing', async () => {
    write(join(dir, 'a.jsonl'), jsonl([...segmentLines(10, 'd'), '{bad']));
    const r = await importPaths(t.database.db, [dir], { dryRun: true, sink: nullSink() });
    expect(r.valid).toBe(10);
    expect(r.skipped.total).toBe(1);
    expect(r.coverage.companies.size).toBe(1);
    expect(await companyTotals(t.database.db)).toEqual([]);
  });

  it('CSV with --map reads any columns; the temporary files are gone at the end', async () => {
    write(
      join(dir, 'custom.csv'),
      'when;who;what;account\n' + `${ago(now, 2).getTime()};u1;Login;globex\n` + `${Math.floor(ago(now, 2, 11).getTime() / 1000)};u2;"Report; Built";globex\n`,
    );
    const tmp = mkdtempSync(join(tmpdir(), 'lm-spill-'));
    const r = await importPaths(t.database.db, [join(dir, 'custom.csv')], {
      formatOptions: { groupProperty: null, groupType: null, map: { when: 'timestamp', who: 'userId', what: 'event', account: 'groupId' } },
      tmpDir: tmp,
    });
    expect(r.skipped.total).toBe(0);
    expect(r.stored).toBe(2);
    expect((await companyTotals(t.database.db)).map((c) => [c.company_key, c.events])).toEqual([['globex', 2]]);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('an event with no id gets one from its content: the same line twice is one event', async () => {
    const line = { type: 'track', event: 'Login', userId: 'u1', timestamp: ago(now, 1).toISOString(), context: { groupId: 'acme' } };
    write(join(dir, 'a.jsonl'), jsonl([line]));
    write(join(dir, 'b.jsonl'), jsonl([line, { ...line, event: 'Logout' }]));
    const r = await importPaths(t.database.db, [dir]);
    expect(r.valid).toBe(3);
    expect(r.stored).toBe(2);
    expect(r.duplicates).toBe(1);
    // The ids come from the content: the same files again are duplicates, every one.
    const again = await importPaths(t.database.db, [dir]);
    expect([again.stored, again.duplicates]).toEqual([0, 3]);
  });
});
