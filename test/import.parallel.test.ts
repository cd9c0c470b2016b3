/**
 * The read pass on several cores (src/import/parallel-read.ts): the same files read by read
 * workers and by the main thread give the same summary, the same events in the same order
 * (ties inside one millisecond across files included), and the same database, row by row;
 * past --max-errors across workers nothing is written; Ctrl-C stops handing out files and
 * leaves no temporary files.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentProgress, type Progress } from '../src/import/progress.js';
import { readInParallel, readWorkers } from '../src/import/parallel-read.js';
import type { ImportSink, SourcedEvent } from '../src/import/sink.js';
import type { ImportReport } from '../src/import/summary.js';
import { emptyIngested, tableCounts } from './helpers/dbq.js';
import { ago, gz, importPaths, join, jsonl, rollupRows, write } from './helpers/import.js';
import { testDatabase, type TestDatabase } from './harness.js';

const now = new Date();
const FILES = 6;

/**
 * Six files (gzip and plain) of one history: ten people in three companies, whose identify
 * and group calls fall in the same millisecond in different files (so the order read decides
 * which is last), the same lines repeated in two files, and bad lines in files 1 and 4.
 */
function writeHistory(dir: string): void {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let f = 0; f < FILES; f++) {
    const lines: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const person = `u${Math.floor(rnd() * 10)}`;
      const at = ago(now, 1 + Math.floor(rnd() * 30), 8 + Math.floor(rnd() * 10), Math.floor(rnd() * 60));
      lines.push({ type: 'track', event: ['Login', 'Created Report'][i % 2], userId: person, messageId: `f${f}-t${i}`, timestamp: at.toISOString() });
    }
    // The same instant in every file: each file ties these people to another company, and renames it.
    const tie = ago(now, 40, 9, 0).toISOString();
    for (let p = 0; p < 10; p++) {
      lines.push({ type: 'group', userId: `u${p}`, groupId: `co${(p + f) % 3}`, traits: { name: `Company ${(p + f) % 3} as of file ${f}` }, messageId: `f${f}-g${p}`, timestamp: tie });
      lines.push({ type: 'identify', userId: `u${p}`, traits: { name: `Person ${p} (file ${f})` }, messageId: `f${f}-i${p}`, timestamp: tie });
    }
    // A line repeated in the next file (an export's duplicate): one event.
    lines.push({ type: 'track', event: 'Login', userId: 'u1', messageId: `shared-${f >> 1}`, timestamp: ago(now, 3, 12, f >> 1).toISOString() });
    if (f === 1 || f === 4) lines.splice(50, 0, '{not json', '[1,2]');
    const text = jsonl(lines);
    write(join(dir, `part-${f}${f % 2 ? '.json' : ''}`), f % 2 ? text : gz(text));
  }
}

/** A report's counts, with the parts that must not depend on how the files were read. */
const summaryOf = (r: ImportReport) => ({
  files: r.files,
  read: r.read,
  valid: r.valid,
  stored: r.stored,
  duplicates: r.duplicates,
  skipped: r.skipped.total,
  where: [...r.skipped.reasons.values()].map((s) => [s.reason, s.count, s.where]),
  formats: [...r.formats],
  problems: r.fileProblems,
  ending: r.ending,
  companies: r.coverage.companies.size,
});

describe('npm run import: the read pass in worker threads', () => {
  let serial: TestDatabase;
  let parallel: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    serial = await testDatabase();
    parallel = await testDatabase();
  });
  afterAll(async () => {
    await serial?.drop();
    await parallel?.drop();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-import-par-'));
    writeHistory(dir);
    await emptyIngested(serial.database.db);
    await emptyIngested(parallel.database.db);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('reads in workers only several files, never standard input, and small imports on one thread', () => {
    const file = (size: number) => ({ label: 'f', path: '/f', size });
    expect(readWorkers([file(1e9)])).toBe(0);
    expect(readWorkers([file(1e6), file(1e6)])).toBe(0); // 2 MB: not worth a worker's start
    expect(readWorkers([file(1e9), { label: '-', path: null, size: null }])).toBe(0);
    expect(readWorkers([file(1), file(1), file(1)], 2)).toBe(2);
    expect(readWorkers([file(1), file(1)], 8)).toBe(2);
  });

  it('gives the summary and the database that one thread gives, ties within a millisecond and repeats included', async () => {
    const opts = { keyActions: ['Created Report'] };
    const one = await importPaths(serial.database.db, [dir], { ...opts, readWorkers: 0 });
    const two = await importPaths(parallel.database.db, [dir], { ...opts, readWorkers: 2 });
    expect(one.ending).toBe('done');
    expect(one.valid).toBe(FILES * 321);
    expect(one.skipped.total).toBe(4);
    expect(one.duplicates).toBe(3); // three lines each read twice
    expect(summaryOf(two)).toEqual(summaryOf(one));
    const rows = await rollupRows(serial.database.db);
    // The ties went to the last file read: file 5's company and traits for every person.
    expect(rows.people.filter((r) => r.includes('(file 5)'))).toHaveLength(10);
    expect(await rollupRows(parallel.database.db)).toEqual(rows);
    // Three workers for six files, handed out in another interleaving: the same again.
    await emptyIngested(parallel.database.db);
    const three = await importPaths(parallel.database.db, [dir], { ...opts, readWorkers: 3 });
    expect(summaryOf(three)).toEqual(summaryOf(one));
    expect(await rollupRows(parallel.database.db)).toEqual(rows);
  });

  it('hashes the ids while reading, in the workers too, only for a sink that writes the hashes', async () => {
    const { messageIdHash } = await import('../src/ingest/message-ids.js');
    for (const usesIdHash of [true, false]) {
      for (const readWorkers of [0, 2]) {
        const seen: SourcedEvent[] = [];
        const sink: ImportSink = { usesIdHash, write: async (events) => (seen.push(...events), { stored: events.length, duplicates: 0 }), close: async () => {} };
        const r = await importPaths(parallel.database.db, [dir], { readWorkers, sink });
        expect(r.ending).toBe('done');
        expect(seen).toHaveLength(FILES * 321 - 3);
        expect(seen.map((e) => e.idHash)).toEqual(seen.map((e) => (usesIdHash ? messageIdHash(e.messageId!) : undefined)));
      }
    }
  });

  it('stops past --max-errors counted across workers and writes nothing', async () => {
    const r = await importPaths(parallel.database.db, [dir], { readWorkers: 2, maxErrors: 3 });
    expect(r.ending).toBe('errors');
    expect(r.skipped.total).toBeGreaterThan(3);
    expect(r.skipped.reasons.get('not valid JSON')?.where[0]).toMatch(/part-1\.json:51$/);
    expect(r.written).toBe(0);
    expect((await tableCounts(parallel.database.db)).people).toBe(0);
  });

  it('a worker that fails stops the read with an error that says how to read without workers', async () => {
    const { listInputs } = await import('../src/import/source.js');
    const { TimeSpill } = await import('../src/import/spill.js');
    const { Coverage, Skips } = await import('../src/import/summary.js');
    const spill = new TimeSpill(tmpdir());
    spill.remove(); // the workers' spill files cannot be written: each worker fails when it flushes
    const report: ImportReport = {
      files: 0, fileProblems: [], read: 0, valid: 0, ignored: new Map(), skipped: new Skips(), written: 0, stored: 0, duplicates: 0,
      coverage: new Coverage(), ending: 'done', dryRun: false, counts: 'exact', target: 'test', formats: new Map(),
    };
    const settings = { format: null, formatOptions: { groupProperty: null, groupType: null, map: {} }, groupKeyPath: null, liveSource: 's', now, hashIds: true };
    await expect(readInParallel(await listInputs([dir]), 2, settings, 100, spill, {}, report, silentProgress())).rejects.toThrow(
      /^a read worker stopped: ENOENT.*Nothing was written; run the same command again with --read-workers 0/,
    );
  });

  it('Ctrl-C stops handing out files, writes nothing and leaves no temporary files', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lm-import-par-tmp-'));
    const controller = new AbortController();
    const progress: Progress = { ...silentProgress(), fileDone: () => controller.abort() };
    const r = await importPaths(parallel.database.db, [dir], { readWorkers: 2, signal: controller.signal, progress, tmpDir: tmp });
    expect(r.ending).toBe('interrupted');
    expect(r.files).toBeLessThan(FILES);
    expect(r.written).toBe(0);
    expect((await tableCounts(parallel.database.db)).people).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });
});
