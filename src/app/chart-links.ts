/**
 * Signed, expiring chart URLs: the bot serves a chart only to a URL it made.
 *
 *   ${PUBLIC_URL}/charts/chart.png?company=KEY&metric=M&range=26w&expires=UNIX&sig=HEX
 *   ${PUBLIC_URL}/charts/chart.png?digest=2026-W49&metric=M&range=26w&expires=UNIX&sig=HEX
 *
 * sig = HMAC-SHA256 over (kind, subject, metric, range, expires), keyed with
 * HMAC-SHA256(SLACK_SIGNING_SECRET, 'leadmaps-chart-url'): a key of its own, so a
 * chart signature can never stand for a Slack request signature or the reverse.
 * Checked in constant time; a tampered, expired or malformed URL gets 404.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Metric } from '../domain/types.js';
import { METRICS } from '../domain/types.js';

export const CHART_PATH = '/charts/chart.png';
/** What the chart key is derived with: changing it invalidates every chart URL. */
const KEY_LABEL = 'leadmaps-chart-url';
/** A company chart URL lives until the end of the 7th UTC day after it was made (one URL per day, so Slack's image cache holds). */
export const COMPANY_URL_DAYS = 7;
/** A digest chart URL is served while its week lasts (Slack keeps the copy it fetched); 8 days covers any week. */
export const DIGEST_URL_DAYS = 8;

export type ChartSubject = { kind: 'company'; key: string } | { kind: 'digest'; week: string };

export interface ChartRequest {
  subject: ChartSubject;
  metric: Metric;
  range: string;
  expires: number;
}

export function chartKey(signingSecret: string): Buffer {
  return createHmac('sha256', signingSecret).update(KEY_LABEL).digest();
}

function signature(key: Buffer, r: ChartRequest): Buffer {
  const id = r.subject.kind === 'company' ? r.subject.key : r.subject.week;
  // JSON of an array: no two different requests give the same message.
  return createHmac('sha256', key).update(JSON.stringify([r.subject.kind, id, r.metric, r.range, r.expires])).digest();
}

/** Seconds since the epoch at the end of the UTC day `days` after `now`'s. */
export function expiryAfter(now: Date, days: number): number {
  const DAY = 86_400;
  return (Math.floor(now.getTime() / 1000 / DAY) + days + 1) * DAY;
}

export function chartUrl(publicUrl: string, key: Buffer, r: ChartRequest): string {
  const q = new URLSearchParams();
  if (r.subject.kind === 'company') q.set('company', r.subject.key);
  else q.set('digest', r.subject.week);
  q.set('metric', r.metric);
  q.set('range', r.range);
  q.set('expires', String(r.expires));
  q.set('sig', signature(key, r).toString('hex'));
  return `${publicUrl.replace(/\/+$/, '')}${CHART_PATH}?${q.toString()}`;
}

/** The request a URL's query stands for, when it is ours, untampered and not expired; else null. */
export function verifyChartQuery(key: Buffer, query: URLSearchParams, now: Date): ChartRequest | null {
  const company = query.get('company');
  const digest = query.get('digest');
  const metric = query.get('metric');
  const range = query.get('range');
  const expiresText = query.get('expires');
  const sig = query.get('sig');
  if ((company === null) === (digest === null) || metric === null || range === null || expiresText === null || sig === null) return null;
  if (!(METRICS as readonly string[]).includes(metric) || !/^\d{1,12}$/.test(expiresText) || !/^[0-9a-f]{64}$/.test(sig)) return null;
  const r: ChartRequest = {
    subject: company !== null ? { kind: 'company', key: company } : { kind: 'digest', week: digest as string },
    metric: metric as Metric,
    range,
    expires: Number(expiresText),
  };
  const expected = signature(key, r);
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return null;
  if (r.expires * 1000 <= now.getTime()) return null;
  return r;
}

/** What `show`, App Home and the digest put in an image block. */
export interface ChartImage {
  url: string;
  alt: string;
}

export interface ChartSource {
  company(key: string, metric: Metric, now: Date): Promise<{ alt: string } | null>;
  digest(now: Date, metric?: Metric): Promise<{ alt: string } | null>;
}

/**
 * Signed links to the charts the bot serves (only with PUBLIC_URL). Making a link
 * draws the chart, so its alt text states the numbers and Slack's fetch right after
 * finds it in the cache; a chart that cannot be drawn gives no link (the reply keeps
 * its text sparkline) and a warning in the log.
 */
export class ChartLinks {
  constructor(
    readonly publicUrl: string,
    readonly key: Buffer,
    private readonly charts: ChartSource,
    private readonly log: { warn(msg: string, fields?: Record<string, unknown>): void },
  ) {}

  async company(key: string, metric: Metric, range: string, now: Date): Promise<ChartImage | null> {
    try {
      const chart = await this.charts.company(key, metric, now);
      if (!chart) return null;
      return { url: chartUrl(this.publicUrl, this.key, { subject: { kind: 'company', key }, metric, range, expires: expiryAfter(now, COMPANY_URL_DAYS) }), alt: chart.alt };
    } catch (error) {
      this.log.warn('could not draw a company chart; the reply keeps its sparkline', { error });
      return null;
    }
  }

  async digest(week: string, metric: Metric, range: string, now: Date): Promise<ChartImage | null> {
    try {
      const chart = await this.charts.digest(now, metric);
      if (!chart) return null;
      return { url: chartUrl(this.publicUrl, this.key, { subject: { kind: 'digest', week }, metric, range, expires: expiryAfter(now, DIGEST_URL_DAYS) }), alt: chart.alt };
    } catch (error) {
      this.log.warn('could not draw the digest chart; the digest goes without it', { error });
      return null;
    }
  }
}
