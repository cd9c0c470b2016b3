/**
 * Every reply of the app as a Slack message: a plain `text` fallback plus Block Kit
 * blocks. Pure functions of their inputs (`now` is always passed in).
 *
 * Rules kept by every builder here:
 * - every piece of data (company and person names, keys, traits, the query, an
 *   unknown word) goes through `escapeMrkdwn` before it reaches mrkdwn or `text`;
 * - every mrkdwn text object is `verbatim: true`; never `link_names` or `parse`;
 * - Slack's limits hold for any input: at most 50 blocks, section text under 3,000
 *   characters, 10 fields, header text 150, button text 75; long lists end with
 *   "and N more".
 */
import type { Button, ContextBlock, HeaderBlock, ImageBlock, KnownBlock, MrkdwnElement, SectionBlock } from '@slack/types';
import type {
  Activity,
  CompanyDetail,
  EventChange,
  EventCounts,
  EventDrop,
  CompanyRow,
  KeyCoverage,
  KeyHealth,
  Metric,
  Range,
  ReportCounts,
  SlackMessage,
  Trend,
} from '../domain/types.js';
import { BASELINE_DAYS, baselineDays, GONE_QUIET_ACTIVE_WEEKS, MIN_BASELINE_PER_WEEK, RECENT_DAYS, trendReason, trendSign } from '../domain/trend.js';
import { encodeAction, MAX_ACTION_VALUE } from './action-ids.js';
import {
  escapeMrkdwn,
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
import { metricTotal } from '../domain/metric.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS_LABEL } from '../ingest/event-names.js';
import { fallingItemsWithOwners } from './digest-owners.js';

export { metricTotal };

// ---------------------------------------------------------------------------
// Slack's limits and our own caps

export const MAX_BLOCKS = 50;
/** Slack allows 3,000; a little room is kept for safety. */
export const MAX_SECTION_TEXT = 2900;
export const MAX_FIELD_TEXT = 2000;
export const MAX_CONTEXT_TEXT = 2000;
export const MAX_HEADER_TEXT = 150;
export const MAX_BUTTON_TEXT = 75;
/** Names, keys and trait values longer than this are cut (before escaping) so a row stays readable. */
export const MAX_NAME = 80;
/** People listed by `show`, then "and N more". */
export const MAX_PEOPLE_LISTED = 10;
/** Traits listed by `show`, then "and N more". */
export const MAX_TRAITS_LISTED = 10;
/** Digest: falling companies listed before "and N more". */
export const DIGEST_MAX_LISTED = 15;
/** Digest: companies named in the "growing most" line. */
export const DIGEST_GROWING_LISTED = 3;
/**
 * `/groups key`: below this share of events with a company over the last 7 days, the
 * group key is "not flowing" and the reply shows how to send it.
 */
export const KEY_FLOWING_MIN_SHARE = 0.5;
/** Shown in help and replies as the example key. */
const EXAMPLE_KEY = 'acct_123';

// ---------------------------------------------------------------------------
// Small pieces

/** Escaped data, cut to `max` characters first. */
export function esc(s: string, max = MAX_NAME): string {
  return escapeMrkdwn(truncate(s, max));
}

/** Cuts escaped mrkdwn without leaving half an entity (`&am…`). */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = truncate(text, max);
  return cut.replace(/&[a-z]{0,3}…$/, '…');
}

function md(text: string, max = MAX_SECTION_TEXT): MrkdwnElement {
  return { type: 'mrkdwn', text: clip(text === '' ? ' ' : text, max), verbatim: true };
}

export function section(text: string, accessory?: Button): SectionBlock {
  const block: SectionBlock = { type: 'section', text: md(text) };
  if (accessory) block.accessory = accessory;
  return block;
}

function fieldsSection(fields: string[]): SectionBlock {
  return { type: 'section', fields: fields.slice(0, 10).map((f) => md(f, MAX_FIELD_TEXT)) };
}

export function context(text: string): ContextBlock {
  return { type: 'context', elements: [md(text, MAX_CONTEXT_TEXT)] };
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, MAX_HEADER_TEXT).trim() || '—' } }; // never empty
}

/** Slack's limit on an image block's alt_text and title. */
export const MAX_IMAGE_TEXT = 2000;

/** An image block for a chart the bot serves; alt_text states its numbers (plain text, like a header). */
export function chartImage(chart: { url: string; alt: string }, title: string): ImageBlock {
  return {
    type: 'image',
    image_url: chart.url,
    alt_text: truncate(chart.alt, MAX_IMAGE_TEXT),
    title: { type: 'plain_text', text: truncate(title, MAX_IMAGE_TEXT) },
  };
}

/** A "Details" (or "Open") button for one company; none when the key cannot fit in a value. */
export function showButton(key: string, index: number, label = 'Details'): Button | undefined {
  if (key.length === 0 || key.length > MAX_ACTION_VALUE) return undefined;
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncate(label, MAX_BUTTON_TEXT) },
    action_id: encodeAction('show', index),
    value: key,
  };
}

/** The name a company goes by: its name, else its key. Not escaped. */
export function companyName(c: { key: string; name: string | null }): string {
  return c.name !== null && c.name.trim() !== '' ? c.name : c.key;
}

/** How a name is compared with the others of a list: case and runs of spaces do not tell two apart. */
function nameForComparison(c: { key: string; name: string | null }): string {
  return companyName(c).trim().replace(/\s+/g, ' ').toLowerCase();
}

/** The names (as compared) that more than one company of a list goes by. */
export function sharedNames(rows: readonly { key: string; name: string | null }[]): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const r of rows) {
    const n = nameForComparison(r);
    if (seen.has(n)) shared.add(n);
    else seen.add(n);
  }
  return shared;
}

/**
 * A company's name in a list, each part through `escape`: `Acme Inc`, or
 * `Acme Inc (acct_2)` when another company of the list goes by the same name, so
 * that two rows never look the same.
 */
export function listedName(c: { key: string; name: string | null }, shared: ReadonlySet<string>, escape: (s: string) => string): string {
  const name = escape(companyName(c));
  return shared.has(nameForComparison(c)) && companyName(c) !== c.key ? `${name} (${escape(c.key)})` : name;
}


/**
 * `show`'s trend: the word, the change and why ("↓ down (−46 %) over the last 14 days; its weekly
 * swing is usually ±12 %"). A new company has no baseline to compare with: the word alone.
 */
export function detailTrend(detail: Pick<CompanyDetail, 'trend' | 'change' | 'swing' | 'goneQuiet' | 'evidence'>): string {
  if (detail.trend === 'new' || detail.change === null) return trendText(detail.trend);
  return `${trendText(detail.trend)} (${formatPercent(detail.change)})${trendReason({ change: detail.change, swing: detail.swing ?? null, goneQuiet: detail.goneQuiet ?? false, evidence: detail.evidence })}`;
}

/** `⇊ down sharply`. */
export function trendText(t: Trend): string {
  return `${trendSign(t)} ${t}`;
}

/** `last 30 days`, `last 4 weeks`, `today`. */
export function rangeText(range: Range): string {
  const weeks = /^(\d+)w$/i.exec(range.label);
  if (weeks) {
    const n = Number(weeks[1]);
    return n === 1 ? 'last week' : `last ${n} weeks`;
  }
  return range.days === 1 ? 'today' : `last ${formatNumber(range.days)} days`;
}

/** "About" a number: whole below 100, two significant figures above (1,234 -> 1,200). */
export function roughly(n: number): number {
  if (!Number.isFinite(n) || n < 100) return Math.round(n);
  const magnitude = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(n / magnitude) * magnitude;
}

/**
 * Activity now against before, for quiet and the digest:
 * "120 key actions in the last 7 days, was about 1,200, −90 %".
 *
 * Now is the metric over the trend's recent window (`windows.recent`, RECENT_DAYS
 * days); before is the company's baseline rate scaled to the same length
 * (`windows.baseline * RECENT_DAYS / baselineDays(windows)`, BASELINE_DAYS days or
 * fewer for a young company), so the two compare like for like and the percentage is
 * the row's `change`, the very ratio the trend judged.
 */
export function nowVsBefore(row: CompanyRow, metric: Metric): string {
  const { now, before, change } = nowAndBefore(row);
  const pct = change === null ? '' : `, ${formatPercent(change)}`;
  return `${formatCount(now, metric)} in the last ${RECENT_DAYS} days, was about ${formatNumber(roughly(before))}${pct}`;
}

/** The numbers behind `nowVsBefore`: the recent total, the scaled baseline, the change. */
export function nowAndBefore(row: CompanyRow): { now: number; before: number; change: number | null } {
  const now = row.windows.recent;
  const before = (row.windows.baseline * RECENT_DAYS) / baselineDays(row.windows);
  const change = row.change ?? (before > 0 ? now / before - 1 : null);
  return { now, before, change };
}

export interface ListItem {
  /** One row as mrkdwn, data already escaped. */
  line: string;
  button?: Button;
}

/**
 * Lays out a list within `budget` blocks: one section per item (with its button) when
 * they all fit; otherwise as many as fit one per section, the next ones packed as
 * lines into one section (no buttons), and a last "and N more". `total` counts items
 * left out before this call (digest: beyond its 15). Returns the blocks and the lines
 * shown, for the fallback text.
 */
export function listBlocks(items: ListItem[], budget: number, total = items.length): { blocks: KnownBlock[]; lines: string[] } {
  const blocks: KnownBlock[] = [];
  const lines: string[] = [];
  const b = Math.max(2, budget);
  const fitsOneEach = items.length <= b && total === items.length;
  const single = fitsOneEach ? items.length : Math.min(items.length, b - 2);
  for (let i = 0; i < single; i++) {
    blocks.push(section(items[i].line, items[i].button));
    lines.push(clip(items[i].line, MAX_SECTION_TEXT));
  }
  let shown = single;
  if (!fitsOneEach) {
    const packed: string[] = [];
    let length = 0;
    for (let i = single; i < items.length; i++) {
      const line = clip(items[i].line, MAX_SECTION_TEXT);
      if (length + line.length + 1 > MAX_SECTION_TEXT) break;
      packed.push(line);
      length += line.length + 1;
    }
    if (packed.length > 0) {
      blocks.push(section(packed.join('\n')));
      lines.push(...packed);
      shown += packed.length;
    }
    if (total > shown) {
      const more = `and ${formatNumber(total - shown)} more`;
      blocks.push(context(more));
      lines.push(more);
    }
  }
  return { blocks, lines };
}

function message(text: string[], blocks: KnownBlock[]): SlackMessage {
  return { text: text.filter((l) => l !== '').join('\n'), blocks: blocks.slice(0, MAX_BLOCKS) };
}

/** `*1. Acme Inc*` + `14 people · 1,200 key actions · ↑ up` (the key after a name another row shares). */
function companyLine(row: CompanyRow, metric: Metric, rank: number | null, shared: ReadonlySet<string>): string {
  const name = `*${rank === null ? '' : `${rank}. `}${listedName(row, shared, esc)}*`;
  const parts = [formatCount(row.activity.people, 'people')];
  if (metric !== 'people') parts.push(formatCount(metricTotal(row.activity, metric), metric));
  parts.push(trendText(row.trend));
  return `${name}\n${parts.join(' · ')}`;
}

/** `*Globex*` + `11 people · 120 key actions in the last 7 days, was about 1,200, −90 % · ⇊ down sharply`; `shared`: see listedName. */
export function fallingLine(row: CompanyRow, metric: Metric, rank: number, shared: ReadonlySet<string> = new Set()): string {
  const parts = [formatCount(row.activity.people, 'people'), nowVsBefore(row, metric), trendText(row.trend)];
  return `*${rank}. ${listedName(row, shared, esc)}*\n${parts.join(' · ')}`;
}

/**
 * The rows of top, reusable by App Home: one section per company with a Details button.
 * `offset` is the rank before the first row (a later page of App Home starts at 26.);
 * `shared`, the names several companies of the whole list go by (default: of these rows).
 */
export function companyRowBlocks(
  rows: CompanyRow[],
  metric: Metric,
  budget: number,
  offset = 0,
  shared: ReadonlySet<string> = sharedNames(rows),
): { blocks: KnownBlock[]; lines: string[] } {
  return listBlocks(
    rows.map((row, i) => ({ line: companyLine(row, metric, offset + i + 1, shared), button: showButton(row.key, offset + i) })),
    budget,
  );
}

// ---------------------------------------------------------------------------
// Replies

export interface TopInput {
  rows: CompanyRow[];
  /** Already resolved (key_actions when KEY_ACTIONS is set, else events, unless asked). */
  metric: Metric;
  range: Range;
  /** Companies with activity in the range, of which `rows` are the first. */
  totalCompanies: number;
  keyActionsSet: boolean;
  now: Date;
}

/** `/groups top`: companies ranked by the metric. */
export function topMessage(input: TopInput): SlackMessage {
  const { rows, metric, range, totalCompanies, keyActionsSet } = input;
  const title = `Most active companies · ${rangeText(range)} · by ${metricLabel(metric, 2)}`;
  const blocks: KnownBlock[] = [header(title)];
  const text = [title];
  if (rows.length === 0) {
    const none = `No company has any activity in the ${rangeText(range)}.`;
    blocks.push(section(none));
    text.push(none);
  } else {
    const note = `Top ${formatNumber(rows.length)} of ${formatNumber(Math.max(totalCompanies, rows.length))} active companies. Trend: the last ${RECENT_DAYS} days against each company's own ${BASELINE_DAYS} days before.`;
    blocks.push(context(note));
    const tip = !keyActionsSet && metric === 'events' ? 'Set KEY_ACTIONS to rank by key actions.' : '';
    const list = companyRowBlocks(rows, metric, MAX_BLOCKS - blocks.length - (tip ? 1 : 0));
    blocks.push(...list.blocks);
    text.push(...list.lines);
    if (tip) {
      blocks.push(context(tip));
      text.push(tip);
    }
  }
  return message(text, blocks);
}

export interface QuietInput {
  /** Falling companies that used to be active, biggest drop first (sorted and filtered by the caller). */
  rows: CompanyRow[];
  /** How many are falling in all, when `rows` holds only the first of them. */
  total?: number;
  range: Range;
  metric: Metric;
  now: Date;
}

const QUIET_ALL_CLEAR = 'All clear: no company that used to be active is trending down.';

function quietNote(): string {
  return `Trending down after being active, biggest drop first. Now: the last ${RECENT_DAYS} days; was: the company's own rate over the ${BASELINE_DAYS} days before, scaled to ${RECENT_DAYS} days.`;
}

/** `/groups quiet`: falling companies, biggest drop first. */
export function quietMessage(input: QuietInput): SlackMessage {
  const { rows, range, metric } = input;
  const title = `Quiet companies · ${rangeText(range)} · by ${metricLabel(metric, 2)}`;
  const blocks: KnownBlock[] = [header(title)];
  const text = [title];
  if (rows.length === 0) {
    blocks.push(section(`✅ ${QUIET_ALL_CLEAR}`));
    text.push(QUIET_ALL_CLEAR);
    return message(text, blocks);
  }
  blocks.push(context(quietNote()));
  const shared = sharedNames(rows);
  const list = listBlocks(
    rows.map((row, i) => ({ line: fallingLine(row, metric, i + 1, shared), button: showButton(row.key, i) })),
    MAX_BLOCKS - blocks.length,
    Math.max(input.total ?? rows.length, rows.length),
  );
  blocks.push(...list.blocks);
  text.push(...list.lines);
  return message(text, blocks);
}

export interface ShowInput {
  detail: CompanyDetail;
  metric: Metric;
  range: Range;
  now: Date;
  /** Without KEY_ACTIONS, key actions are left out (they would always be 0). Default true. */
  keyActionsSet?: boolean;
  /** Adds a "Back" button whose value is this view to go back to (a `/groups` command text). */
  back?: string;
  /** People listed before "and N more" (App Home lists more). Default MAX_PEOPLE_LISTED. */
  maxPeople?: number;
  /** The activity chart (with PUBLIC_URL): an image block in place of the text sparkline. */
  chart?: { url: string; alt: string };
}

/** A trait value in one short line: strings as they are, objects as compact JSON. */
export function traitText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/** Traits worth showing, in their order, as [key, value] strings (not escaped). */
export function traitEntries(traits: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(traits ?? {})) {
    const t = traitText(v);
    if (t !== null && t !== '') out.push([k, t]);
  }
  return out;
}

/** `/groups show NAME-OR-KEY`: one company. */
export function showMessage(input: ShowInput): SlackMessage {
  const { detail, metric, range, now } = input;
  const keyActionsSet = input.keyActionsSet ?? true;
  const name = companyName(detail);
  const blocks: KnownBlock[] = [header(name)];
  const text = [`*${esc(name)}*`];

  const idLine = `Key \`${esc(detail.key)}\` · first seen ${formatDay(detail.firstSeen)} · last seen ${relativeTime(detail.lastSeen, now)}`;
  blocks.push(section(idLine));
  text.push(idLine);

  const traits = traitEntries(detail.traits);
  if (traits.length > 0) {
    const lines = traits.slice(0, MAX_TRAITS_LISTED).map(([k, v]) => `*${esc(k, 40)}*: ${esc(v)}`);
    if (traits.length > MAX_TRAITS_LISTED) lines.push(`and ${formatNumber(traits.length - MAX_TRAITS_LISTED)} more`);
    blocks.push(section(lines.join('\n')));
    text.push(lines.join(' · '));
  }

  const a = detail.activity;
  const fields = [
    `*People, ${rangeText(range)}*\n${formatNumber(a.people)} active · ${formatNumber(detail.peopleKnown)} known in all`,
    ...(keyActionsSet ? [`*Key actions*\n${formatNumber(a.keyActions)}`] : []),
    `*Events*\n${formatNumber(a.events)}`,
    `*Sessions*\n${formatNumber(a.sessions)}`,
    `*Trend*\n${detailTrend(detail)}`,
  ];
  blocks.push(fieldsSection(fields));
  text.push(fields.map((f) => f.replace('\n', ': ').replace(/\*/g, '')).join(' · '));

  if (detail.weeks.length > 0) {
    const values = detail.weeks.map((w) => w.value);
    const first = formatDay(detail.weeks[0].start);
    const last = formatDay(detail.weeks[detail.weeks.length - 1].start);
    const weekly = `*Weekly ${metricLabel(metric, 2)}, last ${detail.weeks.length} weeks*\n${sparkline(values)}  ${first} → ${last} · peak ${formatNumber(Math.max(...values))} · latest ${formatNumber(values[values.length - 1])}`;
    blocks.push(input.chart ? chartImage(input.chart, `Weekly ${metricLabel(metric, 2)}, people and trend`) : section(weekly));
    text.push(weekly.replace(/\*/g, ''));
  }

  if (detail.events) {
    for (const lines of [whatTheyDo(detail.events, range), fellMostLines(detail.events), stoppedLines(detail.events)]) {
      if (lines.length === 0) continue;
      const kept = packLines(lines);
      blocks.push(section(kept.map((l, i) => (i === 0 ? `*${l}*` : l)).join('\n')));
      text.push(...kept);
    }
  }

  // People: ranked by the metric; for "people" itself (1 each) by events instead.
  const personMetric: Metric = metric === 'people' ? 'events' : metric;
  const heading = `*People by ${metricLabel(personMetric, 2)}, ${rangeText(range)}*`;
  if (detail.people.length === 0) {
    const none = `No one active in the ${rangeText(range)}.`;
    blocks.push(section(`${heading}\n${none}`));
    text.push(none);
  } else {
    const lines = detail.people
      .slice(0, input.maxPeople ?? MAX_PEOPLE_LISTED)
      .map(
        (p, i) =>
          `${i + 1}. ${esc(p.displayName)} · ${formatCount(metricTotal(p.activity, personMetric), personMetric)} · last seen ${relativeTime(p.lastSeen, now)}`,
      );
    const kept: string[] = [];
    let length = heading.length + 40;
    for (const l of lines) {
      if (length + l.length + 1 > MAX_SECTION_TEXT) break;
      kept.push(l);
      length += l.length + 1;
    }
    if (detail.people.length > kept.length) kept.push(`and ${formatNumber(detail.people.length - kept.length)} more`);
    blocks.push(section(`${heading}\n${kept.join('\n')}`));
    text.push(heading.replace(/\*/g, ''), ...kept);
  }

  if (input.back !== undefined && input.back.length <= MAX_ACTION_VALUE) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: '← Back' }, action_id: encodeAction('back'), value: input.back }],
    });
  }
  return message(text, blocks);
}

/** Event names in "What they do", "Fell most" and "Stopped" are cut to this (before escaping). */
export const MAX_EVENT_NAME = 80;
/** Event names in the one "fell most:" line of the digest and the alerts. */
export const MAX_EVENT_NAME_IN_LINE = 40;

const eventEsc = (s: string) => esc(s, MAX_EVENT_NAME);

/**
 * A heading and its lines within one section's text: the lines that fit whole (a list of
 * hostile names escapes to five times its length), then "and N more".
 */
export function packLines(lines: string[], max = MAX_SECTION_TEXT): string[] {
  const [heading, ...rest] = lines;
  const kept = [heading];
  let length = heading.length + 4 + 40; // the bold marks, and room for "and N more"
  for (let i = 0; i < rest.length; i++) {
    if (length + rest[i].length + 1 > max) {
      kept.push(`and ${formatNumber(rest.length - i)} more`);
      break;
    }
    kept.push(rest[i]);
    length += rest[i].length + 1;
  }
  return kept;
}

/** A weekly rate as said: whole numbers from 10, one decimal below ("1.5"), never "0" for some. */
export function formatRate(x: number): string {
  if (!(x > 0)) return '0';
  if (x >= 9.95) return formatNumber(x);
  return String(Math.max(0.1, Math.round(x * 10) / 10));
}

/** An event's change in "What they do": " · −46 %", " · new", or nothing. */
function eventChangeText(change: EventChange | undefined): string {
  if (change === 'new') return ' · new';
  if (typeof change === 'number' && Number.isFinite(change)) return ` · ${formatPercent(change)}`;
  return '';
}

/**
 * `show`'s "Fell most": the events whose drop against their own baseline passed the trend's
 * test, "Dashboard Shared: 42 a week → 3 (−93 %)"; a line saying so when none did; nothing
 * for a company too young to have a baseline. Names through `escape`.
 */
export function fellMostLines(events: EventCounts, escape: (s: string) => string = eventEsc): string[] {
  if (!events.judged) return [];
  const heading = `Fell most, last ${RECENT_DAYS} days against each event's own usual week`;
  const drops = events.fellMost ?? [];
  if (drops.length === 0) return [heading, 'No event fell more than its usual swing explains.'];
  return [
    heading,
    ...drops.map((d) => `${escape(d.name)}: ${formatRate(d.perWeekBefore)} a week → ${formatRate(d.perWeekNow)} (${formatPercent(d.change)})`),
  ];
}

/**
 * `show`'s "Stopped": events used in most baseline weeks and not at all lately,
 * "Dashboard Shared: about 42 a week in 12 of 12 weeks before; none since Oct 12". Nothing when none.
 */
export function stoppedLines(events: EventCounts, escape: (s: string) => string = eventEsc): string[] {
  const stopped = events.stopped ?? [];
  if (stopped.length === 0) return [];
  return [
    `Stopped: used in most weeks before, not at all in the last ${RECENT_DAYS} days`,
    ...stopped.map((e) => {
      const since = e.lastDay ? `none since ${formatDay(new Date(`${e.lastDay}T00:00:00Z`))}` : `none in the last ${RECENT_DAYS} days`;
      return `${escape(e.name)}: about ${formatRate(e.perWeekBefore)} a week in ${formatNumber(e.activeWeeks)} of ${formatNumber(e.weeks)} weeks before; ${since}`;
    }),
  ];
}

/** The digest's and the alerts' one line: "fell most: Dashboard Shared −93 %, Invite Sent −80 %"; null when none fell. */
export function fellMostLine(drops: readonly EventDrop[] | undefined, escape: (s: string) => string = (s) => esc(s, MAX_EVENT_NAME_IN_LINE)): string | null {
  if (!drops || drops.length === 0) return null;
  return `fell most: ${drops.map((d) => `${escape(d.name)} ${formatPercent(d.change)}`).join(', ')}`;
}

/**
 * `show`'s "What they do": a heading, then the company's most frequent events over the range
 * with their counts and changes against their own baselines (names through `escape`: esc for mrkdwn), and a note when names past the bound were counted together.
 */
export function whatTheyDo(events: EventCounts, range: Range, escape: (s: string) => string = eventEsc): string[] {
  const lines = [`What they do, ${rangeText(range)}`];
  if (events.top.length === 0 && events.other === 0) return [...lines, `No events in the ${rangeText(range)}.`];
  lines.push(...events.top.map((e, i) => `${i + 1}. ${escape(e.name)} · ${formatNumber(e.count)}${eventChangeText(e.change)}`));
  if (events.names > events.top.length) lines.push(`and ${formatNumber(events.names - events.top.length)} more events`);
  if (events.other > 0) {
    lines.push(
      `${formatNumber(events.other)} more under “${OTHER_EVENTS_LABEL}”: this company sends over ${formatNumber(EVENT_NAMES_PER_COMPANY)} distinct event names, and the names past them are counted together.`,
    );
  }
  return lines;
}

export interface MatchesInput {
  query: string;
  matches: { key: string; name: string | null }[];
  /** More companies matched than are listed. */
  more?: boolean;
}

function matchLine(m: { key: string; name: string | null }): string {
  return m.name !== null && m.name.trim() !== '' ? `*${esc(m.name)}* · key \`${esc(m.key)}\`` : `key \`${esc(m.key)}\``;
}

/** `/groups show` with several matches: the choices, each with its key. */
export function matchesMessage(input: MatchesInput): SlackMessage {
  const intro = `${matchesIntro(input.matches.length, input.more, esc(input.query))} Pick one:`;
  const hint = 'Or type `/groups show KEY` with one of the keys above.';
  const blocks: KnownBlock[] = [section(intro)];
  const list = listBlocks(
    input.matches.map((m, i) => ({ line: matchLine(m), button: showButton(m.key, i) })),
    MAX_BLOCKS - 2,
  );
  blocks.push(...list.blocks, context(hint));
  return message([intro, ...list.lines, hint], blocks);
}

export interface NoMatchInput {
  query: string;
  /** Closest names, best first. */
  suggestions: { key: string; name: string | null }[];
}

/** `/groups show` with no match: says so, suggests the closest names. */
export function noMatchMessage(input: NoMatchInput): SlackMessage {
  const none = `No company matches “${esc(input.query)}”.`;
  if (input.suggestions.length === 0) {
    const hint = 'Try `/groups top` to see the most active companies.';
    return message([none, hint], [section(none), context(hint)]);
  }
  const intro = 'Closest names:';
  const list = listBlocks(
    input.suggestions.slice(0, 10).map((m, i) => ({ line: matchLine(m), button: showButton(m.key, i) })),
    MAX_BLOCKS - 2,
    Math.min(input.suggestions.length, 10),
  );
  return message([none, intro, ...list.lines], [section(`${none} ${intro}`), ...list.blocks]);
}

export interface ReportInput {
  counts: ReportCounts;
  range: Range;
  now: Date;
}

/** What each count of the report means, in the order shown. */
export function reportLines(counts: ReportCounts, range: Range): [label: string, value: number, meaning: string][] {
  return [
    ['Active', counts.active, `at least one event in the ${rangeText(range)}`],
    ['Growing', counts.growing, 'trending up or up sharply'],
    ['Steady', counts.steady, 'trending steady'],
    ['At risk', counts.atRisk, `trending down or down sharply, after at least ${MIN_BASELINE_PER_WEEK} a week`],
    ['Gone quiet', counts.goneQuiet, `nothing in the last ${RECENT_DAYS} days, after at least ${MIN_BASELINE_PER_WEEK} a week or activity in every week of the baseline (${GONE_QUIET_ACTIVE_WEEKS} at least)`],
    ['New', counts.new, 'first seen too recently for a trend'],
    ['Total', counts.total, 'every company ever seen'],
  ];
}

/** `/groups report`: account-level counts. */
export function reportMessage(input: ReportInput): SlackMessage {
  const title = `Accounts · ${rangeText(input.range)}`;
  const lines = reportLines(input.counts, input.range);
  const fields = lines.map(([label, value]) => `*${label}*\n${formatNumber(value)}`);
  const meaning = lines.map(([label, , m]) => `*${label}*: ${m}`).join('\n');
  const trendRule = `Trend: the last ${RECENT_DAYS} days against each company's own ${BASELINE_DAYS} days before.`;
  return message(
    [title, lines.map(([label, value]) => `${label}: ${formatNumber(value)}`).join(' · ')],
    [header(title), fieldsSection(fields), context(`${meaning}\n${trendRule}`)],
  );
}

export interface KeyHealthInput {
  health: KeyHealth;
  /** GROUP_KEY_PATH, when set. */
  keyPath: string | null;
}

/** The Segment calls that carry the group key. */
export const GROUP_KEY_SNIPPET = [
  '// once per person and company: ties the person to it and names it',
  `analytics.group({ userId, groupId: '${EXAMPLE_KEY}', traits: { name: 'Acme Inc', plan: 'pro' } })`,
  '// on every event, so that it counts for the company',
  `analytics.track({ userId, event: 'Report Created', context: { groupId: '${EXAMPLE_KEY}' } })`,
].join('\n');

function coverageFor(health: KeyHealth, days: number): KeyCoverage | undefined {
  return health.coverage.find((c) => c.days === days);
}

/** The verdict on the key: flowing, not flowing, or nothing yet. */
export function keyVerdict(health: KeyHealth): { flowing: boolean | null; line: string } {
  const week = coverageFor(health, 7) ?? health.coverage[0];
  const month = coverageFor(health, 30) ?? health.coverage[health.coverage.length - 1];
  const w = week && week.events > 0 ? week : month && month.events > 0 ? month : undefined;
  if (!w) return { flowing: null, line: 'No events yet: nothing to check. Send events through Segment with the group key.' };
  const share = w.eventsWithCompany / w.events;
  const pct = formatShare(w.eventsWithCompany, w.events);
  if (share < KEY_FLOWING_MIN_SHARE) {
    return {
      flowing: false,
      line: `The group key is not flowing: only ${pct} of events in the last ${w.days} days carry a company (under ${Math.round(KEY_FLOWING_MIN_SHARE * 100)} %). Send it with every call:`,
    };
  }
  return { flowing: true, line: `The group key is flowing: ${pct} of events in the last ${w.days} days carry a company.` };
}

function coverageLine(c: KeyCoverage, what: 'events' | 'people'): string {
  const part = what === 'events' ? c.eventsWithCompany : c.peopleWithCompany;
  const whole = what === 'events' ? c.events : c.people;
  return `${c.days} days: ${formatShare(part, whole)} (${formatNumber(part)} of ${formatNumber(whole)})`;
}

function keyList(companies: { key: string; name: string | null }[], max: number): string {
  const shown = companies.slice(0, max).map((c) => (c.name ? `\`${esc(c.key, 60)}\` (${esc(c.name, 60)})` : `\`${esc(c.key, 60)}\``));
  if (companies.length > max) shown.push(`and ${formatNumber(companies.length - max)} more`);
  return shown.join(', ');
}

/** Lines packed into one section under the limit, ending with "and N more" when cut. */
function packedSection(headingLine: string, lines: string[]): { block: SectionBlock; text: string[] } {
  const kept: string[] = [];
  let length = headingLine.length + 40;
  for (const l of lines) {
    const line = clip(l, 1000);
    if (length + line.length + 1 > MAX_SECTION_TEXT) break;
    kept.push(line);
    length += line.length + 1;
  }
  if (lines.length > kept.length) kept.push(`and ${formatNumber(lines.length - kept.length)} more`);
  return { block: section([headingLine, ...kept].join('\n')), text: [headingLine.replace(/\*/g, ''), ...kept] };
}

/** `/groups key`: is the group key flowing; likely split companies. */
export function keyHealthMessage(input: KeyHealthInput): SlackMessage {
  const { health, keyPath } = input;
  const title = 'Group key health';
  const blocks: KnownBlock[] = [header(title)];
  const text = [title];

  const cov = [...health.coverage].sort((a, b) => a.days - b.days).slice(0, 5);
  if (cov.length > 0) {
    const events = `*Events with a company*\n${cov.map((c) => coverageLine(c, 'events')).join('\n')}`;
    const people = `*People with a company*\n${cov.map((c) => coverageLine(c, 'people')).join('\n')}`;
    blocks.push(fieldsSection([events, people]));
    text.push(events.replace(/\*/g, ''), people.replace(/\*/g, ''));
  }

  const verdict = keyVerdict(health);
  blocks.push(section(`${verdict.flowing === false ? '⚠️ ' : verdict.flowing ? '✅ ' : ''}${verdict.line}`));
  text.push(verdict.line);
  if (verdict.flowing !== true) {
    const snippet = `\`\`\`\n${GROUP_KEY_SNIPPET}\n\`\`\``;
    blocks.push(section(snippet));
    text.push(snippet);
    const where = keyPath
      ? `The key is read from \`context.groupId\`, from \`${esc(keyPath, 200)}\` (GROUP_KEY_PATH), from \`traits.company.id\`, or from the person's last \`group\` call.`
      : 'The key is read from `context.groupId`, from `traits.company.id`, or from the person\'s last `group` call; GROUP_KEY_PATH adds another place.';
    blocks.push(context(where));
    text.push(where);
  }

  if (health.splits.length > 0) {
    const lines = health.splits.map((s) => `• ${esc(s.reason, 60)}: ${keyList(s.companies, 8)}`);
    const p = packedSection('*Likely split companies* (one company under several keys or spellings)', lines);
    blocks.push(p.block);
    text.push(...p.text);
  } else {
    blocks.push(section('No likely split companies.'));
    text.push('No likely split companies.');
  }

  if (health.nameLikeKeys.length > 0) {
    const lines = health.nameLikeKeys.map((c) => `• ${keyList([c], 1)}`);
    const p = packedSection('*Keys that look like names, not ids* (send a stable account id as `groupId`; names go in `traits.name`)', lines);
    blocks.push(p.block);
    text.push(...p.text);
  }
  return message(text, blocks);
}

export interface HelpInput {
  unknown: string | null;
  problem: string | null;
  /** The subcommand an unknown word most likely meant. */
  suggestion?: string;
  keyActionsSet: boolean;
}

/** The subcommands, for help in Slack and in the terminal. */
export function helpEntries(keyActionsSet: boolean): [usage: string, what: string][] {
  const metric = keyActionsSet ? 'key actions' : 'events';
  return [
    ['top [range] [by METRIC] [limit N]', `companies ranked by a metric (default ${metric}, 10 companies, at most 50)`],
    ['quiet [range]', 'companies trending down that used to be active, biggest drop first'],
    ['show NAME-OR-KEY', 'one company: people, metrics, trend, 12 weeks of activity, its people'],
    ['show NAME events [range]', 'every event of the company with its count, paged'],
    ['report [range]', 'account counts: active, growing, steady, at risk, gone quiet, new, total'],
    ['key', 'is the group key flowing? likely split companies'],
    ['digest', "a preview of this week's digest"],
    ['owner NAME @person|none', 'sets or clears who owns a company (wins over the owner trait); `owner NAME` says who'],
    ['watch NAME · unwatch NAME', 'a direct message to you when the company starts to fall, or no more'],
    ['mine', 'the companies you own or watch, falling first'],
    ['help', 'this help'],
  ];
}

export function helpFootnote(keyActionsSet: boolean): string {
  const def = keyActionsSet ? 'key_actions' : 'events (set KEY_ACTIONS for key_actions)';
  return `Ranges: Nd (1 to 365) or Nw (1 to 52), default 30d. Metrics: key_actions, events, sessions, people; default ${def}. Example: /groups top 4w by sessions limit 20`;
}

/** What went wrong, as one line (not escaped), or null. */
export function helpProblem(input: { unknown: string | null; problem: string | null; suggestion?: string }): string | null {
  if (input.problem) return input.problem;
  if (input.unknown !== null) {
    const word = `I don't know “${truncate(input.unknown, MAX_NAME)}”`;
    return input.suggestion ? `${word}: did you mean \`${input.suggestion}\`?` : `${word}.`;
  }
  return null;
}

/** `/groups help`, and the answer to anything not understood. */
export function helpMessage(input: HelpInput): SlackMessage {
  const blocks: KnownBlock[] = [];
  const text: string[] = [];
  const problem = helpProblem(input);
  if (problem) {
    const line = `⚠️ ${escapeMrkdwn(truncate(problem, 1000))}`;
    blocks.push(section(line));
    text.push(line);
  }
  const entries = helpEntries(input.keyActionsSet).map(([usage, what]) => `\`/groups ${usage}\`  ${what}`);
  blocks.push(section(`*leadmaps Groups: product analytics per company*\n${entries.join('\n')}`));
  blocks.push(context(helpFootnote(input.keyActionsSet)));
  text.push('leadmaps Groups: product analytics per company', ...entries, helpFootnote(input.keyActionsSet));
  return message(text, blocks);
}

export interface DigestInput {
  /** "week of Jun 2, 2025", as the caller counts weeks (DIGEST_TZ). */
  weekLabel: string;
  /** Falling companies that used to be active, biggest drop first. */
  falling: CompanyRow[];
  /** Companies growing most, most first. */
  growing: CompanyRow[];
  counts: ReportCounts;
  metric: Metric;
  now: Date;
  maxListed?: number;
  /** The falling companies' chart: an image served at a signed URL, or a file already shared in the channel. */
  chart?: { url: string; alt: string } | { fileId: string; permalink?: string };
  /** Owners of the falling companies: each line names its owner; the ownerless go under "No owner" (src/render/digest-owners.ts). */
  owners?: Map<string, import('../domain/types.js').Owner>;
  /** The events that fell most of the listed companies (by key): a "fell most:" line under each that has some. */
  fellMost?: Map<string, EventDrop[]>;
}

/** The "fell most:" line under a company of the digest or an alert ("\n" first), or nothing. */
export function fellMostBelow(drops: readonly EventDrop[] | undefined): string {
  const line = fellMostLine(drops);
  return line === null ? '' : `\n${line}`;
}

/** The whole digest of a week with nothing falling: one line (`weekLabel` as the caller gives it, unescaped). */
export function digestAllClear(weekLabel: string): string {
  return `All clear for the ${weekLabel}: no company that used to be active is trending down.`;
}

/** One line on the good news (names passed through `escape`). */
export function growingLine(growing: CompanyRow[], escape: (s: string) => string): string {
  if (growing.length === 0) return 'No company is growing faster than usual this week.';
  const shared = sharedNames(growing.slice(0, DIGEST_GROWING_LISTED));
  const named = growing
    .slice(0, DIGEST_GROWING_LISTED)
    .map((r) => `${listedName(r, shared, escape)}${r.change === null ? ` (${trendText(r.trend)})` : ` (${formatPercent(r.change)})`}`);
  const more = growing.length > DIGEST_GROWING_LISTED ? ` and ${formatNumber(growing.length - DIGEST_GROWING_LISTED)} more` : '';
  return `Growing most: ${named.join(', ')}${more}.`;
}

/** `Accounts: 30 active · 4 growing · …`. */
export function countsLine(c: ReportCounts): string {
  return `Accounts: ${formatNumber(c.active)} active · ${formatNumber(c.growing)} growing · ${formatNumber(c.steady)} steady · ${formatNumber(c.atRisk)} at risk · ${formatNumber(c.goneQuiet)} gone quiet · ${formatNumber(c.new)} new · ${formatNumber(c.total)} in all`;
}

/** The weekly quiet-account digest (also `/groups digest`). */
export function digestMessage(input: DigestInput): SlackMessage {
  const { falling, growing, counts, metric } = input;
  const maxListed = Math.max(1, Math.min(input.maxListed ?? DIGEST_MAX_LISTED, 40));
  if (falling.length === 0) {
    // With none, the post is a one-line all-clear and nothing else.
    const line = `✅ ${escapeMrkdwn(digestAllClear(truncate(input.weekLabel, 200)))}`;
    return message([line], [section(line)]);
  }
  const title = `Weekly digest · ${input.weekLabel}`;
  const blocks: KnownBlock[] = [header(title)];
  const text = [esc(title, 300)];
  const intro = `*${formatNumber(falling.length)} ${falling.length === 1 ? 'company is' : 'companies are'} falling*. ${quietNote()}`;
  blocks.push(section(intro));
  text.push(intro);
  const shared = sharedNames(falling);
  const below = (key: string) => fellMostBelow(input.fellMost?.get(key));
  const items = input.owners
    ? fallingItemsWithOwners(falling.slice(0, maxListed), metric, input.owners, shared, below)
    : falling.slice(0, maxListed).map((row, i) => ({ line: `${fallingLine(row, metric, i + 1, shared)}${below(row.key)}`, button: showButton(row.key, i, 'Open') }));
  // the listed ones each get a section and a button; the rest are "and N more"
  const list = listBlocks(items, maxListed + 3, falling.length + items.length - Math.min(falling.length, maxListed));
  blocks.push(...list.blocks);
  text.push(...list.lines);

  if (input.chart) {
    // With PUBLIC_URL the chart is an image here; uploaded, it is the file shared just before this message.
    if ('url' in input.chart) blocks.push(chartImage(input.chart, `Weekly activity of the falling companies, ${input.weekLabel}`));
    else {
      const line = `📊 The chart of the falling companies' weekly activity is the file shared just above${/^https:\/\/[^\s|<>]+$/.test(input.chart.permalink ?? '') ? ` (<${input.chart.permalink}|open it>)` : ''}.`;
      blocks.push(context(line));
      text.push(line);
    }
  }
  blocks.push({ type: 'divider' });
  const good = `📈 ${growingLine(growing, (s) => esc(s))}`;
  blocks.push(section(good));
  text.push(good);
  const cl = countsLine(counts);
  blocks.push(context(cl));
  text.push(cl);
  return message(text, blocks);
}
