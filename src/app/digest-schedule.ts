/**
 * The digest's schedule: a cron job (cron-job.ts) on DIGEST_CRON in DIGEST_TZ whose
 * every firing runs `runDigest`; across processes and restarts the claim row in
 * PostgreSQL decides.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { createWebApi, type WebApi } from '../slack/webapi.js';
import { digestChartFor, runDigest, type DigestDeps, type DigestOutcome } from './weekly-digest.js';
import { Charts } from './charts.js';
import { chartKey, ChartLinks } from './chart-links.js';
import { defaultMetric } from './company-reads.js';
import { startCronJob, type CronJob } from './cron-job.js';

export interface DigestScheduleOptions {
  config: Config;
  database: Database;
  log: Logger;
  /** A Web API caller (default: ours, on SLACK_API_URL with SLACK_BOT_TOKEN). */
  client?: WebApi;
  /** Test seams passed to each run. */
  now?: () => Date;
  retryDelaysMs?: DigestDeps['retryDelaysMs'];
  staleClaimMs?: number;
  hooks?: DigestDeps['hooks'];
  /** The digest's chart (default: as config says, see digestChartFor); null for none. */
  chart?: DigestDeps['chart'] | null;
  /** Called after each firing with its outcome. */
  onRun?: (outcome: DigestOutcome | 'error') => void;
}

export type DigestSchedule = CronJob<DigestOutcome>;

export function describeSchedule(config: Config): string {
  return config.digest.channel
    ? `digest: posting to ${config.digest.channel} on '${config.digest.cron}' (${config.digest.tz})`
    : 'digest: DIGEST_CHANNEL is not set; no scheduled digest (/groups digest still previews it)';
}

export function startDigestSchedule(opts: DigestScheduleOptions): DigestSchedule {
  const { config, database, log } = opts;
  const channel = config.digest.channel;
  if (!channel) throw new Error('startDigestSchedule: DIGEST_CHANNEL is not set');
  if (!opts.client && !config.slack.botToken) throw new Error('startDigestSchedule: SLACK_BOT_TOKEN is not set');
  const client = opts.client ?? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken! });
  const chart = opts.chart === undefined ? defaultChart(opts) : opts.chart ?? undefined;
  return startCronJob({
    name: `digest:${channel}`,
    cron: config.digest.cron,
    tz: config.digest.tz,
    log,
    failure: `digest: the run for ${channel} stopped with an error`,
    failureFields: { channel },
    onRun: opts.onRun,
    run: (signal) =>
      runDigest({
        db: database.db,
        client,
        channel,
        tz: config.digest.tz,
        keyActions: config.keyActions,
        ownerTrait: config.ownerTrait,
        log,
        now: opts.now?.(),
        retryDelaysMs: opts.retryDelaysMs,
        staleClaimMs: opts.staleClaimMs,
        signal,
        hooks: opts.hooks,
        chart,
      }),
  });
}

function defaultChart(opts: DigestScheduleOptions): DigestDeps['chart'] {
  const { config, database, log } = opts;
  const ctx = { db: database.db, keyActions: config.keyActions };
  const links = config.publicUrl && config.slack.signingSecret ? new ChartLinks(config.publicUrl, chartKey(config.slack.signingSecret), new Charts(ctx, config.digest.tz), log) : undefined;
  return digestChartFor(config, links, defaultMetric(ctx));
}
