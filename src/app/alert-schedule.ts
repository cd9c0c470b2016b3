/**
 * The direct alerts' schedule: a cron job (cron-job.ts) on ALERT_CRON in DIGEST_TZ
 * whose every firing runs `runAlerts`; across processes and restarts the claim rows
 * in PostgreSQL decide.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { createWebApi, type WebApi } from '../slack/webapi.js';
import { runAlerts, type AlertDeps, type AlertRunResult } from './direct-alerts.js';
import { startCronJob, type CronJob } from './cron-job.js';

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

export type AlertSchedule = CronJob<AlertRunResult>;

export function describeAlertSchedule(config: Config): string {
  return `alerts: checking falling companies for their owners and watchers on '${config.alerts.cron}' (${config.digest.tz})`;
}

export function startAlertSchedule(opts: AlertScheduleOptions): AlertSchedule {
  const { config, database, log } = opts;
  if (!opts.client && !config.slack.botToken) throw new Error('startAlertSchedule: SLACK_BOT_TOKEN is not set');
  const client = opts.client ?? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken! });
  return startCronJob({
    name: 'alerts',
    cron: config.alerts.cron,
    tz: config.digest.tz,
    log,
    failure: 'alerts: the run stopped with an error',
    onRun: opts.onRun,
    run: (signal) =>
      runAlerts({
        db: database.db,
        client,
        tz: config.digest.tz,
        keyActions: config.keyActions,
        ownerTrait: config.ownerTrait,
        log,
        now: opts.now?.(),
        retryDelaysMs: opts.retryDelaysMs,
        staleClaimMs: opts.staleClaimMs,
        signal,
        hooks: opts.hooks,
      }),
  });
}
