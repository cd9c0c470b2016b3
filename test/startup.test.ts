/**
 * `npm start` as a new user meets it: the real entry point as a child process, Slack's
 * Web API faked at the wire (SLACK_API_URL). The README's start-up log is what the bot
 * prints; a refused bot token is named, with where to copy it from, and shown on
 * /healthz while slash commands still answer; Slack out of reach is not a token problem;
 * a database that does not exist (or a role, or a password) stops start-up at once with
 * the fix, in the bot and in the command-line tools.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { checkSlackToken } from '../src/slack/token-check.js';
import { createWebApi } from '../src/slack/webapi.js';
import { setupProblem } from '../src/startup.js';
import { kill, startApp, ROOT, type AppProcess } from './faults/helpers.js';
import { freePort } from './helpers/net.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { ADMIN_URL, BOT_TOKEN, post, SIGNING_SECRET, testDatabase, usingPostgres, withDatabase, WRITE_KEY, type TestDatabase } from './harness.js';
import { childEnv } from './helpers/child-env.js';

/** The embedded database's first start (migrations) takes seconds, and far more on a loaded machine. */
const READY_MS = 120_000;

const README_BLOCK = /<!-- startup-log[^>]*-->\s*```\n([\s\S]*?)```\s*<!-- \/startup-log -->/;

/** The JSON log lines a process wrote (other output, such as npm's, is skipped). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A log line without its time, as text: fields and their order are what is compared. */
function withoutTime(entry: Record<string, unknown>): string {
  const { t, ...rest } = entry;
  expect(typeof t).toBe('string');
  return JSON.stringify(rest);
}

describe('npm start', () => {
  let slack: FakeSlack;
  let dir: string;
  let pg: TestDatabase | null = null;
  let app: AppProcess | null = null;
  beforeAll(async () => {
    slack = await startFakeSlack();
    pg = usingPostgres ? await testDatabase() : null;
    await pg?.database.close();
  });
  afterEach(async () => {
    if (app) await kill(app);
    app = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    slack.respond.clear();
    slack.calls.length = 0;
  });
  afterAll(async () => {
    await slack.close();
    await pg?.drop();
  });

  const env = (extra: Record<string, string> = {}) => {
    dir = mkdtempSync(join(tmpdir(), 'lm-startup-'));
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      INGEST_WRITE_KEYS: WRITE_KEY,
      SLACK_API_URL: slack.apiUrl,
      ...(pg ? { DATABASE_URL: pg.url! } : { PGLITE_DIR: dir }),
      ...extra,
    };
  };
  const health = async () => {
    const res = await fetch(`${app!.url}/healthz`);
    return { status: res.status, text: await res.text() };
  };

  it('prints the start-up log the README quotes, line for line', async () => {
    const block = README_BLOCK.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(block, 'README.md has a <!-- startup-log --> block').not.toBeNull();
    const quoted = block![1].trim().split('\n');
    expect(quoted.length).toBeGreaterThanOrEqual(4);
    slack.respond.set('auth.test', () => ({ body: { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'leadmaps', team_id: 'T1', user_id: 'UBOT', bot_id: 'B1' } }));
    // The README's .env, on the embedded database (its default), on a free port.
    const port = await freePort();
    const e: Record<string, string> = env({ KEY_ACTIONS: 'Report Created,Dashboard Shared,Invite Sent', DIGEST_CHANNEL: 'C0123456789' });
    delete e.DATABASE_URL;
    e.PGLITE_DIR = dir;
    app = startApp(e, port);
    await app.waitReady(READY_MS);
    await app.waitForOutput(/"msg":"digest: /);
    await app.waitForOutput(/SLACK_BOT_TOKEN/);
    const printed = logLines(app.output()).map(withoutTime);
    for (const line of quoted) {
      const expected = withoutTime(JSON.parse(line.replaceAll('3000', String(port)).replaceAll('./.data/pglite', dir)));
      expect(printed, `README line not printed by the bot:\n${line}\nprinted:\n${printed.join('\n')}`).toContain(expected);
    }
    expect(await health()).toEqual({ status: 200, text: '{"ok":true}' });
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
  }, 180_000);

  it('KEY_ACTIONS naming events stored before it named them: a warning that says so, and what reads the history', async () => {
    slack.respond.set('auth.test', () => ({ body: { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'leadmaps', team_id: 'T1', user_id: 'UBOT', bot_id: 'B1' } }));
    const first = env();
    const port = await freePort();
    app = startApp(first, port);
    await app.waitReady(READY_MS);
    const now = Date.now();
    const batch = Array.from({ length: 60 }, (_, i) => ({
      type: 'track',
      userId: `ka-u${i % 3}`,
      event: i % 2 ? 'Report Created' : 'Login',
      timestamp: new Date(now - (1 + (i % 5)) * 86_400_000).toISOString(),
      context: { groupId: 'acct_ka' },
    }));
    expect((await post(`${app.url}/v1/batch`, { batch })).status).toBe(200);
    await kill(app);
    // The same history, KEY_ACTIONS now naming an event it holds: warned.
    app = startApp({ ...first, KEY_ACTIONS: 'Report Created' }, port);
    await app.waitReady(READY_MS);
    await app.waitForOutput(/KEY_ACTIONS names events stored before it named them/);
    const warning = logLines(app.output()).find((l) => String(l.msg).startsWith('KEY_ACTIONS names events'))!;
    expect(warning.level).toBe('warn');
    expect(warning.msg).toContain('30 of the 30 such events');
    expect(warning.msg).toContain('/groups top by events');
    await kill(app);
    // KEY_ACTIONS naming an event the history does not hold: nothing to say.
    app = startApp({ ...first, KEY_ACTIONS: 'Invite Sent' }, port);
    await app.waitReady(READY_MS);
    await app.waitForOutput(/"msg":"ready on port/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(app.output()).not.toContain('KEY_ACTIONS names events');
  }, 120_000);

  it('a refused SLACK_BOT_TOKEN: named with where to copy it from, on /healthz, and /groups still answers', async () => {
    slack.respond.set('auth.test', () => ({ body: { ok: false, error: 'invalid_auth' } }));
    app = startApp(env(), await freePort());
    await app.waitReady(READY_MS);
    await app.waitForOutput(/Slack refused SLACK_BOT_TOKEN/);
    const [call] = slack.callsTo('auth.test');
    expect(call.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    const error = logLines(app.output()).find((l) => String(l.msg).includes('Slack refused'))!;
    expect(error.level).toBe('error');
    expect(error.msg).toContain('(invalid_auth)');
    expect(error.msg).toContain('Bot User OAuth Token (xoxb-…)');
    expect(error.msg).toContain('OAuth & Permissions');
    expect(app.output()).not.toContain(BOT_TOKEN);

    const h = await health();
    expect(h.status).toBe(200);
    const body = JSON.parse(h.text);
    expect(body.ok).toBe(true);
    expect(body.slack).toMatch(/^invalid_auth: SLACK_BOT_TOKEN was refused by Slack; copy the Bot User OAuth Token/);
    expect(h.text).not.toContain(BOT_TOKEN);

    // Answered in the acknowledgement: no Web API call, so no token needed.
    const reply = await slashCommand(app.url, 'help', slack.responseUrl);
    expect(reply.status, reply.text + app.output()).toBe(200);
    expect(reply.json, reply.text + app.output().slice(-3000)).not.toBeNull();
    expect(reply.json?.response_type).toBe('ephemeral');
    expect(JSON.stringify(reply.json)).toContain('top');
    // Checked once at start-up; not again before each request (Bolt did, and then called no listener).
    expect(slack.callsTo('auth.test')).toHaveLength(1);
  }, 180_000);

  it('the token is checked while the database is awaited, and /healthz says both', async () => {
    slack.respond.set('auth.test', () => ({ body: { ok: false, error: 'token_revoked' } }));
    const closed = await freePort();
    app = startApp(env({ DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/leadmaps` }), await freePort());
    await app.waitForOutput(/Slack refused SLACK_BOT_TOKEN \(token_revoked\)/);
    await app.waitForOutput(/waiting for PostgreSQL/);
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error).toMatch(/^starting: waiting for PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/leadmaps$/);
    expect(body.slack).toMatch(/^token_revoked: SLACK_BOT_TOKEN was refused by Slack; copy the Bot User OAuth Token/);
  }, 60_000);

  it('Slack out of reach is not a token problem: said so, /healthz stays {"ok":true}, checked again later', async () => {
    let first = true;
    slack.respond.set('auth.test', () => {
      if (!first) return undefined;
      first = false;
      return { status: 503, body: 'service unavailable' };
    });
    app = startApp(env(), await freePort());
    await app.waitReady(READY_MS);
    await app.waitForOutput(/could not reach Slack to check SLACK_BOT_TOKEN \(HTTP 503\); this is not a problem with the token; checking again in 2 s/);
    expect(await health()).toEqual({ status: 200, text: '{"ok":true}' });
    await slack.waitFor('auth.test', 2, 15_000);
    await app.waitForOutput(/Slack accepted SLACK_BOT_TOKEN/);
    expect(app.output()).not.toMatch(/Slack refused/);
    expect(await health()).toEqual({ status: 200, text: '{"ok":true}' });
  }, 180_000);

  describe.skipIf(!usingPostgres)('a database that retrying cannot fix (PostgreSQL)', () => {
    it('does not exist: the bot stops at once with the createdb command', async () => {
      const url = withDatabase(ADMIN_URL!, 'lm_no_such_database');
      const t0 = Date.now();
      app = startApp(env({ DATABASE_URL: url }), await freePort());
      const exit = await app.exited;
      expect(exit.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(15_000);
      const out = app.output();
      expect(out).toContain('the database "lm_no_such_database" does not exist on PostgreSQL at 127.0.0.1:5432');
      expect(out).toMatch(/createdb -h 127\.0\.0\.1 -p 5432 -U \S+ lm_no_such_database/);
      expect(out).not.toContain('waiting for');
    }, 60_000);

    it('a role that does not exist: the bot stops at once with createuser, never the password', async () => {
      const u = new URL(ADMIN_URL!);
      u.username = 'lm_no_such_role';
      u.password = 'Pw-9f8e7d6c5b';
      app = startApp(env({ DATABASE_URL: u.toString() }), await freePort());
      expect((await app.exited).code).toBe(1);
      const out = app.output();
      expect(out).toContain('the role "lm_no_such_role" does not exist');
      expect(out).toContain('createuser -h 127.0.0.1 -p 5432 -U postgres --pwprompt lm_no_such_role');
      expect(out).not.toContain('Pw-9f8e7d6c5b');
      expect(out).not.toContain('waiting for');
    }, 60_000);

    it.each([
      ['groups', ['top']],
      ['digest', ['--dry-run']],
    ])('npm run %s gives up at once, with the fix', async (script, args) => {
      const missingDb = await runCli(script, args, { DATABASE_URL: withDatabase(ADMIN_URL!, 'lm_no_such_database') });
      expect(missingDb.code).toBe(1);
      expect(missingDb.stderr).toMatch(/createdb -h 127\.0\.0\.1 -p 5432 -U \S+ lm_no_such_database/);
      expect(missingDb.stderr).not.toContain('waiting for');
      expect(missingDb.ms).toBeLessThan(10_000);
      const u = new URL(ADMIN_URL!);
      u.username = 'lm_no_such_role';
      u.password = 'Pw-9f8e7d6c5b';
      const missingRole = await runCli(script, args, { DATABASE_URL: u.toString() });
      expect(missingRole.code).toBe(1);
      expect(missingRole.stderr).toContain('createuser');
      expect(missingRole.stderr).not.toContain('Pw-9f8e7d6c5b');
      expect(missingRole.stderr).not.toContain('waiting for');
    }, 60_000);
  });
});

function runCli(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: ROOT, env: childEnv(env) });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    child.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - t0 }));
  });
}

describe('auth.test answers that say nothing about the token', () => {
  it('unknown_method (SLACK_API_URL is not the Web API): a warning, no /healthz problem, no retry', async () => {
    const slack = await startFakeSlack();
    try {
      slack.respond.set('auth.test', () => ({ body: { ok: false, error: 'unknown_method' } }));
      const lines: string[] = [];
      const check = checkSlackToken({ webApi: createWebApi({ apiUrl: slack.apiUrl, token: BOT_TOKEN }), log: createLogger({ write: (l) => lines.push(l) }) });
      expect(await check.settled).toEqual({ kind: 'unchecked', error: 'unknown_method' });
      expect(check.problem()).toBeUndefined();
      expect(lines.map((l) => JSON.parse(l))).toMatchObject([{ level: 'warn', msg: 'could not check SLACK_BOT_TOKEN: Slack answered auth.test with unknown_method (is SLACK_API_URL the Web API?)' }]);
      check.stop();
      expect(slack.callsTo('auth.test')).toHaveLength(1);
    } finally {
      await slack.close();
    }
  });
});

describe('what retrying cannot fix, and what it can', () => {
  const pgConfig = { databaseUrl: 'postgres://app:s3cret-pw@db.internal:6543/leadmaps', pgliteDir: './.data/pglite' };
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
  const wrapped = (cause: Error) => Object.assign(new Error('Failed query: CREATE SCHEMA IF NOT EXISTS "drizzle"\nparams: '), { query: 'CREATE SCHEMA IF NOT EXISTS "drizzle"', params: [], cause });

  it.each([
    ['3D000', 'database "leadmaps" does not exist', /createdb -h db\.internal -p 6543 -U app leadmaps/],
    ['28P01', 'password authentication failed for user "app"', /refused the password of role "app" \(28P01\)\. Check the password in DATABASE_URL/],
    ['28000', 'role "app" does not exist', /createuser -h db\.internal -p 6543 -U postgres --pwprompt app/],
    ['28000', 'no pg_hba.conf entry for host "10.0.0.1", user "app", database "leadmaps", no encryption', /pg_hba\.conf/],
  ])('%s (%s): fails fast with the fix, never the password', (code, message, fix) => {
    const said = setupProblem(pgError(code, message), pgConfig);
    expect(said).toMatch(fix);
    expect(said).not.toContain('s3cret-pw');
  });

  it('a certificate the server presents that is refused: stops, with the reason', () => {
    const said = setupProblem(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), pgConfig);
    expect(said).toMatch(/cannot use PostgreSQL at db.internal:6543: self-signed certificate in certificate chain\. Retrying will not fix this/);
  });

  it('a privilege missing during migrations (under drizzle’s wrapper): the GRANT to run', () => {
    const said = setupProblem(wrapped(pgError('42501', 'permission denied for database leadmaps')), pgConfig);
    expect(said).toContain('GRANT CREATE ON DATABASE "leadmaps" TO "app"');
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['ETIMEDOUT', 'connect ETIMEDOUT'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal'],
    ['CONNECT_TIMEOUT', 'write CONNECT_TIMEOUT db.internal:6543'],
    ['CONNECTION_CLOSED', 'write CONNECTION_CLOSED db.internal:6543'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['08006', 'connection failure'],
    ['ESOCKETTIMEDOUT', 'socket timed out'],
    ['CONNECTION_DESTROYED', 'write CONNECTION_DESTROYED db.internal:6543'],
  ])('%s: keeps waiting', (code, message) => {
    expect(setupProblem(pgError(code, message), pgConfig)).toBeNull();
    expect(setupProblem(wrapped(pgError(code, message)), pgConfig)).toBeNull();
  });

  it('an embedded database in a folder this user may not write: PGLITE_DIR and the fix', () => {
    const said = setupProblem(Object.assign(new Error("EACCES: permission denied, mkdir '/srv/db'"), { code: 'EACCES' }), { databaseUrl: undefined, pgliteDir: '/srv/db' });
    expect(said).toMatch(/cannot be kept in \/srv\/db .*Point PGLITE_DIR at a folder this user may create and write/);
  });

  it('a DATABASE_URL that no driver can read is refused with the variable named, never echoed', () => {
    for (const url of ['postgres://app:p#ss@db:5432/leadmaps', 'postgres://app:pw@db:99999/leadmaps', 'postgres://app:50%off@db/leadmaps']) {
      let error: unknown;
      try {
        loadConfig({ DATABASE_URL: url });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/DATABASE_URL: expected a PostgreSQL URL .*percent-encode/);
      expect((error as Error).message).not.toContain(url.split('@')[0].split(':')[2]);
    }
    expect(loadConfig({ DATABASE_URL: 'postgres://app:p%23ss@db:5432/leadmaps' }).databaseUrl).toBe('postgres://app:p%23ss@db:5432/leadmaps');
  });
});
