/**
 * The composition root's wiring, shared by `npm start` and the tests: config and
 * database in, a running server with every listener out. It only wires.
 */
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Reply, ReplyContext } from './app/reply.js';
import { digestPreview as makeDigestPreview } from './app/weekly-digest.js';
import type { Logger } from './log.js';
import { startServer, type RunningServer } from './server.js';
import { registerListeners, type SlackListenerOptions } from './slack/index.js';
import { registerHome } from './slack/home.js';
import { createWebApi } from './slack/webapi.js';

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
}

export function replyContext(config: Config, database: Database, digestPreview?: ReplyContext['digestPreview']): ReplyContext {
  const owners = {
    db: database.db,
    // Without a bot token (the terminal) owner emails are shown as they are, not looked up.
    client: config.slack.botToken ? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken }) : null,
    ownerTrait: config.ownerTrait,
  };
  return {
    db: database.db,
    keyActions: config.keyActions,
    keyPath: config.groupKeyPath ? config.groupKeyPath.join('.') : null,
    digestPreview:
      digestPreview ??
      makeDigestPreview({ ctx: { db: database.db, keyActions: config.keyActions }, owners, channel: config.digest.channel, cron: config.digest.cron, tz: config.digest.tz }),
    owners,
  };
}

export async function startBot(opts: BotOptions): Promise<RunningServer> {
  const ctx = replyContext(opts.config, opts.database, opts.digestPreview);
  return startServer(
    {
      config: opts.config,
      database: opts.database,
      log: opts.log,
      httpServer: opts.httpServer,
      listeners: (app) => registerListeners(app, ctx, opts.log, { now: opts.now, ackBudgetMs: opts.ackBudgetMs, home: opts.home ?? ((boltApp) => registerHome(boltApp, ctx, opts.log, { now: opts.now })) }),
    },
    opts.port ?? opts.config.port,
  );
}
