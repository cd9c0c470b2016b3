/**
 * `npm run groups` and `npm run digest` as an operator runs them: real processes against the
 * configured database (PostgreSQL, or the embedded one in PGLITE_DIR), holding the worked
 * example sent through the ingestion API.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS, workedExampleCalls } from '../src/demo/example.js';
import { dayString, utcDay } from '../src/domain/period.js';
import { kill, startApp } from './faults/helpers.js';
import { freePort } from './helpers/net.js';
import { loadWorkedExample, startTestApp, testDatabase, usingPostgres, type TestDatabase } from './harness.js';
import { childEnv } from './helpers/child-env.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(script: 'groups' | 'digest', args: string[], env: Record<string, string>): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
      env: childEnv({ KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), ...env }),
      cwd: process.cwd(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

describe('npm run groups / npm run digest', () => {
  let pg: TestDatabase | null = null;
  let dir = '';
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-cli-'));
    // The bot loads the example, then stops (the embedded database is one process's at a time).
    pg = usingPostgres ? await testDatabase() : null;
    const database = pg?.database ?? (await openDatabase({ pgliteDir: dir, migrate: true }));
    const app = await startTestApp({ database, env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(',') } });
    await loadWorkedExample(app.url);
    await app.stop();
    if (!pg) await database.close();
    env = pg ? { DATABASE_URL: pg.url! } : { PGLITE_DIR: dir };
  }, 120_000);
  afterAll(async () => {
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('groups top prints the worked example: Acme Inc, Northwind Ltd, Globex', async () => {
    const r = await run('groups', ['top'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const acme = r.stdout.indexOf('Acme Inc');
    const northwind = r.stdout.indexOf('Northwind Ltd');
    const globex = r.stdout.indexOf('Globex');
    expect(acme).toBeGreaterThan(-1);
    expect(northwind).toBeGreaterThan(acme);
    expect(globex).toBeGreaterThan(northwind);
    // A table: rank, name, people, key actions, trend.
    expect(r.stdout).toMatch(/^1 +Acme Inc +14 +1,200 +↑ up$/m);
    expect(r.stdout).toMatch(/^2 +Northwind Ltd +9 +800 +→ steady$/m);
    expect(r.stdout).toMatch(/^3 +Globex +11 +120 +⇊ down sharply$/m);
  }, 60_000);

  it('groups quiet and show, and an unknown word is named', async () => {
    const quiet = await run('groups', ['quiet'], env);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('Globex');
    expect(quiet.stdout).not.toContain('Acme Inc');
    const show = await run('groups', ['show', 'acme'], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('Acme Inc');
    expect(show.stdout).toContain('1,200');
    // What they do (issue 16): the worked example's events, as in Slack.
    expect(show.stdout).toContain('What they do, last 30 days');
    // Each with its count and its change against its own baseline; then Fell most.
    expect(show.stdout).toMatch(/\n1\. \S.* · [\d,]+ · (new|[\u2212+]?[\d,]+ %)\n/);
    expect(show.stdout).toContain("Fell most, last 14 days against each event's own usual week");
    // A word it does not know is a failed command: named, the help printed, exit 2.
    const unknown = await run('groups', ['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('frobnicate');
    expect(unknown.stdout).toContain('show NAME-OR-KEY');
    // A typo: the nearest subcommand is suggested.
    const typo = await run('groups', ['tpo'], env);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toContain("I don't know “tpo”: did you mean `top`?");
    const help = await run('groups', ['help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/don't know/);
  }, 60_000);

  it('groups show acme events prints every event of the company with its exact count, most first (issue 16 point 4)', async () => {
    // What the worked example sent Acme over the 30 days ending today, counted here from its calls.
    const now = new Date();
    const since = dayString(utcDay(now, -29));
    const counts = new Map<string, number>();
    for (const c of workedExampleCalls(now)) {
      if ((c.context as { groupId?: string } | undefined)?.groupId !== 'acct_acme' || c.timestamp.slice(0, 10) < since) continue;
      const name = c.type === 'track' ? String(c.event) : c.type === 'page' ? String(c.name ?? 'page') : null;
      if (name !== null) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const expected = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    expect(expected.length).toBe(4); // the three key actions and the Dashboard page
    const r = await run('groups', ['show', 'acme', 'events'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const total = expected.reduce((n, [, k]) => n + k, 0);
    expect(r.stdout).toContain(`Acme Inc\nKey acct_acme · last 30 days · 4 events · ${total.toLocaleString('en-US')} in all\n`);
    const rows = r.stdout.split('\n').filter((l) => /^\s*\d+ {2}/.test(l));
    expect(rows.map((l) => l.trim().split(/ {2,}/))).toEqual(expected.map(([name, k], i) => [String(i + 1), name, k.toLocaleString('en-US')]));
    // A range, and a company that is not there.
    const week = await run('groups', ['show', 'Acme', 'Inc', 'events', '1w'], env);
    expect(week.stdout).toContain('Key acct_acme · last week · 4 events');
    const none = await run('groups', ['show', 'nosuchco', 'events'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No company matches “nosuchco”.');
  }, 120_000);

  it('groups show Acme --chart writes the chart as a PNG; a bad file name is refused, naming the fix', async () => {
    const file = join(dir, 'acme.png');
    const r = await run('groups', ['show', 'Acme', '--chart', file], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Acme Inc');
    expect(r.stdout).toContain(`Chart written to ${file}`);
    const png = PNG.sync.read(readFileSync(file));
    expect(png.width).toBeGreaterThan(300);
    const bad = await run('groups', ['show', 'Acme', '--chart', join(dir, 'acme.txt')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('give a file name ending in .png');
    expect(existsSync(join(dir, 'acme.txt'))).toBe(false);
  }, 60_000);

  it('digest --dry-run prints this week’s digest and posts nothing', async () => {
    const r = await run('digest', ['--dry-run'], { ...env, SLACK_API_URL: 'http://127.0.0.1:9/api/' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Globex');
    expect(r.stdout).toMatch(/1 company is falling/);
  }, 60_000);

  it('gives up on a database that does not answer, naming it, within seconds', async () => {
    const port = await freePort();
    const r = await run('groups', ['top'], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nowhere` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`could not open PostgreSQL at postgres://postgres@127.0.0.1:${port}/nowhere`);
    expect(r.ms).toBeLessThan(20_000);
  }, 30_000);

  describe.skipIf(usingPostgres)('the embedded database', () => {
    it('is refused while another process has it open, and works once it is closed', async () => {
      const held = await openDatabase({ pgliteDir: dir });
      try {
        expect(readFileSync(join(dir, 'leadmaps.lock'), 'utf8')).toBe(String(process.pid));
        for (const script of ['groups', 'digest'] as const) {
          const r = await run(script, script === 'groups' ? ['top'] : ['--dry-run'], env);
          expect(r.code).toBe(1);
          expect(r.stderr).toContain(`is in use by process ${process.pid}`);
          expect(r.stderr).toContain('DATABASE_URL');
        }
      } finally {
        await held.close();
      }
      const r = await run('groups', ['top'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Acme Inc');
    }, 60_000);

    it('the bot, unlike the tools, waits for the embedded database to be free', async () => {
      const held = await openDatabase({ pgliteDir: dir });
      const bot = startApp({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's3cr3t', PGLITE_DIR: dir }, await freePort());
      const health = () => fetch(`${bot.url}/healthz`).then((r) => r.status, () => 0);
      try {
        await bot.waitForOutput(new RegExp(`in use by process ${process.pid}`));
        expect(await health()).toBe(503);
        await held.close();
        await bot.waitReady();
        bot.child.kill('SIGTERM');
        expect((await bot.exited).code).toBe(0);
      } finally {
        await held.close().catch(() => {});
        await kill(bot);
      }
    }, 90_000);

    it('takes over the lock of a process that is gone', async () => {
      const gone = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['-e', '0']);
        child.on('exit', () => resolve(child.pid!));
      });
      writeFileSync(join(dir, 'leadmaps.lock'), String(gone));
      const r = await run('groups', ['top'], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Acme Inc');
    }, 60_000);
  });
});
