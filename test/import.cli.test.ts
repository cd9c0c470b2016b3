/**
 * `npm run import` as an operator runs it: a real process, its output and exit code. Plain
 * progress lines when not on a terminal; standard input; the summary; the embedded database
 * held by a running bot; Ctrl-C stops after the current batch and prints the command that
 * resumes.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { plainProgress } from '../src/import/progress.js';
import { ago, gz, join, jsonl, write } from './helpers/import.js';
import { testDatabase, usingPostgres, type TestDatabase } from './harness.js';
import { childEnv } from './helpers/child-env.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, opts: { stdin?: Buffer; onStderr?: (s: string, child: ReturnType<typeof spawn>) => void; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    // From another folder, the loader and the command are named by their full paths.
    const flags = opts.cwd ? ['--import', import.meta.resolve('tsx'), join(process.cwd(), 'src/cli/import.ts')] : ['--import', 'tsx', 'src/cli/import.ts'];
    const child = spawn(process.execPath, [...flags, ...args], {
      env: childEnv(env),
      cwd: opts.cwd ?? process.cwd(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (opts.stdin) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
}

const now = new Date();
const lines = (n: number, prefix = 'e') =>
  Array.from({ length: n }, (_, i) => ({
    type: 'track',
    event: i % 3 ? 'Login' : 'Report Built',
    userId: `u${i % 50}`,
    messageId: `${prefix}${i}`,
    timestamp: ago(now, 1 + (i % 100), 9, i % 60).toISOString(),
    context: { groupId: `c${i % 7}` },
  }));

describe('npm run import (the command)', () => {
  let dir: string;
  let pg: TestDatabase | null = null;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-import-cli-'));
    pg = usingPostgres ? await testDatabase() : null;
    if (pg) await pg.database.close(); // the command opens it itself
    env = pg ? { DATABASE_URL: pg.url! } : { PGLITE_DIR: join(dir, 'db') };
    write(join(dir, 'in/a.gz'), gz(jsonl(lines(1200))));
  }, 120_000);
  afterAll(async () => {
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes plain progress lines when not on a terminal, then the summary; a second run stores nothing', async () => {
    const first = await run(['--progress-every', '0.01', join(dir, 'in')], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^import: (reading [\d.]+ of [\d.]+ MB, \d of 1 files, [\d,]+ events \([\d,]+\/s\)|writing [\d,]+ of 1,200 events \([\d,]+\/s\))/m);
    expect(first.stdout).toMatch(/^Import done: into /m);
    expect(first.stdout).toContain('events:      1,200 read, 1,200 valid; 1,200 stored, 0 duplicate (stored before, or twice in the input)');
    expect(first.stdout).toMatch(/companies: +7\n/);
    expect(first.stdout).toContain('with a company: 100.0 % of activity events (1,200 of 1,200)');
    expect(first.stdout).toMatch(/trend: +84 of 84 baseline days present: trends are live\n/);
    // No write key known: the summary says ids cannot meet live traffic's, and how to fix it.
    expect(first.stdout).toMatch(/"segment-import" namespace.*--write-key KEY/);
    const again = await run([join(dir, 'in')], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('1,200 read, 1,200 valid; 0 stored, 1,200 duplicate (stored before, or twice in the input)');
  }, 120_000);

  it('reads standard input (-), gzip or not; --dry-run writes nothing and needs no database', async () => {
    const r = await run(['--dry-run', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: gz(jsonl([...lines(5, 's'), '{oops'])) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Import checked \(dry run: nothing written\)/);
    expect(r.stdout).toContain('6 read, 5 valid; none written');
    expect(r.stdout).toContain('1 × not valid JSON\n      -:6');
  });

  it('--project-timezone: Mixpanel times read on the project\'s wall clock; a zone it does not know is refused', async () => {
    // 23:30 on 2026-11-20 in Los Angeles is 07:30 UTC on the 21st.
    const wall = Date.UTC(2026, 10, 20, 23, 30) / 1000;
    const mp = Buffer.from(jsonl([{ event: 'Login', properties: { time: wall, distinct_id: 'u1', $insert_id: 'm1', company_id: 'acme' } }]));
    const utc = await run(['--dry-run', '--group-property', 'company_id', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: mp });
    expect(utc.code, utc.stderr).toBe(0);
    expect(utc.stdout).toContain('date range:  2026-11-20 to 2026-11-20 (UTC)');
    const la = await run(['--dry-run', '--group-property', 'company_id', '--project-timezone', 'America/Los_Angeles', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: mp });
    expect(la.code, la.stderr).toBe(0);
    expect(la.stdout).toContain('date range:  2026-11-21 to 2026-11-21 (UTC)');
    const bad = await run(['--project-timezone', 'Pacific Time', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: mp });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--project-timezone Pacific Time: not a time zone');
  });

  it('--url: a password in the URL is refused and never printed; a trailing slash is no double slash', async () => {
    const r = await run(['--url', 'https://admin:s3cret@bot.example/', '--write-key', 'wk', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: Buffer.from(jsonl(lines(1))) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a user name or password in the URL is not sent');
    expect(r.stderr).toContain('https://bot.example');
    expect(r.stderr + r.stdout).not.toContain('s3cret');
    const dry = await run(['--dry-run', '--url', 'https://bot.example/', '--write-key', 'wk', '-'], { PGLITE_DIR: join(dir, 'never') }, { stdin: Buffer.from(jsonl(lines(1))) });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would send to https://bot.example/v1/batch');
  });

    it('stops past --max-errors with a non-zero exit and the report; names unknown formats', async () => {
    write(join(dir, 'bad/x.jsonl'), jsonl(['{', '{', '{']));
    const r = await run(['--max-errors', '1', join(dir, 'bad')], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Import stopped: too many bad lines/);
    expect(r.stdout).toContain(`${join(dir, 'bad/x.jsonl')}:1, ${join(dir, 'bad/x.jsonl')}:2`);
    expect(r.stdout).toContain('Nothing was written.');
    const unknown = await run(['--format', 'parquet', join(dir, 'bad')], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--format parquet: unknown format; this tool reads segment .*csv/);
    const missing = await run([join(dir, 'nope/*.gz')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no file matches this pattern');
  });

  it.skipIf(usingPostgres)('says when a running bot holds the embedded database, and shows --url', async () => {
    const held = join(dir, 'held');
    write(join(held, 'leadmaps.lock'), String(process.pid)); // this test process stands in for the bot
    const r = await run([join(dir, 'in')], { PGLITE_DIR: held, PORT: '3999' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`in use by process ${process.pid}`);
    expect(r.stderr).toContain(`npm run import -- --url http://localhost:3999 --write-key KEY ${join(dir, 'in')}`);
  });

  describe('Ctrl-C', () => {
    let server: Server;
    let url = '';
    const batches: number[] = [];
    beforeAll(async () => {
      // A slow bot: each batch takes 600 ms to answer.
      server = createServer(async (req, res) => {
        let body = '';
        for await (const c of req) body += c;
        batches.push(JSON.parse(body).batch.length);
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'), 600);
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => server?.close());

    it('stops after the current batch and prints the command that resumes', async () => {
      writeFileSync(join(dir, 'many.jsonl'), jsonl(lines(9000, 'k')));
      let sent = false;
      const r = await run(['--url', url, '--write-key', 'wk_1', '--progress-every', '0.05', join(dir, 'many.jsonl')], {}, {
        onStderr: (s, child) => {
          if (!sent && /import: writing/.test(s)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      expect(r.code).toBe(130);
      expect(r.stdout).toMatch(/^Import stopped \(Ctrl-C\): sent to /m);
      expect(r.stdout).toContain(`To finish, run the same command again (what was written is skipped):\n  npm run import -- --url ${url} --write-key wk_1 --progress-every 0.05 ${join(dir, 'many.jsonl')}`);
      // The batch under way was finished, and no other was started.
      expect(batches.length).toBeGreaterThanOrEqual(1);
      expect(batches.length).toBeLessThan(5);
      expect(r.stdout).toMatch(new RegExp(`${(batches.reduce((a, b) => a + b, 0)).toLocaleString('en-US')} sent and accepted`));
    }, 60_000);
  });

  it('reads several files of 8 MB or more in worker threads, run from any folder', async () => {
    // Four gzip files of about 2.3 MB each: random property values do not compress.
    for (let f = 0; f < 4; f++) {
      const records = lines(1500, `w${f}-`).map((l, i) => ({ ...l, properties: { blob: randomBytes(1500).toString('base64'), i } }));
      write(join(dir, `big/${f}.gz`), gz(jsonl(records)));
    }
    const elsewhere = mkdtempSync(join(tmpdir(), 'lm-import-cwd-'));
    const r = await run(['--progress-every', '0.05', join(dir, 'big')], env, { cwd: elsewhere });
    rmSync(elsewhere, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^import: reading [\d.]+ of [89]\.\d MB, \d of 4 files/m);
    expect(r.stdout).toContain('files:       4 read (4 Segment archive)');
    expect(r.stdout).toContain('events:      6,000 read, 6,000 valid; 6,000 stored, 0 duplicate (stored before, or twice in the input)');
    // --read-workers 0: the main thread reads the same files; a value that is not a count is refused.
    const again = await run(['--read-workers', '0', join(dir, 'big')], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('events:      6,000 read, 6,000 valid; 0 stored, 6,000 duplicate');
    const bad = await run(['--read-workers', 'all', join(dir, 'big')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--read-workers all: expected a whole number from 0 to 64');
  }, 120_000);
});

describe('plain progress lines', () => {
  it('one line every interval, with bytes, files, events per second and time left', () => {
    vi.useFakeTimers();
    try {
      let t = 0;
      const out: string[] = [];
      const p = plainProgress((l) => out.push(l), 10_000, () => t);
      p.reading(20 * 1024 * 1024, 4);
      p.bytes(5 * 1024 * 1024);
      p.fileDone();
      p.events(50_000);
      t = 10_000;
      vi.advanceTimersByTime(10_000);
      expect(out).toEqual(['import: reading 5.0 of 20.0 MB, 1 of 4 files, 50,000 events (5,000/s), about 30 s left']);
      vi.advanceTimersByTime(9_999);
      expect(out).toHaveLength(1);
      p.writing(200_000);
      p.written(20_000);
      t = 20_000;
      vi.advanceTimersByTime(1);
      expect(out[1]).toBe('import: writing 20,000 of 200,000 events (2,000/s), about 1 min 30 s left');
      p.stop();
      vi.advanceTimersByTime(60_000);
      expect(out).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
