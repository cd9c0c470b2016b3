/**
 * The composition root's wiring, shared by `npm start` and the tests: config and
 * database in, a running server with every listener out. It only wires.
 */
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Reply, ReplyContext } from './app/reply.js';
import { digestPreview as makeDigestPreview } from './app/weekly-digest.js';
import type { Logger } from './log.js';
import { startServer, type RunningServer, type ServerDeps } from './server.js';

type BotServerIdentity = ServerDeps['slackIdentity'];
import type { IngestBudget } from './ingest/http.js';
import { registerListeners, type SlackListenerOptions } from './slack/index.js';
import { registerHome } from './slack/home.js';
import { Charts } from './app/charts.js';
import { chartKey, ChartLinks } from './app/chart-links.js';
import { createWebApi } from './slack/webapi.js';
import { eventPageKey } from './app/event-page-token.js';

export interface BotOptions {
  config: Config;
  database: Database;
  log: Logger;
  /** A fixed clock for tests. */
  now?: () => Date;
  ackBudgetMs?: number;
  port?: number;
  /** `/groups digest`: this week's digest preview (default: built from config by replyContext). */
  digestPreview?: (now: Date) => Promise<Reply>;
  /** App Home (the Groups page); registered by default. */
  home?: SlackListenerOptions['home'];
  /** The start-up server to take over (npm start). */
  httpServer?: import('node:http').Server;
  /** A refused SLACK_BOT_TOKEN, for /healthz (npm start checks it with auth.test). */
  slackProblem?: () => string | undefined;
  /** The bot's ids from that auth.test, handed to Bolt's listeners (context.botUserId). */
  slackIdentity?: BotServerIdentity;
  /** The cap on ingestion bytes in flight (tests pass a small one). */
  ingestBudget?: IngestBudget;
}

/** The bot's charts: drawn and cached always; linked from replies only with PUBLIC_URL and a signing secret to sign with. */
export interface ChartWiring {
  charts: Charts;
  links: ChartLinks | undefined;
  key: Buffer | undefined;
}

export function chartWiring(config: Config, database: Database, log: Logger): ChartWiring {
  const charts = new Charts({ db: database.db, keyActions: config.keyActions }, config.digest.tz);
  const secret = config.slack.signingSecret;
  if (!config.publicUrl || !secret) return { charts, links: undefined, key: undefined };
  const key = chartKey(secret);
  return { charts, key, links: new ChartLinks(config.publicUrl, key, charts, log) };
}

export function replyContext(config: Config, database: Database, digestPreview?: ReplyContext['digestPreview'], chartLinks?: ChartLinks): ReplyContext {
  const owners = {
    db: database.db,
    // Without a bot token (the terminal) owner emails are shown as they are, not looked up.
    client: config.slack.botToken ? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken }) : null,
    ownerTrait: config.ownerTrait,
  };
  return {
    chartLinks,
    db: database.db,
    keyActions: config.keyActions,
    keyPath: config.groupKeyPath ? config.groupKeyPath.join('.') : null,
    digestPreview:
      digestPreview ??
      makeDigestPreview({ ctx: { db: database.db, keyActions: config.keyActions }, owners, channel: config.digest.channel, cron: config.digest.cron, tz: config.digest.tz }),
    owners,
    // The page buttons of `show NAME events` are signed with the app's secret (a key per process without one).
    pageKey: eventPageKey(config.slack.signingSecret ?? config.slack.appToken),
  };
}

export async function startBot(opts: BotOptions): Promise<RunningServer> {
  const charts = chartWiring(opts.config, opts.database, opts.log);
  const ctx = replyContext(opts.config, opts.database, opts.digestPreview, charts.links);
  return startServer(
    {
      config: opts.config,
      database: opts.database,
      log: opts.log,
      httpServer: opts.httpServer,
      slackProblem: opts.slackProblem,
      slackIdentity: opts.slackIdentity,
      ingestBudget: opts.ingestBudget,
      charts: charts.key ? { charts: charts.charts, key: charts.key, now: opts.now } : undefined,
      listeners: (app) => registerListeners(app, ctx, opts.log, { now: opts.now, ackBudgetMs: opts.ackBudgetMs, home: opts.home ?? ((boltApp) => registerHome(boltApp, ctx, opts.log, { now: opts.now })) }),
    },
    opts.port ?? opts.config.port,
  );
}
