/**
 * The same replies as `blocks.ts`, as plain terminal text with aligned columns, for
 * `npm run groups`, `npm run digest -- --dry-run` and `npm run demo`. Takes the very
 * inputs of the Block Kit builders. No mrkdwn and no Slack escaping here; control
 * characters in data are blanked so a name cannot break the columns or the terminal.
 */
import { digestOwnerLines } from './digest-owners.js';
import type { Metric } from '../domain/types.js';
import { BASELINE_DAYS, RECENT_DAYS } from '../domain/trend.js';
import {
  companyName,
  countsLine,
  digestAllClear,
  DIGEST_MAX_LISTED,
  GROUP_KEY_SNIPPET,
  growingLine,
  helpEntries,
  helpFootnote,
  helpProblem,
  listedName,
  sharedNames,
  keyVerdict,
  MAX_PEOPLE_LISTED,
  MAX_TRAITS_LISTED,
  metricTotal,
  nowAndBefore,
  roughly,
  rangeText,
  reportLines,
  traitEntries,
  trendText,
  detailTrend,
  whatTheyDo,
  fellMostLines,
  stoppedLines,
  fellMostLine,
  MAX_EVENT_NAME,
  MAX_EVENT_NAME_IN_LINE,
  type DigestInput,
  type HelpInput,
  type KeyHealthInput,
  type MatchesInput,
  type NoMatchInput,
  type QuietInput,
  type ReportInput,
  type ShowInput,
  type TopInput,
} from './blocks.js';
import {
  formatCount,
  formatDay,
  formatNumber,
  formatPercent,
  formatShare,
  metricLabel,
  relativeTime,
  sparkline,
  matchesIntro,
  truncate,
} from './format.js';

/** Widest name shown in a column. */
export const MAX_COLUMN = 40;

/** Data made safe for one terminal cell: no control characters, cut to `max`. */
export function clean(s: string, max = MAX_COLUMN): string {
  // eslint-disable-next-line no-control-regex
  return truncate(s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' '), max);
}

/** Display width, counted in code points (the arrows and bars used here are one column wide). */
function width(s: string): number {
  return Array.from(s).length;
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'left' ? s + fill : fill + s;
}

/**
 * Columns aligned under their headers: text left, numbers right (`align` per column,
 * 'r' or 'l'), two spaces apart, no trailing spaces.
 */
export function table(headers: string[], rows: string[][], align: string): string {
  const widths = headers.map((h, c) => Math.max(width(h), ...rows.map((r) => width(r[c] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => pad(cell ?? '', widths[c], align[c] === 'r' ? 'right' : 'left'))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function more(total: number, shown: number): string[] {
  return total > shown ? [`and ${formatNumber(total - shown)} more`] : [];
}

function join(parts: (string | null | false)[]): string {
  return `${parts.filter((p): p is string => typeof p === 'string').join('\n')}\n`;
}

const TREND_NOTE = `Trend: the last ${RECENT_DAYS} days against each company's own ${BASELINE_DAYS} days before.`;

export function topText(input: TopInput): string {
  const { rows, metric, range, totalCompanies, keyActionsSet } = input;
  const title = `Most active companies · ${rangeText(range)} · by ${metricLabel(metric, 2)}`;
  if (rows.length === 0) return join([title, '', `No company has any activity in the ${rangeText(range)}.`]);
  const withTotal = metric !== 'people';
  const headers = ['#', 'Company', 'People', ...(withTotal ? [capitalised(metricLabel(metric, 2))] : []), 'Trend'];
  const shared = sharedNames(rows);
  const body = rows.map((r, i) => [
    String(i + 1),
    listedName(r, shared, (s) => clean(s)),
    formatNumber(r.activity.people),
    ...(withTotal ? [formatNumber(metricTotal(r.activity, metric))] : []),
    trendText(r.trend),
  ]);
  return join([
    title,
    `Top ${formatNumber(rows.length)} of ${formatNumber(Math.max(totalCompanies, rows.length))} active companies. ${TREND_NOTE}`,
    '',
    table(headers, body, withTotal ? 'rlrrl' : 'rlrl'),
    !keyActionsSet && metric === 'events' && '\nSet KEY_ACTIONS to rank by key actions.',
  ]);
}

/** Now, before and change as separate cells: "120 key actions", "1,200", "−90 %". */
function fallingCells(r: QuietInput['rows'][number], metric: Metric): [now: string, before: string, change: string] {
  const { now, before, change } = nowAndBefore(r);
  return [formatCount(now, metric), formatNumber(roughly(before)), change === null ? '' : formatPercent(change)];
}

function fallingTable(rows: QuietInput['rows'], metric: Metric, shared = sharedNames(rows)): string {
  return table(
    ['#', 'Company', 'People', `Last ${RECENT_DAYS} days`, 'Was about', 'Change', 'Trend'],
    rows.map((r, i) => {
      const [now, before, change] = fallingCells(r, metric);
      return [String(i + 1), listedName(r, shared, (s) => clean(s)), formatNumber(r.activity.people), now, before, change, trendText(r.trend)];
    }),
    'rlrrrrl',
  );
}

const FALLING_NOTE = `Trending down after being active, biggest drop first. Now: the last ${RECENT_DAYS} days; was: the company's own rate over the ${BASELINE_DAYS} days before, scaled to ${RECENT_DAYS} days.`;

export function quietText(input: QuietInput): string {
  const { rows, range, metric } = input;
  const title = `Quiet companies · ${rangeText(range)} · by ${metricLabel(metric, 2)}`;
  if (rows.length === 0) return join([title, '', 'All clear: no company that used to be active is trending down.']);
  const more = (input.total ?? rows.length) - rows.length;
  return join([title, FALLING_NOTE, '', fallingTable(rows, metric), ...(more > 0 ? [`and ${formatNumber(more)} more`] : [])]);
}

export function showText(input: ShowInput): string {
  const { detail, metric, range, now } = input;
  const keyActionsSet = input.keyActionsSet ?? true;
  const a = detail.activity;
  const out: (string | false)[] = [
    clean(companyName(detail), 200),
    `Key ${clean(detail.key, 200)} · first seen ${formatDay(detail.firstSeen)} · last seen ${relativeTime(detail.lastSeen, now)}`,
  ];

  const traits = traitEntries(detail.traits);
  if (traits.length > 0) {
    out.push('', table(['Trait', 'Value'], traits.slice(0, MAX_TRAITS_LISTED).map(([k, v]) => [clean(k), clean(v, 80)]), 'll'));
    out.push(...more(traits.length, MAX_TRAITS_LISTED));
  }

  const metrics: [string, string][] = [
    [`People, ${rangeText(range)}`, `${formatNumber(a.people)} active · ${formatNumber(detail.peopleKnown)} known in all`],
    ...(keyActionsSet ? [['Key actions', formatNumber(a.keyActions)] as [string, string]] : []),
    ['Events', formatNumber(a.events)],
    ['Sessions', formatNumber(a.sessions)],
    ['Trend', detailTrend(detail)],
  ];
  const labelWidth = Math.max(...metrics.map(([l]) => width(l)));
  out.push('', ...metrics.map(([l, v]) => `${pad(l, labelWidth, 'left')}  ${v}`));

  if (detail.weeks.length > 0) {
    const values = detail.weeks.map((w) => w.value);
    out.push(
      '',
      `Weekly ${metricLabel(metric, 2)}, last ${detail.weeks.length} weeks`,
      `${sparkline(values)}  ${formatDay(detail.weeks[0].start)} → ${formatDay(detail.weeks[detail.weeks.length - 1].start)} · peak ${formatNumber(Math.max(...values))} · latest ${formatNumber(values[values.length - 1])}`,
    );
  }

  if (detail.events) {
    // The same lines as Slack's; names cleaned of control characters, not escaped.
    const name = (s: string) => clean(s, MAX_EVENT_NAME);
    out.push('', ...whatTheyDo(detail.events, range, name));
    for (const lines of [fellMostLines(detail.events, name), stoppedLines(detail.events, name)]) if (lines.length > 0) out.push('', ...lines);
  }

  const personMetric: Metric = metric === 'people' ? 'events' : metric;
  out.push('', `People by ${metricLabel(personMetric, 2)}, ${rangeText(range)}`);
  if (detail.people.length === 0) out.push(`No one active in the ${rangeText(range)}.`);
  else {
    const shown = detail.people.slice(0, MAX_PEOPLE_LISTED);
    out.push(
      table(
        ['#', 'Person', capitalised(metricLabel(personMetric, 2)), 'Last seen'],
        shown.map((p, i) => [String(i + 1), clean(p.displayName), formatNumber(metricTotal(p.activity, personMetric)), relativeTime(p.lastSeen, now)]),
        'rlrl',
      ),
      ...more(detail.people.length, shown.length),
    );
  }
  return join(out);
}

export function matchesText(input: MatchesInput): string {
  return join([
    `${matchesIntro(input.matches.length, input.more, clean(input.query, 200))} Pick one with: show KEY`,
    '',
    table(['Company', 'Key'], input.matches.map((m) => [clean(m.name ?? ''), clean(m.key, 200)]), 'll'),
  ]);
}

export function noMatchText(input: NoMatchInput): string {
  const none = `No company matches “${clean(input.query, 200)}”.`;
  if (input.suggestions.length === 0) return join([none, 'Try `top` to see the most active companies.']);
  const shown = input.suggestions.slice(0, 10);
  return join([
    none,
    'Closest names:',
    '',
    table(['Company', 'Key'], shown.map((m) => [clean(m.name ?? ''), clean(m.key, 200)]), 'll'),
  ]);
}

export function reportText(input: ReportInput): string {
  const lines = reportLines(input.counts, input.range);
  return join([
    `Accounts · ${rangeText(input.range)}`,
    '',
    table(['', 'Count', 'Meaning'], lines.map(([label, value, meaning]) => [label, formatNumber(value), meaning]), 'lrl'),
    '',
    TREND_NOTE,
  ]);
}

export function keyHealthText(input: KeyHealthInput): string {
  const { health, keyPath } = input;
  const cov = [...health.coverage].sort((a, b) => a.days - b.days);
  const out: (string | false)[] = ['Group key health', ''];
  if (cov.length > 0) {
    out.push(
      table(
        ['Window', 'Events with a company', 'People with a company'],
        cov.map((c) => [
          `${c.days} days`,
          `${formatShare(c.eventsWithCompany, c.events)} (${formatNumber(c.eventsWithCompany)} of ${formatNumber(c.events)})`,
          `${formatShare(c.peopleWithCompany, c.people)} (${formatNumber(c.peopleWithCompany)} of ${formatNumber(c.people)})`,
        ]),
        'lrr',
      ),
      '',
    );
  }
  const verdict = keyVerdict(health);
  out.push(verdict.line);
  if (verdict.flowing !== true) {
    out.push('', ...GROUP_KEY_SNIPPET.split('\n').map((l) => `    ${l}`), '');
    out.push(
      keyPath
        ? `The key is read from context.groupId, from ${clean(keyPath, 200)} (GROUP_KEY_PATH), from traits.company.id, or from the person's last group call.`
        : "The key is read from context.groupId, from traits.company.id, or from the person's last group call; GROUP_KEY_PATH adds another place.",
    );
  }
  out.push('');
  if (health.splits.length === 0) out.push('No likely split companies.');
  else {
    out.push('Likely split companies (one company under several keys or spellings):');
    for (const s of health.splits) {
      out.push(`  ${clean(s.reason)}: ${s.companies.map((c) => (c.name ? `${clean(c.key)} (${clean(c.name)})` : clean(c.key))).join(', ')}`);
    }
  }
  if (health.nameLikeKeys.length > 0) {
    out.push('', 'Keys that look like names, not ids (send a stable account id as groupId; names go in traits.name):');
    for (const c of health.nameLikeKeys) out.push(`  ${clean(c.key)}${c.name ? ` (${clean(c.name)})` : ''}`);
  }
  return join(out);
}

export function helpText(input: HelpInput): string {
  const problem = helpProblem(input);
  const entries = helpEntries(input.keyActionsSet);
  return join([
    problem !== null && `${clean(problem, 1000)}\n`,
    'leadmaps Groups: product analytics per company',
    '',
    table(['Command', 'What it does'], entries.map(([usage, what]) => [usage, what]), 'll'),
    '',
    helpFootnote(input.keyActionsSet),
  ]);
}

export function digestText(input: DigestInput): string {
  const { falling, growing, counts, metric } = input;
  const maxListed = Math.max(1, Math.min(input.maxListed ?? DIGEST_MAX_LISTED, 40));
  if (falling.length === 0) return digestAllClear(clean(input.weekLabel, 150));
  const out: (string | false)[] = [`Weekly digest · ${clean(input.weekLabel, 150)}`, ''];
  const shown = falling.slice(0, maxListed);
  out.push(
    `${formatNumber(falling.length)} ${falling.length === 1 ? 'company is' : 'companies are'} falling. ${FALLING_NOTE}`,
    '',
    fallingTable(shown, metric, sharedNames(falling)),
    ...more(falling.length, shown.length),
  );
  const fell = shown.flatMap((r) => {
    const line = fellMostLine(input.fellMost?.get(r.key), (s) => clean(s, MAX_EVENT_NAME_IN_LINE));
    return line === null ? [] : [`${clean(companyName(r))}: ${line}`];
  });
  if (fell.length > 0) out.push('', ...fell);
  if (input.owners) out.push('', ...digestOwnerLines(shown, input.owners, (s) => clean(s)));
  out.push('', growingLine(growing, (s) => clean(s)), countsLine(counts));
  return join(out);
}
