/**
 * The Groups page, as the App Home tab: a list view (companies ranked by activity,
 * going quiet, group-key warning) and a detail view (one company). Pure functions
 * of their inputs, like the message builders, whose pieces they reuse.
 *
 * Rules kept here, as in blocks.ts:
 * - every piece of data goes through `esc` (`&`, `<`, `>`), every mrkdwn text is
 *   `verbatim: true` (the builders `section` and `context` see to both);
 * - a Home view holds at most 100 blocks and 250 KB: more companies than fit get
 *   pages (Previous / Next, action kind `page`);
 * - the view's state (range, metric, page, which company) travels in
 *   `private_metadata` as JSON and is validated with zod on the way back.
 */
import type { ActionsBlock, Button, HomeView, KnownBlock, PlainTextOption, StaticSelect } from '@slack/types';
import { z } from 'zod';
import { parseRange } from '../domain/command.js';
import { BASELINE_DAYS, RECENT_DAYS } from '../domain/trend.js';
import { METRICS, type CompanyDetail, type CompanyRow, type Metric, type Range } from '../domain/types.js';
import { encodeAction, MAX_ACTION_VALUE } from './action-ids.js';
import {
  companyRowBlocks,
  context,
  esc,
  fallingLine,
  GROUP_KEY_SNIPPET,
  header,
  listBlocks,
  MAX_BUTTON_TEXT,
  rangeText,
  section,
  showButton,
  showMessage,
} from './blocks.js';
import { formatNumber, formatShare, metricLabel, truncate } from './format.js';

// ---------------------------------------------------------------------------
// Limits and defaults

/** Slack: at most 100 blocks in a Home view. */
export const HOME_MAX_BLOCKS = 100;
/** Slack: a Home view up to 250 KB (counted here as 250,000 bytes of JSON, to be safe). */
export const HOME_MAX_BYTES = 250_000;
/** Slack: `private_metadata` up to 3,000 characters. */
export const MAX_PRIVATE_METADATA = 3000;
/** Companies on one page of the list. */
export const HOME_PAGE_SIZE = 25;
/** Blocks the list view may use besides the company rows (header, note, controls, warning, pager, quiet list, footer). */
const HOME_FIXED_BLOCKS = 24;
/** The largest page that always fits. */
export const HOME_MAX_PAGE_SIZE = HOME_MAX_BLOCKS - HOME_FIXED_BLOCKS;
/** Falling companies listed under "Going quiet" before "and N more". */
export const HOME_QUIET_LISTED = 10;
/** Under this share of the last 7 days' events with a company, the list warns about the group key. */
export const HOME_KEY_MIN_SHARE = 0.9;
/** People listed in the detail view before "and N more" (as many as `companyDetail` reads). */
export const HOME_PEOPLE_LISTED = 50;
/** The ranges the selector offers. */
export const HOME_RANGES: readonly Range[] = [
  { days: 7, label: '7d' },
  { days: 30, label: '30d' },
  { days: 90, label: '90d' },
];
export const HOME_DEFAULT_RANGE: Range = HOME_RANGES[1];
/** Action ids of the "Going quiet" Details buttons start here, clear of the ranked list's. */
const QUIET_BUTTON_BASE = 900_000;

// ---------------------------------------------------------------------------
// The view's state, in private_metadata

export interface HomeState {
  view: 'list' | 'detail';
  range: Range;
  metric: Metric;
  /** Page of the list, from 1 (in a detail view: the page to go back to). */
  page: number;
  /** The company shown (detail view). */
  key?: string;
}

export function defaultHomeState(metric: Metric): HomeState {
  return { view: 'list', range: HOME_DEFAULT_RANGE, metric, page: 1 };
}

const stateSchema = z.object({
  v: z.literal(1),
  view: z.enum(['list', 'detail']),
  range: z.string().max(16),
  metric: z.enum(METRICS as [Metric, ...Metric[]]),
  page: z.number().int().min(1).max(999_999),
  key: z.string().min(1).max(MAX_ACTION_VALUE).optional(),
});

/**
 * The state as `private_metadata`. A company key too long to fit is left out, and the
 * state is then the list's (Back and the selectors lead to the list).
 */
export function encodeHomeState(state: HomeState): string {
  const base = { v: 1 as const, view: state.view, range: state.range.label, metric: state.metric, page: state.page };
  const full = JSON.stringify(state.key === undefined ? base : { ...base, key: state.key });
  return full.length <= MAX_PRIVATE_METADATA ? full : JSON.stringify({ ...base, view: 'list' });
}

/** The state back from `private_metadata`; null for a missing, stale or garbled one. */
export function parseHomeState(raw: unknown): HomeState | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PRIVATE_METADATA) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const s = stateSchema.safeParse(json);
  if (!s.success) return null;
  const r = parseRange(s.data.range);
  if (!r || !r.ok) return null;
  if (s.data.view === 'detail' && s.data.key === undefined) return null;
  const state: HomeState = { view: s.data.view, range: r.range, metric: s.data.metric, page: s.data.page };
  if (s.data.key !== undefined) state.key = s.data.key;
  return state;
}

// ---------------------------------------------------------------------------
// Controls

const METRIC_TEXT: Record<Metric, string> = {
  key_actions: 'By key actions',
  events: 'By events',
  sessions: 'By sessions',
  people: 'By people',
};

function option(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text: truncate(text, MAX_BUTTON_TEXT) }, value };
}

function rangeOption(range: Range): PlainTextOption {
  const r = rangeText(range);
  return option(r.charAt(0).toUpperCase() + r.slice(1), range.label);
}

/** The range selector: 7, 30, 90 days (and the current range, if it is another). */
export function rangeSelect(range: Range): StaticSelect {
  const ranges = HOME_RANGES.some((r) => r.label === range.label) ? HOME_RANGES : [...HOME_RANGES, range];
  const options = ranges.map(rangeOption);
  return {
    type: 'static_select',
    action_id: encodeAction('range'),
    placeholder: { type: 'plain_text', text: 'Range' },
    options,
    initial_option: options.find((o) => o.value === range.label),
  };
}

/** The metric selector; key actions only when KEY_ACTIONS is set (or already chosen). */
export function metricSelect(metric: Metric, keyActionsSet: boolean): StaticSelect {
  const options = METRICS.filter((m) => m !== 'key_actions' || keyActionsSet || metric === 'key_actions').map((m) => option(METRIC_TEXT[m], m));
  return {
    type: 'static_select',
    action_id: encodeAction('metric'),
    placeholder: { type: 'plain_text', text: 'Metric' },
    options,
    initial_option: options.find((o) => o.value === metric),
  };
}

function button(text: string, actionId: string, value: string, style?: 'primary'): Button {
  const b: Button = { type: 'button', text: { type: 'plain_text', text: truncate(text, MAX_BUTTON_TEXT) }, action_id: actionId, value };
  if (style) b.style = style;
  return b;
}

export const BACK_TEXT = '← Back to all companies';

function backButton(index: number): Button {
  return button(BACK_TEXT, encodeAction('back', index), 'home');
}

function actions(elements: ActionsBlock['elements']): ActionsBlock {
  return { type: 'actions', elements };
}

/** A view's size as Slack counts it: the bytes of its JSON. */
export function viewBytes(view: HomeView): number {
  return Buffer.byteLength(JSON.stringify(view), 'utf8');
}

// ---------------------------------------------------------------------------
// List view

export interface HomeListInput {
  /** Every company with activity in the range, ranked by the metric (rankByActivity). */
  rows: CompanyRow[];
  /** Falling companies that used to be active, biggest drop first (quietRows). */
  quiet: CompanyRow[];
  range: Range;
  metric: Metric;
  /** From 1; out of range is brought into range. */
  page: number;
  pageSize?: number;
  /** Share of the last 7 days' events that carry a company; null with no events. */
  coverage: number | null;
  keyActionsSet: boolean;
  now: Date;
  /** A short line above the list (plain text, escaped here), e.g. why this is the list again. */
  note?: string;
}

export interface HomeListView extends HomeView {
  type: 'home';
  blocks: KnownBlock[];
  private_metadata: string;
}

/** Pages of the list for this many companies. */
export function pageCount(companies: number, pageSize: number): number {
  return Math.max(1, Math.ceil(companies / Math.max(1, pageSize)));
}

function keyWarning(coverage: number | null, hasRows: boolean): KnownBlock[] {
  const snippet = section(`\`\`\`\n${GROUP_KEY_SNIPPET}\n\`\`\``);
  const more = context('`/groups key` shows the share of events and people with a company, and likely split companies.');
  if (coverage === null) {
    if (hasRows) return [];
    return [section('No events in the last 7 days. Send events through Segment with the group key, so that people are tied into companies:'), snippet, more];
  }
  if (coverage >= HOME_KEY_MIN_SHARE) return [];
  const pct = formatShare(Math.round(coverage * 10_000), 10_000);
  return [
    section(
      `⚠️ *The group key is missing from part of your traffic*: ${pct} of events in the last 7 days carry a company (under ${Math.round(HOME_KEY_MIN_SHARE * 100)} %), so the rest counts for no company. Send a stable account id as \`groupId\` with every call:`,
    ),
    snippet,
    more,
  ];
}

function listBlocksFor(input: HomeListInput, pageSize: number): { blocks: KnownBlock[]; page: number } {
  const { rows, quiet, range, metric } = input;
  const pages = pageCount(rows.length, pageSize);
  const page = Math.min(Math.max(1, Math.floor(input.page) || 1), pages);
  const blocks: KnownBlock[] = [header('Groups')];
  if (input.note) blocks.push(section(`⚠️ ${esc(input.note, 300)}`));
  blocks.push(actions([rangeSelect(range), metricSelect(metric, input.keyActionsSet)]));
  blocks.push(...keyWarning(input.coverage, rows.length > 0));

  const by = metricLabel(metric, 2);
  if (rows.length === 0) {
    blocks.push(section(`*Most active companies*\nNo company has any activity in the ${rangeText(range)}.`));
  } else {
    const first = (page - 1) * pageSize;
    const shown = rows.slice(first, first + pageSize);
    const where = pages > 1 ? `${formatNumber(first + 1)}–${formatNumber(first + shown.length)} of ${formatNumber(rows.length)}` : `${formatNumber(rows.length)}`;
    blocks.push(section(`*Most active companies* · ${rangeText(range)} · by ${by}`));
    blocks.push(context(`${where} active ${rows.length === 1 ? 'company' : 'companies'}, most active first. Trend: the last ${RECENT_DAYS} days against each company's own ${BASELINE_DAYS} days before.`));
    blocks.push(...companyRowBlocks(shown, metric, shown.length, first).blocks);
    if (pages > 1) {
      const pager: Button[] = [];
      if (page > 1) pager.push(button('← Previous', encodeAction('page', 0), String(page - 1)));
      if (page < pages) pager.push(button('Next →', encodeAction('page', 1), String(page + 1)));
      blocks.push(context(`Page ${formatNumber(page)} of ${formatNumber(pages)}`));
      blocks.push(actions(pager));
    }
  }

  blocks.push({ type: 'divider' });
  if (quiet.length === 0) {
    blocks.push(section('*Going quiet*\n✅ All clear: no company that used to be active is trending down.'));
  } else {
    blocks.push(section(`*Going quiet* · ${formatNumber(quiet.length)} ${quiet.length === 1 ? 'company' : 'companies'} trending down after being active, most unusual drop first`));
    const items = quiet
      .slice(0, HOME_QUIET_LISTED)
      .map((row, i) => ({ line: fallingLine(row, metric, i + 1), button: showButton(row.key, QUIET_BUTTON_BASE + i) }));
    blocks.push(...listBlocks(items, items.length + (quiet.length > items.length ? 2 : 0), quiet.length).blocks);
  }
  blocks.push(context(`Updated ${input.now.toISOString().slice(0, 16).replace('T', ' ')} UTC · the same figures anywhere in Slack: \`/groups top\`, \`/groups quiet\`, \`/groups show NAME\``));
  return { blocks: blocks.slice(0, HOME_MAX_BLOCKS), page };
}

/** The Groups page: companies ranked by activity, going quiet, the group-key warning. */
export function homeListView(input: HomeListInput): HomeListView {
  let pageSize = Math.min(Math.max(1, Math.floor(input.pageSize ?? HOME_PAGE_SIZE) || HOME_PAGE_SIZE), HOME_MAX_PAGE_SIZE);
  for (;;) {
    const { blocks, page } = listBlocksFor(input, pageSize);
    const view: HomeListView = {
      type: 'home',
      blocks,
      private_metadata: encodeHomeState({ view: 'list', range: input.range, metric: input.metric, page }),
    };
    // Only absurd data (thousands of characters per key) comes near 250 KB: fewer rows a page then.
    if (viewBytes(view) <= HOME_MAX_BYTES || pageSize === 1) return view;
    pageSize = Math.max(1, Math.floor(pageSize / 2));
  }
}

// ---------------------------------------------------------------------------
// Detail view

export interface HomeDetailInput {
  detail: CompanyDetail;
  metric: Metric;
  range: Range;
  now: Date;
  /** The list to go back to (its page). */
  back: HomeState;
  keyActionsSet?: boolean;
}

/** One company: its people ranked by activity, weekly line, metrics, trend, traits; Back to all companies. */
export function homeDetailView(input: HomeDetailInput): HomeListView {
  const { detail, metric, range, now } = input;
  const keyActionsSet = input.keyActionsSet ?? true;
  // The message of `/groups show`, with more people; no Back of its own (the view's Back goes to the list).
  const shown = showMessage({ detail, metric, range, now, keyActionsSet, maxPeople: HOME_PEOPLE_LISTED }).blocks;
  const [title, ...rest] = shown;
  const blocks: KnownBlock[] = [
    title,
    actions([backButton(0), rangeSelect(range), metricSelect(metric, keyActionsSet)]),
    ...rest,
    { type: 'divider' },
    actions([backButton(1)]),
  ];
  return {
    type: 'home',
    blocks: blocks.slice(0, HOME_MAX_BLOCKS),
    private_metadata: encodeHomeState({ view: 'detail', range, metric, page: Math.max(1, input.back.page), key: detail.key }),
  };
}
