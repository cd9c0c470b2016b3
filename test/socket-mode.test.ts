/**
 * Socket Mode at the wire, as Slack drives it: the app calls `apps.connections.open`
 * with its app-level token (answered by the fake Web API), opens the WebSocket it
 * is given (a local server speaking Slack's Socket Mode protocol), waits for
 * `hello`, then gets envelopes (`slash_commands`, `events_api`, `interactive`) and
 * acknowledges each with its `envelope_id` over the same socket. The ingestion API
 * stays on PORT. Nothing of Bolt, the database or HTTP is mocked.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { basic, loadWorkedExample, post, startTestApp, testDatabase, WRITE_KEY } from './harness.js';
import { slashCommand, slashCommandFields, startFakeSlack, type FakeSlack } from './helpers/slack.js';

const APP_TOKEN = 'xapp-1-A1-1234-socketmodetesttoken';

interface Envelope {
  envelope_id: string;
  type: 'slash_commands' | 'events_api' | 'interactive';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

/** What the app sent back over the socket for one envelope. */
interface Ack {
  envelope_id: string;
  payload?: Record<string, any>;
}

/** A local stand-in for Slack's Socket Mode endpoint (wss://wss-primary.slack.com/link/?ticket=…). */
async function startSocketModeServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  const sockets: WebSocket[] = [];
  const upgrades: string[] = [];
  const received: unknown[] = [];
  const closes: { code: number; at: number }[] = [];
  let tickets = 0;
  wss.on('connection', (ws, req) => {
    upgrades.push(req.url ?? '');
    sockets.push(ws);
    ws.on('message', (data, isBinary) => {
      received.push(isBinary ? data : JSON.parse(data.toString()));
    });
    ws.on('close', (code) => closes.push({ code, at: Date.now() }));
    // Slack's first frame on every new connection.
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: wss.clients.size,
        debug_info: { host: 'applink-test-1', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A1' },
      }),
    );
  });
  return {
    /** A fresh URL, as apps.connections.open hands out (one ticket per call). */
    nextUrl: () => `ws://127.0.0.1:${port}/link/?ticket=test-${++tickets}&app_id=A1`,
    upgrades,
    received,
    closes,
    sockets,
    /** Send an envelope on the newest open connection; resolves with the app's ack for it. */
    async deliver(envelope: Omit<Envelope, 'envelope_id'> & { envelope_id?: string }, timeoutMs = 10_000): Promise<{ ack: Ack; ms: number }> {
      const open = sockets.filter((s) => s.readyState === s.OPEN);
      const ws = open[open.length - 1];
      if (!ws) throw new Error('no open Socket Mode connection');
      const id = envelope.envelope_id ?? randomUUID();
      const started = Date.now();
      ws.send(JSON.stringify({ ...envelope, envelope_id: id }));
      const until = started + timeoutMs;
      for (;;) {
        const ack = received.find((m): m is Ack => (m as Ack)?.envelope_id === id);
        if (ack) return { ack, ms: Date.now() - started };
        if (Date.now() > until) throw new Error(`no ack for envelope ${id} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

type SocketServer = Awaited<ReturnType<typeof startSocketModeServer>>;

/** A slash command envelope; the payload is the form Slack would post over HTTP, decoded. */
function slashEnvelope(text: string, responseUrl: string): Omit<Envelope, 'envelope_id'> {
  return {
    type: 'slash_commands',
    accepts_response_payload: true,
    payload: slashCommandFields(text, responseUrl),
  };
}

function eventEnvelope(event: Record<string, unknown>, eventId: string, retryAttempt = 0): Omit<Envelope, 'envelope_id'> {
  return {
    type: 'events_api',
    accepts_response_payload: false,
    retry_attempt: retryAttempt,
    retry_reason: retryAttempt > 0 ? 'timeout' : '',
    payload: {
      token: 'legacy',
      team_id: 'T1',
      api_app_id: 'A1',
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: 'T1', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: '4-test',
    },
  };
}

const homeOpened = { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1700000000.000100' };

/** The fake Web API hands out the Socket Mode URL, as Slack does, to the app-level token only. */
function answerConnectionsOpen(slack: FakeSlack, socket: SocketServer) {
  slack.respond.set('apps.connections.open', (call) =>
    call.headers.authorization === `Bearer ${APP_TOKEN}` ? { body: { ok: true, url: socket.nextUrl() } } : { body: { ok: false, error: 'invalid_auth' } },
  );
}

describe('Socket Mode', () => {
  const now = new Date();
  const clock = () => now;
  let slack: FakeSlack;
  let socket: SocketServer;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let http: Awaited<ReturnType<typeof startTestApp>>;
  let stopped = false;

  beforeAll(async () => {
    slack = await startFakeSlack();
    socket = await startSocketModeServer();
    answerConnectionsOpen(slack, socket);
    const env = { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl };
    // No signing secret: Socket Mode does not need one.
    app = await startTestApp({ env: { ...env, SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' }, bot: { now: clock } });
    // The same data through HTTP mode, to compare replies with.
    http = await startTestApp({ env, database: app.database, bot: { now: clock } });
    // Through the Socket Mode app's PORT: ingestion is still served there.
    await loadWorkedExample(app.url, now);
  });

  afterAll(async () => {
    if (!stopped) await app?.stop();
    await http?.stop();
    await app?.dropDatabase();
    await socket?.close();
    await slack?.close();
  });

  it('opens the connection with the app-level token, as Slack expects', () => {
    const opens = slack.callsTo('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0].headers.authorization).toBe(`Bearer ${APP_TOKEN}`);
    // The app token is never sent as a form field (Slack refuses that).
    expect(JSON.stringify(opens[0].body)).not.toContain('xapp-');
    expect(socket.upgrades).toEqual(['/link/?ticket=test-1&app_id=A1']);
    expect(app.config.slack.signingSecret).toBeUndefined();
    expect(app.logs.join('\n')).not.toContain(APP_TOKEN);
  });

  it('serves the ingestion API and /healthz on PORT', async () => {
    expect(app.url).not.toBe(http.url);
    const t = new Date(now.getTime() - 60_000).toISOString();
    const r = await post(`${app.url}/v1/batch`, {
      batch: [
        { type: 'group', userId: 'sm1', groupId: 'acct_socket', traits: { name: 'Socket Co' }, timestamp: t },
        { type: 'track', userId: 'sm1', event: 'Report Created', timestamp: t },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true });
    expect((await post(`${app.url}/v1/batch`, { batch: [] }, { authorization: 'Basic d3Jvbmc6' })).status).toBe(401);
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    // Slack's traffic comes over the socket; there is no HTTP endpoint for it.
    const from = app.logs.length;
    expect((await slashCommand(app.url, 'top', slack.responseUrl)).status).toBe(404);
    expect((await fetch(`${app.url}/favicon.ico`)).status).toBe(404);
    // Unknown URLs are routine on a public port: logged at debug, never as a warning.
    const lines = app.logs.slice(from).map((l) => JSON.parse(l) as { level: string; path?: string });
    expect(lines.filter((l) => l.path !== undefined).map((l) => `${l.level} ${l.path}`)).toEqual(['debug /slack/events', 'debug /favicon.ico']);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it.each(['top', 'top limit 2', 'quiet', 'show acme', 'show acct_globex', 'help'])(
    '"%s" is acknowledged on the socket with the same reply HTTP mode gives',
    async (text) => {
      const { ack, ms } = await socket.deliver(slashEnvelope(text, slack.responseUrl));
      expect(ms).toBeLessThan(3000);
      expect(Object.keys(ack).sort()).toEqual(['envelope_id', 'payload']);
      expect(ack.payload!.response_type).toBe('ephemeral');
      expect(ack.payload!.text.length).toBeGreaterThan(0);
      expect(ack.payload!.blocks.length).toBeGreaterThan(0);
      const overHttp = await slashCommand(http.url, text, slack.responseUrl);
      expect(overHttp.status).toBe(200);
      expect(ack.payload).toEqual(overHttp.json);
    },
  );

  it('the worked example: top lists Acme Inc, Northwind Ltd and Globex', async () => {
    const { ack } = await socket.deliver(slashEnvelope('top 30d', slack.responseUrl));
    for (const name of ['Acme Inc', 'Northwind Ltd', 'Globex']) {
      expect(ack.payload!.text).toContain(name);
      expect(JSON.stringify(ack.payload!.blocks)).toContain(name);
    }
  });

  it('a Details click (interactive envelope) is acknowledged and answered through response_url', async () => {
    const { ack: list } = await socket.deliver(slashEnvelope('top 30d', slack.responseUrl));
    const blocks = JSON.stringify(list.payload!.blocks);
    const button = blocks.match(/"action_id":"(groups:show:\d+)","value":"acct_globex"/) ?? blocks.match(/"value":"acct_globex"[^}]*"action_id":"(groups:show:\d+)"/);
    expect(button).not.toBeNull();
    const before = slack.callsTo('response_url').length;
    const { ack } = await socket.deliver({
      type: 'interactive',
      accepts_response_payload: false,
      payload: {
        type: 'block_actions',
        user: { id: 'U1', username: 'ada', name: 'ada', team_id: 'T1' },
        api_app_id: 'A1',
        token: 'legacy',
        container: { type: 'message', is_ephemeral: true },
        trigger_id: '1.2',
        team: { id: 'T1', domain: 'acme' },
        channel: { id: 'C1', name: 'general' },
        response_url: slack.responseUrl,
        message: { blocks: list.payload!.blocks, text: list.payload!.text },
        actions: [{ type: 'button', action_id: button![1], value: 'acct_globex', block_id: 'b', action_ts: '1' }],
      },
    });
    expect(ack).toEqual({ envelope_id: expect.any(String), payload: {} });
    const [detail] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(detail.body.replace_original).toBe(true);
    expect(String(detail.body.text)).toContain('Globex');
  });

  it('app_home_opened (events_api) is acknowledged and publishes the Groups page; a redelivery does not', async () => {
    const before = slack.callsTo('views.publish').length;
    const { ack } = await socket.deliver(eventEnvelope(homeOpened, 'EvSocket1'));
    expect(ack).toEqual({ envelope_id: expect.any(String), payload: {} });
    const [published] = (await slack.waitFor('views.publish', before + 1)).slice(before);
    expect(published.headers.authorization).toBe(`Bearer ${app.config.slack.botToken}`);
    expect(published.body.user_id).toBe('U1');
    const view = published.body.view as { type: string; blocks: unknown[] };
    expect(view.type).toBe('home');
    for (const name of ['Acme Inc', 'Northwind Ltd', 'Globex']) expect(JSON.stringify(view.blocks)).toContain(name);
    // Slack redelivers an envelope it saw no ack for in time: acknowledged again, handled once.
    const again = await socket.deliver(eventEnvelope(homeOpened, 'EvSocket1', 1));
    expect(again.ack).toEqual({ envelope_id: expect.any(String), payload: {} });
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.callsTo('views.publish')).toHaveLength(before + 1);
  });

  it('stops cleanly: finishes an ingestion request in flight, frees PORT, closes the socket normally', async () => {
    const url = app.url;
    // A request in flight: headers and half of the body sent, the rest after stop() is called.
    const body = JSON.stringify({ userId: 'sm-stop', event: 'Viewed Chart', messageId: 'sm-stop-1', context: { groupId: 'acct_socket' } });
    let bodySent = 0;
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: basic(WRITE_KEY) } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 20));
      setTimeout(() => {
        bodySent = Date.now();
        req.end(body.slice(20));
      }, 500);
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopping = app.stop().then(() => Date.now());
    stopped = true;
    // New connections are refused at once.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(await inFlight).toEqual({ status: 200, text: '{"success":true}' });
    // stop() resolves only once the request in flight is answered (npm start closes the database next),
    // and soon after: kept-alive connections do not hold it.
    const stoppedAt = await stopping;
    expect(bodySent).toBeGreaterThan(0);
    expect(stoppedAt).toBeGreaterThanOrEqual(bodySent);
    expect(stoppedAt - bodySent).toBeLessThan(2000);
    const until = Date.now() + 5000;
    while (socket.closes.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(socket.closes.map((c) => c.code)).toEqual([1000]);
    // No reconnect after a deliberate stop.
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
  });
});

describe('Socket Mode, a token Slack refuses', () => {
  it('stops start-up naming SLACK_APP_TOKEN and how to get one', async () => {
    const slack = await startFakeSlack();
    const socket = await startSocketModeServer();
    answerConnectionsOpen(slack, socket);
    const t = await testDatabase();
    try {
      const start = startTestApp({ env: { SLACK_API_URL: slack.apiUrl, SLACK_APP_TOKEN: 'xapp-1-A1-1234-notthetoken' }, database: t.database });
      await expect(start).rejects.toThrow(/Slack refused SLACK_APP_TOKEN \(invalid_auth\).*connections:write.*App-Level Tokens/);
      await expect(start).rejects.not.toThrow(/notthetoken/);
    } finally {
      await t.drop();
      await socket.close();
      await slack.close();
    }
  });
});

describe('Socket Mode, a slow reply', () => {
  it('acknowledges at once on the socket and answers through response_url', async () => {
    const slack = await startFakeSlack();
    const socket = await startSocketModeServer();
    answerConnectionsOpen(slack, socket);
    const app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl, SLACK_APP_TOKEN: APP_TOKEN }, bot: { ackBudgetMs: 0 } });
    try {
      await loadWorkedExample(app.url);
      const { ack, ms } = await socket.deliver(slashEnvelope('top', slack.responseUrl));
      expect(ms).toBeLessThan(3000);
      expect(ack.payload!.text).toMatch(/Working on it/);
      const [answer] = await slack.waitFor('response_url', 1);
      expect(answer.body.replace_original).toBe(true);
      expect(answer.body.response_type).toBe('ephemeral');
      expect(String(answer.body.text)).toContain('Acme Inc');
    } finally {
      await app.stop();
      await app.dropDatabase();
      await socket.close();
      await slack.close();
    }
  });
});
