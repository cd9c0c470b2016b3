/**
 * Activity charts as Vega-Lite specs: pure functions of their input (no clock, no
 * database, no Slack). src/render/chart-png.ts turns a spec into PNG bytes.
 *
 * One company's chart: its weekly metric as a line over the last 26 weeks (fewer for
 * a young company), the trend's recent window shaded, the baseline rate as a dashed
 * level, active people per week as light bars on their own scale in the lower third,
 * and the trend word and change in the title. The digest's chart: up to 6 such
 * panels, small, of the falling companies.
 *
 * The layout is fixed (autosize none, explicit padding), so the plot area is known
 * to the pixel: `plotArea` says where a week lands, which the pixel test reads back.
 * Text in the image is not mrkdwn: names are drawn as they are, nothing to escape.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Metric, Trend } from '../domain/types.js';
import { formatNumber, formatPercent, metricLabel, truncate } from './format.js';
import { trendSign } from '../domain/trend.js';

/** Weeks drawn at most. */
export const CHART_WEEKS = 26;
/** Falling companies drawn in the digest's chart at most. */
export const DIGEST_PANELS = 6;

/** The font every chart names; chart-png.ts hands resvg this font's file and no other. */
export const CHART_FONT = 'DejaVu Sans';

export const COLORS = {
  /** The metric's line: the colour the pixel test looks for. */
  series: '#1264a3',
  people: '#c5d5e4',
  baseline: '#696969',
  /** The recent window, by the trend's direction. */
  recentFalling: '#fbe3e3',
  recentRising: '#e0f2e4',
  recentSteady: '#ededed',
  background: '#ffffff',
  text: '#1d1c1d',
} as const;

export interface ChartWeek {
  /** First day of the 7-day block, `YYYY-MM-DD` (UTC). */
  start: string;
  /** The metric over the block. */
  value: number;
  /** Distinct people active in the block. */
  people: number;
}

export interface CompanyChartInput {
  /** The company's display name (drawn as text, not escaped). */
  name: string;
  metric: Metric;
  /** Oldest first; blocks of 7 days, the last ending today. */
  weeks: ChartWeek[];
  /** The trend's baseline as a weekly level (baseline daily rate × 7); null when there is none. */
  baselinePerWeek: number | null;
  /** The trend's recent window: first and last day, `YYYY-MM-DD`. */
  recent: { start: string; end: string };
  trend: Trend;
  change: number | null;
}

/** The size of one company's chart, in CSS pixels (the PNG is drawn at `scale` times this). */
export const COMPANY_LAYOUT = { width: 600, height: 220, padding: { left: 56, right: 56, top: 62, bottom: 36 } } as const;
/** One panel of the digest's chart. */
export const PANEL_LAYOUT = { width: 260, height: 110, padding: { left: 44, right: 12, top: 30, bottom: 30 }, columns: 3, spacing: 24 } as const;

/** The whole image's size in CSS pixels. */
export function companyChartSize(): { width: number; height: number } {
  const l = COMPANY_LAYOUT;
  return { width: l.width + l.padding.left + l.padding.right, height: l.height + l.padding.top + l.padding.bottom };
}

const DAY_MS = 86_400_000;
const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The x domain: the first week's start to the day after the last week's end (ms). */
export function xDomain(weeks: readonly ChartWeek[]): [number, number] {
  const first = dayMs(weeks[0].start);
  const last = dayMs(weeks[weeks.length - 1].start) + 7 * DAY_MS;
  return [first, last];
}

/** A week's point sits in the middle of its 7 days. */
export function weekMid(w: ChartWeek): number {
  return dayMs(w.start) + 3.5 * DAY_MS;
}

/**
 * Where a company chart's plot area lies in the image, in CSS pixels, and the x of
 * a week's point and the y of a value on it (for tests, and anyone overlaying).
 */
export function plotArea(input: CompanyChartInput): { left: number; top: number; width: number; height: number; xOfWeek: (i: number) => number } {
  const l = COMPANY_LAYOUT;
  const [d0, d1] = xDomain(input.weeks);
  return {
    left: l.padding.left,
    top: l.padding.top,
    width: l.width,
    height: l.height,
    xOfWeek: (i) => l.padding.left + ((weekMid(input.weeks[i]) - d0) / (d1 - d0)) * l.width,
  };
}

/** `↓ down · −42 %` */
export function trendLabel(trend: Trend, change: number | null): string {
  return `${trendSign(trend)} ${trend}${change === null || trend === 'new' ? '' : ` · ${formatPercent(change)}`}`;
}

function recentColor(trend: Trend): string {
  if (trend === 'down' || trend === 'down sharply') return COLORS.recentFalling;
  if (trend === 'up' || trend === 'up sharply') return COLORS.recentRising;
  return COLORS.recentSteady;
}

/** The upper end of the metric's scale: the data, the baseline, never 0 (a flat zero line stays at the bottom). */
function yMax(input: CompanyChartInput): number {
  return Math.max(1, input.baselinePerWeek ?? 0, ...input.weeks.map((w) => w.value));
}

/** The layers of one company's plot (shared by the full chart and a digest panel). */
function companyLayers(input: CompanyChartInput, opts: { small: boolean }) {
  const plotWidth = opts.small ? PANEL_LAYOUT.width : COMPANY_LAYOUT.width;
  const [d0, d1] = xDomain(input.weeks);
  const x = { field: 't', type: 'temporal' as const, scale: { type: 'utc' as const, domain: [d0, d1], nice: false, padding: 0 }, title: null };
  const values = input.weeks.map((w) => ({ t: weekMid(w), v: w.value, p: w.people }));
  const peopleMax = Math.max(1, ...input.weeks.map((w) => w.people));
  const metricTitle = `${metricLabel(input.metric, 2)} a week`;
  const axisX = { format: '%b %-d', labelAngle: 0, tickCount: opts.small ? 3 : 6, grid: false, labelOverlap: true };
  const recentStart = Math.max(d0, dayMs(input.recent.start));
  const recentEnd = Math.min(d1, dayMs(input.recent.end) + DAY_MS);
  const layers: unknown[] = [];
  if (recentEnd > recentStart) {
    layers.push({
      data: { values: [{ a: recentStart, b: recentEnd }] },
      mark: { type: 'rect', color: recentColor(input.trend) },
      encoding: { x: { field: 'a', type: 'temporal', title: null, axis: axisX }, x2: { field: 'b' } },
    });
  }
  // People: light bars on their own scale, kept to the lower third so the line stays readable.
  layers.push({
    data: { values },
    mark: { type: 'bar', color: COLORS.people, width: Math.max(1, Math.floor((plotWidth / input.weeks.length) * 0.7)) },
    encoding: {
      x: { ...x, axis: axisX },
      y: {
        field: 'p',
        type: 'quantitative',
        scale: { domain: [0, peopleMax * 3], nice: false },
        axis: opts.small ? null : { title: 'people a week', orient: 'right', grid: false, values: [0, peopleMax], format: ',d', titleColor: '#7a8fa3' },
      },
    },
  });
  const yScale = { domain: [0, yMax(input)], nice: true, zero: true };
  const yAxis = { title: opts.small ? null : metricTitle, format: '~s', tickCount: opts.small ? 3 : 5, gridColor: '#eeeeee' };
  if (input.baselinePerWeek !== null) {
    layers.push({
      data: { values: [{ y: input.baselinePerWeek }] },
      mark: { type: 'rule', color: COLORS.baseline, strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { y: { field: 'y', type: 'quantitative', scale: yScale, axis: null } },
    });
  }
  layers.push({
    data: { values },
    mark: { type: 'line', color: COLORS.series, strokeWidth: opts.small ? 2 : 2.5, point: opts.small ? false : { filled: true, size: 28, color: COLORS.series } },
    encoding: {
      x: { ...x, axis: axisX },
      y: { field: 'v', type: 'quantitative', scale: yScale, axis: yAxis },
    },
  });
  return layers;
}

const baseConfig = {
  font: CHART_FONT,
  background: COLORS.background,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, labelColor: '#454245', titleColor: '#454245', domainColor: '#bbbbbb', tickColor: '#bbbbbb' },
  title: { color: COLORS.text, anchor: 'start' as const },
};

/** One company's chart. `weeks` must not be empty. */
export function companyChartSpec(input: CompanyChartInput): TopLevelSpec {
  if (input.weeks.length === 0) throw new Error('a chart needs at least one week of data');
  const l = COMPANY_LAYOUT;
  const last = input.weeks[input.weeks.length - 1];
  const baseline = input.baselinePerWeek === null ? '' : ` · baseline ${formatNumber(Math.round(input.baselinePerWeek))} a week (dashed)`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: l.width,
    height: l.height,
    autosize: { type: 'none', contains: 'content' },
    padding: { ...l.padding },
    title: {
      text: `${truncate(input.name, 60)} · ${trendLabel(input.trend, input.change)}`,
      subtitle: `${metricLabel(input.metric, 2)} per week, last ${input.weeks.length} weeks · latest ${formatNumber(last.value)}${baseline} · shaded: recent window`,
      fontSize: 15,
      subtitleFontSize: 10.5,
      subtitleColor: '#616061',
      offset: 8,
    },
    layer: companyLayers(input, { small: false }),
    resolve: { scale: { y: 'independent' } },
    config: baseConfig,
  } as unknown as TopLevelSpec;
}

export interface DigestChartInput {
  /** `week of Nov 30, 2026`. */
  weekLabel: string;
  /** The falling companies, biggest drop first; the first DIGEST_PANELS are drawn. */
  companies: CompanyChartInput[];
}

/** The digest's small multiples: one small panel per falling company, 3 to a row. */
export function digestChartSpec(input: DigestChartInput): TopLevelSpec {
  const panels = input.companies.slice(0, DIGEST_PANELS).filter((c) => c.weeks.length > 0);
  if (panels.length === 0) throw new Error('a digest chart needs at least one company with data');
  const p = PANEL_LAYOUT;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Falling companies · ${input.weekLabel}`, subtitle: 'weekly activity · shaded: recent window · dashed: baseline', fontSize: 15, subtitleFontSize: 10.5, subtitleColor: '#616061' },
    columns: Math.min(p.columns, panels.length),
    spacing: p.spacing,
    padding: 16,
    concat: panels.map((c) => ({
      width: p.width,
      height: p.height,
      title: { text: `${truncate(c.name, 32)} · ${trendLabel(c.trend, c.change)}`, fontSize: 12, anchor: 'start' },
      layer: companyLayers(c, { small: true }),
      resolve: { scale: { y: 'independent' } },
    })),
    config: baseConfig,
  } as unknown as TopLevelSpec;
}

/** The numbers a chart shows, for screen readers (alt text) and the terminal. */
export function companyChartAlt(input: CompanyChartInput): string {
  const values = input.weeks.map((w) => formatNumber(w.value)).join(', ');
  const people = input.weeks.map((w) => formatNumber(w.people)).join(', ');
  const baseline = input.baselinePerWeek === null ? 'no baseline yet' : `baseline ${formatNumber(Math.round(input.baselinePerWeek))} a week`;
  return truncate(
    `Chart of ${input.name}: ${metricLabel(input.metric, 2)} per week over the last ${input.weeks.length} weeks, oldest first: ${values}. ` +
      `Active people per week: ${people}. ${baseline}. Trend ${input.trend}${input.change === null ? '' : ` (${formatPercent(input.change)})`}.`,
    1990,
  );
}

export function digestChartAlt(input: DigestChartInput): string {
  const parts = input.companies.slice(0, DIGEST_PANELS).map((c) => {
    const recent = c.weeks.slice(-2).map((w) => formatNumber(w.value)).join(' and ');
    const base = c.baselinePerWeek === null ? '' : `, baseline ${formatNumber(Math.round(c.baselinePerWeek))}`;
    return `${c.name}: ${trendLabel(c.trend, c.change).replace(/^\S+ /, '')}, last two weeks ${recent}${base}`;
  });
  return truncate(`Weekly activity of the falling companies, ${input.weekLabel}. ${parts.join('. ')}.`, 1990);
}
