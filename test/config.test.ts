/**
 * Configuration: validated once, a bad value names the variable and what it
 * expects (never the value), and `npm start` names each missing Slack setting.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, missingSlackSettings } from '../src/config.js';
import { startApp } from './faults/helpers.js';
import { childEnv } from './helpers/child-env.js';

describe('loadConfig', () => {
  it('defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: undefined,
      pgliteDir: './.data/pglite',
      port: 3000,
      writeKeys: [],
      keyActions: [],
      digest: { channel: undefined, cron: '0 9 * * 1', tz: 'UTC' },
      groupKeyPath: null,
      slack: { apiUrl: 'https://slack.com/api/' },
      ownerTrait: 'owner_email',
      alerts: { cron: '0 9 * * 1-5' },
      logLevel: 'info',
    });
    expect(missingSlackSettings(c)).toEqual(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      PGLITE_DIR: '/tmp/x',
      PORT: '8080',
      SLACK_SIGNING_SECRET: 's',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
      INGEST_WRITE_KEYS: ' a, b ,,c ',
      KEY_ACTIONS: 'Report Created, Invite Sent',
      DIGEST_CHANNEL: 'C0123ABC',
      DIGEST_CRON: '*/2 * * * * *',
      DIGEST_TZ: 'Europe/Paris',
      GROUP_KEY_PATH: 'properties.account_id',
      OWNER_TRAIT: 'csm',
      ALERT_CRON: '30 8 * * *',
      LOG_LEVEL: 'debug',
    });
    expect(c.ownerTrait).toBe('csm');
    expect(c.alerts).toEqual({ cron: '30 8 * * *' });
    expect(c.logLevel).toBe('debug');
    expect(c.port).toBe(8080);
    expect(c.writeKeys).toEqual(['a', 'b', 'c']);
    expect(c.keyActions).toEqual(['Report Created', 'Invite Sent']);
    expect(c.slack.apiUrl).toBe('http://127.0.0.1:9/api/');
    expect(c.groupKeyPath).toEqual(['properties', 'account_id']);
    expect(c.digest).toEqual({ channel: 'C0123ABC', cron: '*/2 * * * * *', tz: 'Europe/Paris' });
    expect(missingSlackSettings(c)).toEqual([]);
  });

  it('Socket Mode needs no signing secret', () => {
    expect(missingSlackSettings(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }))).toEqual([]);
  });

  it.each([
    ['PORT', 'abc', /PORT: expected .*port/],
    ['PORT', '70000', /PORT/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: expected a PostgreSQL URL/],
    ['SLACK_BOT_TOKEN', 'xoxp-secret-value', /SLACK_BOT_TOKEN: expected a bot token that starts with xoxb-/],
    ['SLACK_APP_TOKEN', 'nope-secret-value', /SLACK_APP_TOKEN: expected an app-level token/],
    ['SLACK_API_URL', 'not a url', /SLACK_API_URL: expected an http\(s\) URL/],
    ['DIGEST_CHANNEL', '#general', /DIGEST_CHANNEL: expected a channel id/],
    ['DIGEST_CRON', 'every monday', /DIGEST_CRON: expected a node-cron expression/],
    ['DIGEST_TZ', 'Mars/Olympus', /DIGEST_TZ: expected an IANA time zone/],
    ['GROUP_KEY_PATH', 'properties..x', /GROUP_KEY_PATH: expected a dotted path/],
    ['OWNER_TRAIT', 'owner email', /OWNER_TRAIT: expected a trait name/],
    ['ALERT_CRON', 'weekdays at nine', /ALERT_CRON: expected a node-cron expression/],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL: expected one of debug, info, warn, error/],
    ['LOG_LEVEL', 'INFO', /LOG_LEVEL: expected one of debug, info, warn, error/],
    ['LOG_LEVEL', 'trace', /LOG_LEVEL: expected one of debug, info, warn, error/],
  ])('%s=%s is refused, naming the variable and never its value', (name, value, message) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain(value);
  });

  it('names each problem once', () => {
    try {
      loadConfig({ SLACK_API_URL: 'notaurl' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual(['SLACK_API_URL: expected an http(s) URL such as https://slack.com/api/']);
    }
  });

  it('PUBLIC_URL: a base URL without its trailing slash; anything else is named with what is expected', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://groups.example.com/bot/' }).publicUrl).toBe('https://groups.example.com/bot');
    expect(loadConfig({}).publicUrl).toBeUndefined();
    for (const bad of ['groups.example.com', 'ftp://groups.example.com', 'https://groups.example.com/?a=1']) {
      expect(() => loadConfig({ PUBLIC_URL: bad }), bad).toThrow(/PUBLIC_URL: expected the bot's public base URL, such as https:\/\/groups\.example\.com/);
      // Said once, not once per failed check.
      let message = '';
      try {
        loadConfig({ PUBLIC_URL: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message.match(/PUBLIC_URL:/g), bad).toHaveLength(1);
    }
  });

  it('empty strings count as unset', () => {
    expect(loadConfig({ PORT: '', DIGEST_CHANNEL: '', SLACK_BOT_TOKEN: '' }).port).toBe(3000);
    expect(loadConfig({ LOG_LEVEL: ' ' }).logLevel).toBe('info');
  });

  it.each(['debug', 'info', 'warn', 'error'])('LOG_LEVEL=%s is taken', (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(loadConfig({ LOG_LEVEL: ` ${level} ` }).logLevel).toBe(level);
  });
});

describe('npm start without its settings', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: childEnv(env),
      encoding: 'utf8',
      timeout: 30_000,
      cwd: process.cwd(),
    });

  it('exits non-zero naming each missing Slack variable, and points to the demo', () => {
    const r = run({});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('SLACK_BOT_TOKEN');
    expect(r.stderr).toContain('SLACK_SIGNING_SECRET');
    expect(r.stderr).toContain('npm run demo');
  });

  it('a bad value stops it, naming the variable, not printing the value', () => {
    const r = run({ SLACK_BOT_TOKEN: 'xoxp-a-user-token-123', SLACK_SIGNING_SECRET: 's3cr3t', PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SLACK_BOT_TOKEN: expected/);
    expect(r.stderr).toMatch(/PORT: expected/);
    expect(r.stderr).toMatch(/LOG_LEVEL: expected one of debug, info, warn, error/);
    expect(r.stderr).not.toContain('loud');
    expect(r.stderr).not.toContain('xoxp-a-user-token-123');
    expect(r.stderr).not.toContain('eighty');
  });

  it('npm start: a SIGTERM sent to npm (as docker stop does) stops the bot, gracefully', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-npm-start-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, () => resolve()));
    const port = (blocker.address() as AddressInfo).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    // Its own process group, so that whatever happens the finally below leaves nothing running.
    const child = spawn('npm', ['start', '--silent'], {
      env: childEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's3cr3t', PORT: String(port), PGLITE_DIR: dir }),
      cwd: process.cwd(),
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 45_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`the bot did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      child.kill('SIGTERM'); // to npm only, as docker stop does
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
      expect(code).toBe(0);
      expect(out).toContain('"msg":"stopped"');
      const after = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused');
      expect(after).toBe('refused');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* the group is gone: nothing left */
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a port already in use stops it with the fix, in both modes', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, () => resolve()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      for (const slack of [{ SLACK_SIGNING_SECRET: 's3cr3t' }, { SLACK_APP_TOKEN: 'xapp-1-A1-1-abc' }]) {
        const app = startApp({ SLACK_BOT_TOKEN: 'xoxb-1', ...slack }, port);
        let stderr = '';
        app.child.stderr!.on('data', (d) => (stderr += d));
        // It must exit by itself; if it does not, it is killed (and the test fails on the status).
        const guard = setTimeout(() => app.child.kill('SIGKILL'), 25_000);
        const r = { status: (await app.exited).code, stderr };
        clearTimeout(guard);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`EADDRINUSE`);
        expect(r.stderr).toContain('set PORT to a free port');
        expect(r.stderr).not.toContain('    at '); // a sentence, not a stack trace
      }
    } finally {
      blocker.close();
    }
  }, 60_000);
});
