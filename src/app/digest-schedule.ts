/**
 * The digest's schedule: node-cron fires on DIGEST_CRON in DIGEST_TZ and each
 * firing runs `runDigest`. `noOverlap` keeps one run at a time in this process;
 * across processes and restarts the claim row in PostgreSQL decides (node-cron's
 * `distributed` mode is not used: it keeps no state across crashes).
 */
import cron from 'node-cron';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { createWebApi, type WebApi } from '../slack/webapi.js';
import { digestChartFor, runDigest, type DigestDeps, type DigestOutcome } from './weekly-digest.js';
import { Charts } from './charts.js';
import { chartKey, ChartLinks } from './chart-links.js';
import { defaultMetric } from './company-reads.js';

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

export interface DigestSchedule {
  /** Run once now, as a firing would (not overlapping a firing in progress). */
  runNow(): Promise<DigestOutcome | 'error'>;
  /** Stop firing; a run in progress gives up its waits and finishes before this resolves. */
  stop(): Promise<void>;
}

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
  const stopping = new AbortController();
  let inFlight: Promise<DigestOutcome | 'error'> | null = null;

  const fire = (): Promise<DigestOutcome | 'error'> => {
    if (inFlight) return inFlight;
    const run = runDigest({
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
      signal: stopping.signal,
      hooks: opts.hooks,
      chart,
    }).catch((error: unknown) => {
      log.error(`digest: the run for ${channel} stopped with an error`, { channel, error });
      return 'error' as const;
    });
    inFlight = run.finally(() => {
      inFlight = null;
    });
    void inFlight.then((outcome) => opts.onRun?.(outcome));
    return inFlight;
  };

  const task = cron.schedule(config.digest.cron, () => (stopping.signal.aborted ? undefined : fire()), {
    name: `digest:${channel}`,
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

function defaultChart(opts: DigestScheduleOptions): DigestDeps['chart'] {
  const { config, database, log } = opts;
  const ctx = { db: database.db, keyActions: config.keyActions };
  const links = config.publicUrl && config.slack.signingSecret ? new ChartLinks(config.publicUrl, chartKey(config.slack.signingSecret), new Charts(ctx, config.digest.tz), log) : undefined;
  return digestChartFor(config, links, defaultMetric(ctx));
}
