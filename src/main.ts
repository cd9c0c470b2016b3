/**
 * `npm start`: the composition root. Reads config, waits for the database
 * (with backoff, saying so), applies pending migrations, serves Slack and the
 * ingestion API on PORT, schedules the digest, and stops gracefully.
 */
import { ConfigError, loadConfig, missingSlackSettings, readDotEnv, type Config } from './config.js';
import { createLogger, errorText, redact, registerSecrets } from './log.js';
import { startBot } from './compose.js';
import { describeSchedule, startDigestSchedule, type DigestSchedule } from './app/digest-schedule.js';
import { describeAlertSchedule, startAlertSchedule, type AlertSchedule } from './app/alert-schedule.js';
import type { Database } from './db/client.js';
import { pruneMessages } from './db/queries/maintenance.js';
import { ensureSummaryFresh } from './db/queries/summary.js';
import { uncountedKeyActions, uncountedKeyActionsWarning } from './db/queries/events.js';
import { startStartingServer, type RunningServer } from './server.js';
import { pruneSeenEvents } from './slack/dedupe.js';
import { checkSlackToken } from './slack/token-check.js';
import { createWebApi } from './slack/webapi.js';
import { databaseLabel, databasePasswords, waitForDatabase } from './startup.js';

function configOrExit(): Config {
  readDotEnv();
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const log = createLogger({ level: config.logLevel });
  registerSecrets([config.slack.botToken, config.slack.appToken, config.slack.signingSecret, ...config.writeKeys, ...databasePasswords(config)]);

  const missing = missingSlackSettings(config);
  if (missing.length > 0) {
    process.stderr.write(
      `Cannot start the Slack bot: missing ${missing.join(' and ')}.\n` +
        missing.map((m) => `  - ${m}: ${m === 'SLACK_BOT_TOKEN' ? 'the Bot User OAuth Token (xoxb-…), from OAuth & Permissions' : "the Signing Secret, from Basic Information › App Credentials (or set SLACK_APP_TOKEN for Socket Mode)"}\n`).join('') +
        'Set them in the environment or in .env (see README: "Create the Slack app").\n' +
        'To see the product without Slack: npm run demo\n',
    );
    process.exit(1);
  }
  if (config.publicUrl && !config.slack.signingSecret) {
    log.warn('PUBLIC_URL is set but SLACK_SIGNING_SECRET is not: chart URLs are signed with a key derived from it, so replies keep their text sparklines and the digest uploads its chart. Set SLACK_SIGNING_SECRET (Basic Information › App Credentials) to serve charts');
  }
  if (config.writeKeys.length === 0) {
    log.warn('INGEST_WRITE_KEYS is not set: the ingestion API answers 401 to every request until it is');
  }

  // The bot token, checked with auth.test while the database is awaited; never blocks start-up.
  const slackToken = checkSlackToken({ webApi: createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken!, timeoutMs: 10_000 }), log });

  // The port answers at once: /healthz 503 and every request 503 (clients retry) until the database does.
  let waitingFor = `waiting for ${databaseLabel(config)}`;
  const starting = await startStartingServer(config.port, () => waitingFor, {
    signingSecret: config.slack.appToken ? undefined : config.slack.signingSecret,
    slackProblem: slackToken.problem,
  });
  log.info(`listening on port ${starting.port}; answering 503 until the database is ready`);
  let server: RunningServer | null = null;
  let database: Database | null = null;
  let digest: DigestSchedule | null = null;
  let alerts: AlertSchedule | null = null;
  let prune: NodeJS.Timeout | null = null;
  let summaryKeeper: NodeJS.Timeout | null = null;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing requests in flight, then stopping`);
    const force = setTimeout(() => {
      log.error('did not stop within 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    slackToken.stop();
    if (prune) clearInterval(prune);
    if (summaryKeeper) clearInterval(summaryKeeper);
    if (!server) await starting.close().catch(() => {});
    // Stop taking requests and finish those in flight, and let a digest run in progress finish, together.
    await Promise.all([
      server?.stop().catch((error) => log.warn('server stop', { error })),
      digest?.stop().catch((error) => log.warn('digest schedule stop', { error })),
      alerts?.stop().catch((error) => log.warn('alert schedule stop', { error })),
    ]);
    await database?.close().catch((error) => log.warn('database close', { error }));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  database = await waitForDatabase(config, log);
  if (stopping) return;
  waitingFor = 'the database is ready; starting the server';
  server = await startBot({ config, database, log, httpServer: starting.server, slackProblem: slackToken.problem, slackIdentity: slackToken.identity });
  if (stopping) {
    // A signal came while the server was starting (Socket Mode connects first): stop() saw no server.
    await server.stop().catch(() => {});
    return;
  }
  log.info(`ready on port ${server.port}`, {
    slack: config.slack.appToken ? 'Socket Mode' : 'HTTP at /slack/events',
    ingestion: config.writeKeys.length > 0 ? '/v1/{track,identify,group,page,screen,batch}' : 'off (401)',
    database: database.kind,
  });
  log.info(describeSchedule(config));
  if (config.digest.channel) digest = startDigestSchedule({ config, database, log });
  log.info(describeAlertSchedule(config));
  alerts = startAlertSchedule({ config, database, log });

  const db = database.db;
  // KEY_ACTIONS applies to events as they arrive: say so when the history holds events of its
  // names that were stored before it named them (in the background; a read of two weeks).
  uncountedKeyActions(db, config.keyActions, new Date())
    .then((found) => {
      const warning = uncountedKeyActionsWarning(found);
      if (warning) log.warn(warning);
    })
    .catch((error) => log.warn('could not compare KEY_ACTIONS with the history', { error }));
  prune = setInterval(() => {
    pruneMessages(db, new Date()).catch((error) => log.warn('could not prune old message ids', { error }));
    pruneSeenEvents(db, new Date()).catch((error) => log.warn('could not prune old Slack event ids', { error }));
  }, 3_600_000);
  prune.unref();

  // Roll the company summary over to the new UTC day in the background (at start, then
  // checked every minute), so the first reply of a day never waits for the rebuild.
  const keepSummary = () =>
    ensureSummaryFresh(db, new Date())
      .then((rebuilt) => rebuilt && log.info('company summary rolled over to the new day'))
      .catch((error) => log.warn('could not roll the company summary over; replies will do it', { error }));
  void keepSummary();
  summaryKeeper = setInterval(keepSummary, 60_000);
  summaryKeeper.unref();
}

main().catch((error) => {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const hint =
    code === 'EADDRINUSE'
      ? ' (another process is listening on that port: stop it, or set PORT to a free port)'
      : code === 'EACCES'
        ? ' (this user may not listen on that port: set PORT to 1024 or above)'
        : '';
  process.stderr.write(`leadmaps-groups could not start: ${redact(errorText(error))}${hint}\n`);
  process.exit(1);
});
