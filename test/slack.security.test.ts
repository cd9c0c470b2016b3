/**
 * Forged, stale and future-dated Slack requests get 401 and do nothing.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from './harness.js';
import { sign, slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

describe('Slack request signatures', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl }, bot: { ackBudgetMs: 0 } });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['unsigned', { signature: null }],
    ['signed with another secret', { secret: 'not-the-secret' }],
    ['a signature for another body', { signature: sign('text=other', now()) }],
    ['a garbled signature', { signature: 'v0=zz' }],
    ['an unknown signature version', { signature: 'v1=abc' }],
    ['stale (6 minutes old)', { timestamp: now() - 6 * 60 }],
    ['from the future (6 minutes ahead)', { timestamp: now() + 6 * 60 }],
    ['a timestamp that is not a number', { timestamp: Number.NaN }],
  ])('%s: 401, and nothing is answered or posted', async (_name, opts) => {
    const r = await slashCommand(app.url, 'top', slack.responseUrl, opts);
    expect(r.status).toBe(401);
    expect(r.text).not.toMatch(/companies/i);
    await new Promise((res) => setTimeout(res, 300));
    expect(slack.calls).toEqual([]);
  });

  it('a correctly signed request inside the window is answered', async () => {
    const r = await slashCommand(app.url, 'help', slack.responseUrl, { timestamp: now() - 4 * 60 });
    expect(r.status).toBe(200);
  });

  it('unknown paths get 404, /healthz answers', async () => {
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
    const h = await fetch(`${app.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ ok: true });
  });

  it("a browser's favicon and a scanner's probes get 404 and log at debug, never a warning", async () => {
    const from = app.logs.length;
    expect((await fetch(`${app.url}/favicon.ico`)).status).toBe(404);
    expect((await fetch(`${app.url}/wp-login.php?user=admin&token=xoxb-probe-123456`, { method: 'POST', body: 'x=1' })).status).toBe(404);
    expect((await fetch(`${app.url}/slack/events`)).status).toBe(404); // GET: Slack only POSTs
    expect((await fetch(`${app.url}/.env`)).status).toBe(404);
    // A request target that is not a URL at all.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(app.url).port), '127.0.0.1', () => socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => (out += d));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 40[04]/);
    const lines = app.logs.slice(from).map((l) => JSON.parse(l) as { level: string; msg: string; path?: string });
    expect(lines.filter((l) => l.level !== 'debug')).toEqual([]);
    expect(lines.filter((l) => l.msg.includes('no such route')).map((l) => l.path)).toEqual(expect.arrayContaining(['/favicon.ico', '/wp-login.php', '/slack/events', '/.env']));
    // The path only: a query string may carry anything.
    expect(app.logs.slice(from).join('\n')).not.toContain('token=');
  });
});
