/**
 * `show NAME events [range]`: every event of one company with its count over the range, as a
 * Slack message (one page, with Previous / Next buttons) and as terminal text (the whole list).
 * Pure: the page state in the buttons is signed by the caller and handed in as strings.
 *
 * Slack's limits hold for any names: EVENT_LIST_PAGE_SIZE lines a page, each name cut to
 * MAX_EVENT_NAME before escaping (so a line is at most ~420 characters even when every
 * character is `&`), packed into sections under 2,900 characters: at most 8 sections, 13 blocks.
 */
import type { Button, KnownBlock } from '@slack/types';
import type { Range, SlackMessage } from '../domain/types.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS, OTHER_EVENTS_LABEL } from '../ingest/event-names.js';
import { encodeEventsAction } from './action-ids.js';
import { companyName, context, esc, header, listBlocks, MAX_BLOCKS, MAX_NAME, MAX_SECTION_TEXT, rangeText, section } from './blocks.js';
import { escapeMrkdwn, formatNumber, matchesIntro } from './format.js';
import { clean, table } from './terminal.js';

/** Event names a Slack page lists. */
export const EVENT_LIST_PAGE_SIZE = 40;
/** Event names are cut to this many characters before escaping. */
export const MAX_EVENT_NAME = 80;

export interface EventListEntry {
  name: string;
  count: number;
}

export interface EventListInput {
  company: { key: string; name: string | null };
  range: Range;
  /** The entries shown: one page in Slack, all in the terminal; "other events" (if any) last of the whole list. */
  rows: EventListEntry[];
  /** Where `rows` start in the whole list (0-based). */
  offset: number;
  /** Distinct names in the range, "other events" left out. */
  names: number;
  /** Events under "other events" in the range. */
  other: number;
  /** Every event in the range. */
  total: number;
  /** Signed page states for Previous and Next; null where there is no such page or no button fits. */
  previous: string | null;
  next: string | null;
  /** True when there are more pages but no button could carry the state (a key over Slack's 2,000 characters). */
  noButtons?: boolean;
}

/** Entries in the whole list: the names, plus "other events" when it counted anything. */
export function listLength(input: Pick<EventListInput, 'names' | 'other'>): number {
  return input.names + (input.other > 0 ? 1 : 0);
}

const isOther = (e: EventListEntry, index: number, input: EventListInput) => e.name === OTHER_EVENTS && input.offset + index === listLength(input) - 1 && input.other > 0;

const OTHER_NOTE = `“${OTHER_EVENTS_LABEL}”: this company sends over ${formatNumber(EVENT_NAMES_PER_COMPANY)} distinct event names; the names past the first ${formatNumber(EVENT_NAMES_PER_COMPANY)} are counted together there.`;

/** `183 events`, or `200 events and “other events”` when names past the bound were counted together. */
function namesText(input: Pick<EventListInput, 'names' | 'other'>): string {
  return `${formatNumber(input.names)} ${input.names === 1 ? 'event' : 'events'}${input.other > 0 ? ` and “${OTHER_EVENTS_LABEL}”` : ''}`;
}

/** `page 2 of 5 · 183 events · 12,345 in all`. */
function pageLine(input: EventListInput, pageSize: number): string {
  const pages = Math.max(1, Math.ceil(listLength(input) / pageSize));
  const page = Math.min(pages, Math.floor(input.offset / pageSize) + 1);
  return `page ${formatNumber(page)} of ${formatNumber(pages)} · ${namesText(input)} · ${formatNumber(input.total)} in all`;
}

function lines(input: EventListInput, name: (s: string) => string, otherName: string): string[] {
  return input.rows.map((e, i) => (isOther(e, i, input) ? `${otherName} · ${formatNumber(e.count)}` : `${input.offset + i + 1}. ${name(e.name)} · ${formatNumber(e.count)}`));
}

function button(text: string, value: string, index: number): Button {
  return { type: 'button', text: { type: 'plain_text', text }, action_id: encodeEventsAction(index), value };
}

/** One page of the list as a Slack message: header, the page line, the events, the buttons. */
export function eventListMessage(input: EventListInput, pageSize = EVENT_LIST_PAGE_SIZE): SlackMessage {
  const name = companyName(input.company);
  const title = `Events · ${name}`;
  const sub = `Key \`${esc(input.company.key)}\` · ${rangeText(input.range)} · ${pageLine(input, pageSize)}`;
  const blocks: KnownBlock[] = [header(title), context(sub)];
  const text: string[] = [`*Events · ${esc(name)}*`, sub];

  if (listLength(input) === 0) {
    const none = `No events in the ${rangeText(input.range)}.`;
    blocks.push(section(none));
    text.push(none);
  } else {
    // Sections packed under Slack's limit: a line is never over ~420 characters, so every line fits.
    let packed: string[] = [];
    let length = 0;
    const flush = () => {
      if (packed.length > 0) blocks.push(section(packed.join('\n')));
      packed = [];
      length = 0;
    };
    for (const line of lines(input, (s) => esc(s, MAX_EVENT_NAME), `_${escapeMrkdwn(OTHER_EVENTS_LABEL)}_`)) {
      if (length + line.length + 1 > MAX_SECTION_TEXT) flush();
      packed.push(line);
      length += line.length + 1;
      text.push(line.replace(/^_(.*)_( · [\d,]+)$/, '$1$2'));
    }
    flush();
    if (input.rows.some((e, i) => isOther(e, i, input))) {
      blocks.push(context(escapeMrkdwn(OTHER_NOTE)));
      text.push(escapeMrkdwn(OTHER_NOTE));
    }
  }

  const buttons: Button[] = [];
  if (input.previous) buttons.push(button('← Previous', input.previous, 0));
  if (input.next) buttons.push(button('Next →', input.next, 1));
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  if (input.noButtons) {
    const hint = 'This company’s key is too long for page buttons: `npm run groups -- show KEY events` prints the whole list.';
    blocks.push(context(hint));
    text.push(hint);
  }
  return { text: text.join('\n'), blocks: blocks.slice(0, MAX_BLOCKS) };
}

/** The whole list as terminal text: names cleaned of control characters, not escaped. */
export function eventListText(input: EventListInput): string {
  const name = companyName(input.company);
  const out = [clean(name, 200), `Key ${clean(input.company.key, 200)} · ${rangeText(input.range)} · ${namesText(input)} · ${formatNumber(input.total)} in all`, ''];
  if (listLength(input) === 0) out.push(`No events in the ${rangeText(input.range)}.`);
  else {
    const rows = input.rows.map((e, i) => isOther(e, i, input) ? ['', OTHER_EVENTS_LABEL, formatNumber(e.count)] : [String(input.offset + i + 1), clean(e.name, MAX_EVENT_NAME), formatNumber(e.count)]);
    out.push(table(['#', 'Event', 'Count'], rows, 'rlr'));
    const left = listLength(input) - input.offset - input.rows.length;
    if (left > 0) out.push(`and ${formatNumber(left)} more`);
    if (input.rows.some((e, i) => isOther(e, i, input))) out.push('', OTHER_NOTE);
  }
  return `${out.join('\n')}\n`;
}

/** What a choice offers: a company and the signed state of its list's first page (null: no button fits). */
export interface EventChoice {
  key: string;
  name: string | null;
  first: string | null;
}

function choiceLine(m: { key: string; name: string | null }): string {
  return m.name !== null && m.name.trim() !== '' ? `*${esc(m.name)}* · key \`${esc(m.key)}\`` : `key \`${esc(m.key)}\``;
}

/** Several companies match: the choices, each with an Events button that opens its list. */
export function eventChoicesMessage(input: { query: string; matches: EventChoice[]; more?: boolean }): SlackMessage {
  const intro = `${matchesIntro(input.matches.length, input.more, esc(input.query))} Pick one:`;
  const hint = 'Or type `/groups show KEY events` with one of the keys above.';
  const list = listBlocks(
    input.matches.map((m, i) => ({ line: choiceLine(m), button: m.first ? button('Events', m.first, i) : undefined })),
    MAX_BLOCKS - 2,
  );
  return { text: [intro, ...list.lines, hint].join('\n'), blocks: [section(intro), ...list.blocks, context(hint)] };
}

/** No company matches: says so, with the closest names and their Events buttons. */
export function eventNoMatchMessage(input: { query: string; suggestions: EventChoice[] }): SlackMessage {
  const none = `No company matches “${esc(input.query)}”.`;
  if (input.suggestions.length === 0) {
    const hint = 'Try `/groups top` to see the most active companies.';
    return { text: [none, hint].join('\n'), blocks: [section(none), context(hint)] };
  }
  const shown = input.suggestions.slice(0, 10);
  const list = listBlocks(
    shown.map((m, i) => ({ line: choiceLine(m), button: m.first ? button('Events', m.first, i) : undefined })),
    MAX_BLOCKS - 2,
  );
  return { text: [none, 'Closest names:', ...list.lines].join('\n'), blocks: [section(`${none} Closest names:`), ...list.blocks] };
}

export function eventChoicesText(input: { query: string; matches: EventChoice[]; more?: boolean }): string {
  return `${matchesIntro(input.matches.length, input.more, clean(input.query, 200))} Pick one with: show KEY events\n\n${table(['Company', 'Key'], input.matches.map((m) => [clean(m.name ?? ''), clean(m.key, 200)]), 'll')}\n`;
}

export function eventNoMatchText(input: { query: string; suggestions: EventChoice[] }): string {
  const none = `No company matches “${clean(input.query, 200)}”.`;
  if (input.suggestions.length === 0) return `${none}\nTry \`top\` to see the most active companies.\n`;
  return `${none}\nClosest names:\n\n${table(['Company', 'Key'], input.suggestions.slice(0, 10).map((m) => [clean(m.name ?? ''), clean(m.key, 200)]), 'll')}\n`;
}

/** A page button whose value this app did not make (or signed with a secret since changed). */
export function forgedPageMessage(): SlackMessage {
  const line = '⚠️ This page button could not be checked: it was not made by this app, or the app’s signing secret has changed since. Type `/groups show NAME events` again.';
  return { text: line, blocks: [section(line)] };
}

/** A page button of a list made too long ago (or, by a clock, in the future). */
export function stalePageMessage(input: { key?: string; range?: Range; ttlHours: number }): SlackMessage {
  const again = input.key !== undefined ? `\`/groups show ${esc(input.key, MAX_NAME)} events${input.range ? ` ${input.range.label}` : ''}\`` : '`/groups show NAME events`';
  const line = `⚠️ This list is over ${formatNumber(input.ttlHours)} hours old, so its page buttons no longer work. Type ${again} again for today’s counts.`;
  return { text: line, blocks: [section(line)] };
}
