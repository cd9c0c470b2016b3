/**
 * Activity charts, from the rollups to PNG bytes: the data a chart draws (a
 * company's, or the digest's falling companies'), and a bounded in-memory cache
 * per company (or digest week), metric, range and UTC day, so a chart Slack fetches
 * again, or that several people open, is drawn once a day.
 */
import { DEFAULT_RANGE } from '../domain/command.js';
import { dayString, utcDay, windowsFor } from '../domain/period.js';
import { baselineDays } from '../domain/trend.js';
import type { CompanyRow, Metric } from '../domain/types.js';
import { zonedWeek } from '../domain/week.js';
import { companyRecord } from '../db/queries/companies.js';
import { weeklyActivity } from '../db/queries/charts.js';
import { renderChart, type Png } from '../render/chart-png.js';
import {
  CHART_WEEKS,
  companyChartAlt,
  companyChartSpec,
  DIGEST_PANELS,
  digestChartAlt,
  digestChartSpec,
  type CompanyChartInput,
  type DigestChartInput,
} from '../render/chart-spec.js';
import { companyName } from '../render/blocks.js';
import { companyRows, companyRowsOf, defaultMetric, quietRows, type GroupsContext } from './company-reads.js';

/** The range every chart shows, as it appears in a chart's URL. */
export const CHART_RANGE = `${CHART_WEEKS}w`;
/** Charts kept in memory at most (about 50-150 KB each). */
export const CHART_CACHE_ENTRIES = 200;

export interface Chart {
  png: Png;
  /** The numbers the chart shows, in words (Slack's alt_text, the terminal). */
  alt: string;
}

/** The chart's data for one company row (its trend windows) and its weeks, trimmed to the company's age. */
export function chartInputFor(row: CompanyRow, weeks: { start: string; value: number; people: number }[], firstSeen: Date | null, now: Date, metric: Metric): CompanyChartInput {
  // A young company: from the week it was first seen (at least one week).
  const firstDay = firstSeen ? dayString(utcDay(firstSeen)) : null;
  const firstWeek = firstDay ? weeks.findIndex((w) => dayString(utcDay(new Date(`${w.start}T00:00:00Z`), 6)) >= firstDay) : 0;
  const kept = weeks.slice(Math.min(Math.max(0, firstWeek), weeks.length - 1));
  const w = windowsFor(now, 1);
  const baselinePerWeek = row.trend === 'new' ? null : (row.windows.baseline * 7) / baselineDays(row.windows);
  return {
    name: companyName(row),
    metric,
    weeks: kept,
    baselinePerWeek,
    recent: { start: w.recentStart, end: w.recentEnd },
    trend: row.trend,
    change: row.change,
  };
}

/** One company's chart data; null when there is no such company. */
export async function companyChartInput(ctx: GroupsContext, key: string, now: Date, metric: Metric): Promise<CompanyChartInput | null> {
  const record = await companyRecord(ctx.db, key);
  if (!record) return null;
  const [[row], weeks] = await Promise.all([
    companyRowsOf(ctx, [key], { now, range: DEFAULT_RANGE, metric }),
    weeklyActivity(ctx.db, key, now, metric, CHART_WEEKS),
  ]);
  if (!row) return null;
  return chartInputFor(row, weeks, record.firstSeen, now, metric);
}

/** The digest chart's data: the first DIGEST_PANELS falling companies, biggest drop first; null when none falls. */
export async function digestChartInput(ctx: GroupsContext, falling: CompanyRow[], weekLabel: string, now: Date, metric: Metric): Promise<DigestChartInput | null> {
  const first = falling.slice(0, DIGEST_PANELS);
  if (first.length === 0) return null;
  const companies = await Promise.all(
    first.map(async (row) => {
      const [record, weeks] = await Promise.all([companyRecord(ctx.db, row.key), weeklyActivity(ctx.db, row.key, now, metric, CHART_WEEKS)]);
      return chartInputFor(row, weeks, record?.firstSeen ?? null, now, metric);
    }),
  );
  return { weekLabel, companies };
}

export async function renderCompanyChart(input: CompanyChartInput): Promise<Chart> {
  return { png: await renderChart(companyChartSpec(input)), alt: companyChartAlt(input) };
}

export async function renderDigestChart(input: DigestChartInput): Promise<Chart> {
  return { png: await renderChart(digestChartSpec(input)), alt: digestChartAlt(input) };
}

/** A bounded map of charts in the making or made; least recently used out first; a failure is not kept. */
export class ChartCache {
  private readonly entries = new Map<string, Promise<Chart | null>>();
  constructor(private readonly max = CHART_CACHE_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, make: () => Promise<Chart | null>): Promise<Chart | null> {
    const found = this.entries.get(key);
    if (found) {
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    const made = make();
    this.entries.set(key, made);
    made.then(
      (chart) => {
        if (chart === null) this.entries.delete(key); // nothing to draw today may change within the day
      },
      () => this.entries.delete(key),
    );
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    return made;
  }
}

/** Charts for the app: the company's or the digest's, drawn at most once per UTC day each. */
export class Charts {
  readonly cache: ChartCache;
  constructor(
    private readonly ctx: GroupsContext,
    private readonly tz: string,
    opts: { cacheEntries?: number } = {},
  ) {
    this.cache = new ChartCache(opts.cacheEntries);
  }

  metric(): Metric {
    return defaultMetric(this.ctx);
  }

  company(key: string, metric: Metric, now: Date): Promise<Chart | null> {
    return this.cache.get(JSON.stringify(['company', key, metric, CHART_RANGE, dayString(now)]), async () => {
      const input = await companyChartInput(this.ctx, key, now, metric);
      return input ? renderCompanyChart(input) : null;
    });
  }

  /** This week's id (`2026-W49`), as DIGEST_TZ counts weeks. */
  week(now: Date): string {
    return zonedWeek(now, this.tz).week;
  }

  /** This week's digest chart (the week as DIGEST_TZ counts it); null when no company is falling. */
  digest(now: Date, metric = this.metric()): Promise<Chart | null> {
    const week = zonedWeek(now, this.tz);
    return this.cache.get(JSON.stringify(['digest', week.week, metric, CHART_RANGE, dayString(now)]), async () => {
      const rows = await companyRows(this.ctx, { now, range: DEFAULT_RANGE, metric });
      const input = await digestChartInput(this.ctx, quietRows(rows), week.label, now, metric);
      return input ? renderDigestChart(input) : null;
    });
  }
}
