/**
 * The direct alerts' schedule: node-cron fires on ALERT_CRON in DIGEST_TZ and each
 * firing runs `runAlerts`. As for the digest (src/app/digest-schedule.ts), `noOverlap`
 * keeps one run at a time in this process; across processes and restarts the claim
 * rows in PostgreSQL decide.
 */
import cron from 'node-cron';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { createWebApi, type WebApi } from '../slack/webapi.js';
import { runAlerts, type AlertDeps, type AlertRunResult } from './direct-alerts.js';

export interface AlertScheduleOptions {
  config: Config;
  database: Database;
  log: Logger;
  client?: WebApi;
  now?: () => Date;
  retryDelaysMs?: AlertDeps['retryDelaysMs'];
  staleClaimMs?: number;
  hooks?: AlertDeps['hooks'];
  onRun?: (outcome: AlertRunResult | 'error') => void;
}

export interface AlertSchedule {
  runNow(): Promise<AlertRunResult | 'error'>;
  stop(): Promise<void>;
}

export function describeAlertSchedule(config: Config): string {
  return `alerts: checking falling companies for their owners and watchers on '${config.alerts.cron}' (${config.digest.tz})`;
}

export function startAlertSchedule(opts: AlertScheduleOptions): AlertSchedule {
  const { config, database, log } = opts;
  if (!opts.client && !config.slack.botToken) throw new Error('startAlertSchedule: SLACK_BOT_TOKEN is not set');
  const client = opts.client ?? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken! });
  const stopping = new AbortController();
  let inFlight: Promise<AlertRunResult | 'error'> | null = null;

  const fire = (): Promise<AlertRunResult | 'error'> => {
    if (inFlight) return inFlight;
    const run = runAlerts({
      db: database.db,
      client,
      tz: config.digest.tz,
      keyActions: config.keyActions,
      ownerTrait: config.ownerTrait,
      log,
      now: opts.now?.(),
      retryDelaysMs: opts.retryDelaysMs,
      staleClaimMs: opts.staleClaimMs,
      signal: stopping.signal,
      hooks: opts.hooks,
    }).catch((error: unknown) => {
      log.error('alerts: the run stopped with an error', { error });
      return 'error' as const;
    });
    inFlight = run.finally(() => {
      inFlight = null;
    });
    void inFlight.then((outcome) => opts.onRun?.(outcome));
    return inFlight;
  };

  const task = cron.schedule(config.alerts.cron, () => (stopping.signal.aborted ? undefined : fire()), {
    name: 'alerts',
    timezone: config.digest.tz,
    noOverlap: true,
    logger: {
      info: (m) => log.debug(`node-cron: ${m}`),
      warn: (m) => log.warn(`node-cron: ${m}`),
      error: (m, e) => log.error(`node-cron: ${m instanceof Error ? m.message : m}`, e ? { error: e } : undefined),
      debug: () => {},
    },
  });

  return {
    runNow: fire,
    async stop() {
      stopping.abort();
      await task.stop();
      if (inFlight) await inFlight;
      await task.destroy();
    },
  };
}
