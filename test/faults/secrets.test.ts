/**
 * Secrets never leave the process: a full session of the real app (child
 * process, LOG_LEVEL=debug) — ingestion, slash commands, App Home, a digest
 * post, refused requests with a wrong key and a bad signature, and a bad
 * configuration — and every byte of stdout/stderr, every reply and every call
 * recorded by the fake Slack is searched for each secret.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventCallback, slashCommand, startFakeSlack } from '../helpers/slack.js';
import { ADMIN_URL, appEnv, freePort, freshPgDatabase, kill, MAIN, ROOT, SECRETS, startApp } from './helpers.js';
import { childEnv } from '../helpers/child-env.js';

describe('secrets stay secret', () => {
  it('no token, signing secret or write key in any log line, reply or Slack call body', async () => {
    const slack = await startFakeSlack();
    const pg = ADMIN_URL ? await freshPgDatabase() : null;
    const dir = pg ? null : mkdtempSync(join(tmpdir(), 'lm-secrets-'));
    const dbPassword = 'db-pass-9e1c7b';
    const where = pg ? { DATABASE_URL: pg.url.replace('postgres@', `postgres:${dbPassword}@`) } : { PGLITE_DIR: dir! };
    const app = startApp(
      appEnv({ ...where, LOG_LEVEL: 'debug', SLACK_API_URL: slack.apiUrl, DIGEST_CHANNEL: 'C0DIGEST1', DIGEST_CRON: '* * * * * *', KEY_ACTIONS: 'Report Exported' }),
      await freePort(),
    );
    const replies: string[] = [];
    const keep = async (r: Response) => {
      const text = await r.text();
      replies.push(`${r.status} ${JSON.stringify([...r.headers])} ${text}`);
      return r.status;
    };
    const ingest = (body: unknown, key = SECRETS.writeKey) =>
      fetch(`${app.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }, body: JSON.stringify(body) }).then(keep);
    try {
      await app.waitReady();
      const batch = { batch: [{ type: 'group', userId: 'u1', groupId: 'acme', traits: { name: 'Acme' } }, { type: 'track', userId: 'u1', event: 'Report Exported', context: { groupId: 'acme' } }] };
      expect(await ingest(batch)).toBe(200);
      // Refused: a wrong key (one character off), the key in the body but wrong, bad JSON.
      expect(await ingest(batch, `${SECRETS.writeKey}x`)).toBe(401);
      expect(await fetch(`${app.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: SECRETS.writeKey.slice(0, -1), userId: 'u', event: 'E' }) }).then(keep)).toBe(401);
      expect(await fetch(`${app.url}/v1/track`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${SECRETS.writeKey}:`).toString('base64')}` }, body: '{not json' }).then(keep)).toBe(400);
      for (const text of ['top', 'show Acme', 'quiet', 'report', 'key', 'digest', 'help', 'frobnicate']) {
        const r = await slashCommand(app.url, text, slack.responseUrl, { secret: SECRETS.signingSecret });
        replies.push(`${r.status} ${r.text}`);
        expect(r.status).toBe(200);
      }
      const badSig = await slashCommand(app.url, 'top', slack.responseUrl, { secret: 'wrong-secret' });
      replies.push(`${badSig.status} ${badSig.text}`);
      expect(badSig.status).toBe(401);
      await eventCallback(app.url, { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1.2' }, { secret: SECRETS.signingSecret });
      await slack.waitFor('views.publish', 1, 15_000);
      await slack.waitFor('chat.postMessage', 1, 20_000);
      expect(await kill(app, 'SIGTERM')).toEqual({ code: 0, signal: null });

      // A bad configuration: the refused value is never echoed.
      const bad = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        cwd: ROOT,
        env: childEnv({ PORT: '0', SLACK_SIGNING_SECRET: SECRETS.signingSecret, SLACK_BOT_TOKEN: `bad${SECRETS.botToken}`, INGEST_WRITE_KEYS: SECRETS.writeKey, PGLITE_DIR: 'memory://' }, process.env.HOME ?? '/tmp'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let badOut = '';
      bad.stdout.on('data', (c) => (badOut += c));
      bad.stderr.on('data', (c) => (badOut += c));
      const badCode = await new Promise<number | null>((r) => bad.once('exit', (code) => r(code)));
      expect(badCode).not.toBe(0);
      expect(badOut).toMatch(/SLACK_BOT_TOKEN/);

      const logs = app.output();
      expect(logs).toMatch(/"level":"debug"/);
      // The bot token goes to Slack's Web API as the credential, as it must: in the Authorization
      // header, and in the form of Bolt's own auth.test. Nowhere else, and never to response_url.
      const credential = (c: (typeof slack.calls)[number]) => (c.method === 'auth.test' ? { ...c.body, token: undefined } : c.body);
      const slackBodies = slack.calls.map((c) => JSON.stringify({ method: c.method, body: credential(c), headers: { ...c.headers, authorization: undefined } }));
      const everything = { logs, badConfig: badOut, replies: replies.join('\n'), slack: slackBodies.join('\n') };
      for (const [name, secret] of Object.entries({ ...SECRETS, dbPassword })) {
        for (const [where, text] of Object.entries(everything)) {
          expect(text.includes(secret), `${name} appears in ${where}`).toBe(false);
        }
      }
      expect(slack.calls.filter((c) => c.method === 'response_url').every((c) => c.headers.authorization === undefined)).toBe(true);
      expect(slack.callsTo('chat.postMessage').every((c) => c.headers.authorization === `Bearer ${SECRETS.botToken}`)).toBe(true);
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
