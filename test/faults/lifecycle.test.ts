/**
 * The process's life, as a real child process: a graceful stop on SIGTERM, and
 * a start-up while the database does not answer yet.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tcpProxy } from '../helpers/proxy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rows } from '../../src/db/client.js';
import { sendSigned, startFakeSlack } from '../helpers/slack.js';
import { ADMIN_URL, appEnv, freePort, freshPgDatabase, kill, openForReading, SECRETS, sleep, startApp, until } from './helpers.js';

const auth = `Basic ${Buffer.from(`${SECRETS.writeKey}:`).toString('base64')}`;

describe(`graceful stop on SIGTERM (${ADMIN_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('stops taking requests, finishes the one in flight and the digest run, closes the database, exits 0', async () => {
    const slack = await startFakeSlack();
    // Slack takes 2 s to answer the digest's post: the run is in progress when SIGTERM comes.
    slack.respond.set('chat.postMessage', async () => {
      await sleep(2_000);
      return undefined;
    });
    const pg = ADMIN_URL ? await freshPgDatabase() : null;
    const dir = pg ? null : mkdtempSync(join(tmpdir(), 'lm-stop-'));
    const where = pg ? { DATABASE_URL: pg.url } : { PGLITE_DIR: dir! };
    const app = startApp(appEnv({ ...where, SLACK_API_URL: slack.apiUrl, DIGEST_CHANNEL: 'C0DIGEST1', DIGEST_CRON: '* * * * * *' }), await freePort());
    try {
      await app.waitReady();
      await slack.waitFor('chat.postMessage', 1, 20_000);

      // A request in flight: headers and half of the body sent, the rest after SIGTERM.
      const body = JSON.stringify({ userId: 'stop-u', event: 'Viewed Chart', messageId: 'stop-1', context: { groupId: 'stop-co' } });
      const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${app.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: auth } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 20));
        setTimeout(() => req.end(body.slice(20)), 1_000);
      });
      await sleep(200);
      const t0 = Date.now();
      app.child.kill('SIGTERM');
      await app.waitForOutput(/SIGTERM: finishing requests in flight/);
      // New connections are refused at once.
      await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
      expect(await inFlight).toEqual({ status: 200, text: '{"success":true}' });
      const exit = await app.exited;
      const took = Date.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      // Within a few seconds: the digest post takes 2 s of it; PGlite checkpoints on close.
      expect(took).toBeLessThan(8_000);
      console.info(`SIGTERM to exit: ${took} ms`);
      expect(app.output()).toMatch(/"msg":"stopped"/);
      expect(app.output()).toMatch(/digest: posted/);

      // The request in flight and the digest run were committed before the database closed.
      const reader = await openForReading(pg ? { databaseUrl: pg.url } : { pgliteDir: dir! });
      try {
        const [m] = await rows<{ n: number }>(reader.db, sql`select count(*)::int as n from messages`);
        expect(m.n).toBe(1);
        const runs = await rows<{ status: string }>(reader.db, sql`select status from digest_runs`);
        expect(runs).toEqual([{ status: 'posted' }]);
      } finally {
        await reader.close();
      }
      expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    } catch (err) {
      console.error(`app output:\n${app.output().slice(-4000)}`);
      throw err;
    } finally {
      await kill(app);
      await slack.close();
      await pg?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A port that refuses connections until `open()`, then forwards to PostgreSQL. */
function lateDatabase(port: number, target: URL) {
  const proxy = tcpProxy(target);
  return { open: () => proxy.open(port).then(() => undefined), close: () => proxy.cut() };
}

describe.skipIf(!ADMIN_URL)('start-up with the database down', () => {
  it('the port answers at once: 503 everywhere while it retries with backoff, then the full server', async () => {
    const pg = await freshPgDatabase();
    const dbPort = await freePort();
    const viaLate = new URL(pg.url);
    viaLate.hostname = '127.0.0.1';
    viaLate.port = String(dbPort);
    const late = lateDatabase(dbPort, new URL(pg.url));
    const app = startApp(appEnv({ DATABASE_URL: viaLate.toString() }), await freePort());
    try {
      await until('the port to answer', async () => (await fetch(`${app.url}/healthz`)).status === 503, 20_000);
      const health = await fetch(`${app.url}/healthz`);
      expect(await health.json()).toEqual({ ok: false, error: `starting: waiting for PostgreSQL at ${viaLate.toString()}` });
      const ingest = await fetch(`${app.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'late-1' }) });
      expect(ingest.status).toBe(503);
      expect(await ingest.json()).toMatchObject({ success: false, error: expect.stringMatching(/retry/) });
      // Slack's own (signed) requests get 503 so that Slack retries; an unsigned or forged one 401, as always.
      const signed = await sendSigned(app.url, '{"type":"url_verification","challenge":"c"}', 'application/json', { secret: SECRETS.signingSecret });
      expect(signed.status).toBe(503);
      const unsigned = await fetch(`${app.url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(unsigned.status).toBe(401);
      const forged = await sendSigned(app.url, '{}', 'application/json', { secret: 'not-the-secret' });
      expect(forged.status).toBe(401);

      // It says what it waits for, and backs off.
      await app.waitForOutput(/waiting for PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/lm_fault_\w+ \(attempt 2\); retrying in 1 s/, 20_000);
      expect(app.output()).toMatch(/\(attempt 1\); retrying in 1 s/);
      expect(app.output()).toMatch(/"code":"ECONNREFUSED"/);

      await late.open();
      await app.waitReady(30_000);
      expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({ ok: true });
      const stored = await fetch(`${app.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'late-1', context: { groupId: 'late-co' } }) });
      expect(stored.status).toBe(200);
      expect(app.output()).toMatch(/database ready; migrations applied/);
      expect(await kill(app, 'SIGTERM')).toEqual({ code: 0, signal: null });
    } catch (err) {
      console.error(`app output:\n${app.output().slice(-4000)}`);
      throw err;
    } finally {
      await kill(app);
      await late.close();
      await pg.drop();
    }
  });

  it('SIGTERM while still waiting for the database exits 0 at once', async () => {
    const dead = `postgres://postgres@127.0.0.1:${await freePort()}/nothing`;
    const app = startApp(appEnv({ DATABASE_URL: dead }), await freePort());
    try {
      await app.waitForOutput(/waiting for PostgreSQL/);
      app.child.kill('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
    } finally {
      await kill(app);
    }
  });
});
