/**
 * The one HTTP server: Slack's requests at /slack/events (Bolt's HTTPReceiver),
 * the Segment Tracking API and /healthz as Bolt customRoutes. With
 * SLACK_APP_TOKEN, Slack's traffic goes over Socket Mode instead while the
 * routes stay on the same server on PORT.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ErrorCode, HTTPReceiver, SocketModeReceiver, type CustomRoute } from '@slack/bolt';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { createIngestHandler, INGEST_PATHS, IngestBudget } from './ingest/http.js';
import { CHART_PATH } from './app/chart-links.js';
import type { Charts } from './app/charts.js';
import { createChartHandler } from './charts-http.js';
import { boltLogger, type Logger } from './log.js';
import type { SlackIdentity } from './slack/token-check.js';
import { SlackFormReceiver } from './slack/http-receiver.js';

type BoltApp = App;

/** Slack's replay window: a signature older, or further in the future, than this is refused. */
export const SLACK_SIGNATURE_WINDOW_S = 5 * 60;

export interface ServerDeps {
  config: Config;
  database: Database;
  log: Logger;
  /** Registers the Slack listeners (commands, actions, events) on the app. */
  listeners?: (app: BoltApp) => void;
  /** An HTTP server already listening (the start-up server): taken over instead of listening anew. */
  httpServer?: Server;
  /** What is wrong with Slack (a refused SLACK_BOT_TOKEN), for /healthz; undefined when nothing is known to be. */
  slackProblem?: () => string | undefined;
  /** The bot's ids, once auth.test at start-up gave them (src/slack/token-check.ts). */
  slackIdentity?: () => SlackIdentity | undefined;
  /** The cap on ingestion bytes in flight (default: INGEST_IN_FLIGHT_BYTES); tests pass a small one to watch it. */
  ingestBudget?: IngestBudget;
  /** With PUBLIC_URL: the charts served at CHART_PATH, and the key their URLs are signed with. */
  charts?: { charts: Charts; key: Buffer; now?: () => Date };
}

export interface RunningServer {
  app: BoltApp;
  port: number;
  /** Stop taking requests, finish the ones in flight. */
  stop(): Promise<void>;
}

export function routes(deps: ServerDeps): CustomRoute[] {
  const { config, database, log } = deps;
  const ingestDeps = {
    db: database.db,
    writeKeys: config.writeKeys,
    keyActions: config.keyActions,
    groupKeyPath: config.groupKeyPath,
    log,
    budget: deps.ingestBudget ?? new IngestBudget(),
  };
  const ingestRoutes: CustomRoute[] = INGEST_PATHS.map((endpoint) => ({
    path: `/v1/${endpoint}`,
    method: ['POST'],
    handler: createIngestHandler(endpoint, ingestDeps),
  }));
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: async (_req, res) => {
        const ok = await database.ping();
        // The status is the database's; a refused bot token is said beside it (a slash command still answers).
        const slack = deps.slackProblem?.();
        const body = JSON.stringify({ ...(ok ? { ok: true } : { ok: false, error: 'the database is not answering' }), ...(slack ? { slack } : {}) });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(body);
      },
    },
    ...ingestRoutes,
    ...(deps.charts ? [{ path: CHART_PATH, method: ['GET'], handler: createChartHandler({ ...deps.charts, log }) }] : []),
  ];
}

export function createSlackApp(deps: ServerDeps, customRoutes: CustomRoute[]): BoltApp {
  const { config, log } = deps;
  const logger = boltLogger(log);
  const botToken = config.slack.botToken;
  const common = {
    // Not `token`: with it, Bolt calls auth.test before every request it handles (tokenVerificationEnabled
    // false) or once at start-up, and when Slack refuses the token (or is out of reach) it calls no listener
    // at all, so even /groups replies that need no Web API call went unanswered. npm start checks the token
    // once (src/slack/token-check.ts) and says what is wrong; here the token is handed over as it is.
    authorize: async () => ({ botToken, ...(deps.slackIdentity?.() ?? {}) }),
    logger,
    ignoreSelf: false,
    clientOptions: {
      slackApiUrl: config.slack.apiUrl,
      // Bolt's client retries 429/5xx on its own for replies; the digest posts with its own client and policy.
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    },
  };
  const receiver = config.slack.appToken
    ? new SocketModeReceiver({
        appToken: config.slack.appToken,
        logger,
        // No customRoutes: the routes stay on our own server (startServer), so Bolt opens none.
        // apps.connections.open goes to SLACK_API_URL like every other Web API call.
        installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl } },
      })
    : new SlackFormReceiver({
        signingSecret: config.slack.signingSecret ?? '',
        logger,
        endpoints: '/slack/events',
        customRoutes,
        processBeforeResponse: false,
        unhandledRequestTimeoutMillis: 2900,
      });
  const app = new App({ ...common, receiver });
  deps.listeners?.(app);
  app.error(async (error) => {
    log.error('a Slack listener failed', { error });
  });
  return app;
}

/**
 * Socket Mode could not connect: when Slack refused the app-level token (apps.connections.open
 * answers invalid_auth, not_authed, not_allowed_token_type …), name SLACK_APP_TOKEN and the
 * fix; anything else as it came.
 */
function socketModeStartError(error: unknown): unknown {
  const code = (error as { data?: { error?: unknown } } | null)?.data?.error;
  if (typeof code !== 'string' || !/auth|token|revoked|not_allowed|invalid/.test(code)) return error;
  return new Error(
    `Slack refused SLACK_APP_TOKEN (${code}): generate an app-level token with the connections:write scope under Basic Information › App-Level Tokens (xapp-…), set SLACK_APP_TOKEN to it, and restart; or unset SLACK_APP_TOKEN to use HTTP`,
  );
}

/** The routes alone, for Socket Mode (no /slack/events): an unknown path or method gets 404, as in HTTP mode. */
function routesListener(customRoutes: CustomRoute[], log: Logger) {
  const table = new Map(customRoutes.flatMap((r) => [r.method].flat().map((m) => [`${m.toUpperCase()} ${r.path}`, r.handler] as const)));
  return (req: IncomingMessage, res: ServerResponse) => {
    const handler = table.get(`${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`);
    if (!handler) {
      logUnknownUrl(log, req);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    Promise.resolve(handler(req as Parameters<typeof handler>[0], res)).catch((error: unknown) => {
      log.error('request failed', { error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}');
    });
  };
}

/** Bolt's answer to a path it has no route for, or to a request target that is not a URL. */
function isUnknownUrl(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === ErrorCode.HTTPReceiverDeferredRequestError || code === 'ERR_INVALID_URL';
}

/**
 * A browser's /favicon.ico or a scanner's probe is routine on a public port: at debug,
 * so it never buries what matters at warn. The path only (no query string), cut short.
 */
function logUnknownUrl(log: Logger, req: IncomingMessage): void {
  log.debug('no such route; answered 404', { method: String(req.method ?? '').slice(0, 16), path: (req.url ?? '').split('?')[0].slice(0, 200) });
}

/**
 * Start serving on one server of ours (the start-up server taken over, or a new one), in
 * both modes: so the replay window is checked both ways, and a stop refuses new requests
 * and finishes the ones in flight. In Socket Mode the server has the routes only, and
 * Slack's traffic comes over the WebSocket Bolt opens.
 */
export async function startServer(deps: ServerDeps, port = deps.config.port): Promise<RunningServer> {
  const customRoutes = routes(deps);
  const app = createSlackApp(deps, customRoutes);
  const socketMode = Boolean(deps.config.slack.appToken);
  let serve: (req: IncomingMessage, res: ServerResponse) => void;
  if (socketMode) {
    serve = routesListener(customRoutes, deps.log);
  } else {
    const receiver = (app as unknown as { receiver: HTTPReceiver }).receiver;
    serve = (req, res) => {
      if (!slackTimestampFresh(req)) {
        deps.log.warn('refused a Slack request signed outside the 5-minute window');
        req.resume();
        res.writeHead(401).end();
        return;
      }
      try {
        receiver.requestListener(req, res);
      } catch (error) {
        // An unknown path (or one Bolt cannot parse as a URL): Bolt throws; answer 404 like any server would.
        if (!res.headersSent) {
          req.resume();
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        }
        if (isUnknownUrl(error)) logUnknownUrl(deps.log, req);
        else deps.log.warn('request failed', { error });
      }
    };
  }
  let stopping = false;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (stopping) {
      // A new request on a kept-alive connection after SIGTERM: refused so the client retries elsewhere.
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' }).end('{"ok":false,"error":"stopping; retry later"}');
      return;
    }
    serve(req, res);
  };
  let server: Server;
  if (deps.httpServer) {
    server = deps.httpServer;
    server.removeAllListeners('request');
    server.on('request', listener);
  } else {
    server = createServer(listener);
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve());
    });
  }
  // Read before connecting to Slack: a stop while Socket Mode connects may close the server.
  const actual = (server.address() as AddressInfo).port;
  if (socketMode) {
    try {
      await app.start();
    } catch (error) {
      await closeServer(server);
      throw socketModeStartError(error);
    }
  }
  return {
    app,
    port: actual,
    stop: async () => {
      stopping = true;
      try {
        // Socket Mode: disconnect first, so no new Slack work comes in (Bolt does not wait for
        // the WebSocket to close, nor for listeners still running).
        if (socketMode) await app.stop();
      } finally {
        await closeServer(server);
      }
    },
  };
}

/**
 * Stop listening; resolves once the requests in flight are answered. A kept-alive
 * connection is closed as soon as its request is answered (not after the 65 s idle timeout).
 */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export interface StartingServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * The port, before the database answers: /healthz is 503 saying what start-up
 * waits for, ingestion and Slack get 503 (Segment's SDKs and Slack retry), so
 * nothing is refused for good and a load balancer sees the process at once.
 * startServer takes this server over when the database is ready.
 */
export async function startStartingServer(
  port: number,
  waitingFor: () => string,
  opts: { signingSecret?: string; slackProblem?: () => string | undefined } = {},
): Promise<StartingServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'retry-after': '5' }).end(text);
    };
    if (path.startsWith('/slack/') && opts.signingSecret) {
      // Signed by Slack: 503, so Slack retries; anything else is refused as it will be once started.
      void readSmallBody(req, SLACK_BODY_LIMIT).then((body) => {
        if (body !== null && slackSignatureValid(opts.signingSecret!, req.headers, body)) json(503, { ok: false, error: 'starting; retry later' });
        else res.writeHead(401).end();
      });
      return;
    }
    req.resume();
    const slack = opts.slackProblem?.();
    if (path === '/healthz') return json(503, { ok: false, error: `starting: ${waitingFor()}`, ...(slack ? { slack } : {}) });
    if (path.startsWith('/v1/')) return json(503, { success: false, error: 'starting: the database is not ready yet; retry later' });
    json(404, { error: 'not found' });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

/** Slack's requests are small (a slash command, an interaction, an event); more is not Slack. */
const SLACK_BODY_LIMIT = 1024 * 1024;

/** The body, or null when it is over `limit` bytes or the request fails. */
function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : null));
    req.on('error', () => resolve(null));
  });
}

/** Slack's v0 request signature (HMAC-SHA256 of `v0:timestamp:body`), within the replay window. */
export function slackSignatureValid(secret: string, headers: IncomingMessage['headers'], body: Buffer): boolean {
  const ts = Number(headers['x-slack-request-timestamp']);
  const sig = headers['x-slack-signature'];
  if (!withinSignatureWindow(ts) || typeof sig !== 'string') return false;
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`);
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Bolt refuses stale timestamps only; a far-future one is refused here too. */
function slackTimestampFresh(req: IncomingMessage & { url?: string }): boolean {
  if (!req.url?.startsWith('/slack/')) return true;
  const header = req.headers['x-slack-request-timestamp'];
  if (header === undefined) return true; // Bolt refuses it, with the same 401.
  return withinSignatureWindow(Number(header));
}

/** A Slack request timestamp (seconds) no further from now, either way, than the replay window. */
function withinSignatureWindow(ts: number): boolean {
  return Number.isFinite(ts) && Math.abs(Math.floor(Date.now() / 1000) - ts) <= SLACK_SIGNATURE_WINDOW_S;
}

export type { BoltApp, ServerResponse };
