/**
 * The text of `/groups ...` (and of `npm run groups -- ...`) turned into a command.
 *
 * Strict about meaning, forgiving about form: case, extra spaces and tabs, the order
 * of `top`'s options and spellings such as `key-actions` or `4 weeks` do not matter;
 * a word that means nothing here, a range out of bounds or two ranges at once give
 * the help with the word or the problem named. Never throws.
 *
 * The text arrives as the user typed it (Slack's `&amp;` entities already decoded by
 * the transport); problems are plain text, escaped by whoever renders them.
 */
import { editDistance } from './edit-distance.js';
import type { GroupsCommand, Metric, Range } from './types.js';
import { parseOwnerCommand } from './owner-command.js';

export const DEFAULT_RANGE: Range = { days: 30, label: '30d' };
export const MAX_RANGE_DAYS = 365;
export const MAX_RANGE_WEEKS = 52;
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 50;
/** Every subcommand, in the order a tie in `nearestSubcommand` is settled. */
export const SUBCOMMANDS = ['top', 'quiet', 'show', 'report', 'key', 'digest', 'help'] as const;

/**
 * The subcommand a mistyped word most likely meant: the nearest by edit distance (a
 * swap of two neighbours is one edit), within 1 edit for a word of up to 4 letters and
 * 2 beyond, so `tpo`, `shwo`, `qiuet`, `reprot` find theirs and a company name typed
 * without `show` (`acme`) finds none. Null when nothing is that near.
 */
export function nearestSubcommand(word: string): string | null {
  const w = word.toLowerCase();
  if (w.length === 0 || w.length > 12) return null;
  const max = w.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = max + 1;
  for (const sub of SUBCOMMANDS) {
    const d = editDistance(w, sub, max);
    if (d < bestDistance) {
      best = sub;
      bestDistance = d;
    }
  }
  return best;
}

/** Longest word quoted back to the user. */
const MAX_QUOTED = 60;

type RangeResult = { ok: true; range: Range } | { ok: false; problem: string };

const DAY_UNITS = new Set(['d', 'day', 'days']);
const WEEK_UNITS = new Set(['w', 'wk', 'wks', 'week', 'weeks']);

function quote(word: string): string {
  const short = word.length > MAX_QUOTED ? `${word.slice(0, MAX_QUOTED - 1)}…` : word;
  return `“${short}”`;
}

/** A range from a number and a unit word; null when the unit is not one. */
function rangeFrom(numText: string, unitText: string, written: string): RangeResult | null {
  const unit = unitText.toLowerCase();
  const isDays = DAY_UNITS.has(unit);
  if (!isDays && !WEEK_UNITS.has(unit)) return null;
  const n = Number(numText);
  if (isDays) {
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RANGE_DAYS) {
      return { ok: false, problem: `The range ${quote(written)} is out of bounds: use 1d to ${MAX_RANGE_DAYS}d, or 1w to ${MAX_RANGE_WEEKS}w.` };
    }
    return { ok: true, range: { days: n, label: `${n}d` } };
  }
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RANGE_WEEKS) {
    return { ok: false, problem: `The range ${quote(written)} is out of bounds: use 1w to ${MAX_RANGE_WEEKS}w, or 1d to ${MAX_RANGE_DAYS}d.` };
  }
  return { ok: true, range: { days: n * 7, label: `${n}w` } };
}

/**
 * A range written as one word (`30d`, `4w`, `30days`, `2weeks`). Null when the word
 * is not shaped like a range at all; a problem when it is but is out of bounds.
 */
export function parseRange(word: string): RangeResult | null {
  const m = /^(\d+)([a-z]+)$/i.exec(word.trim());
  if (!m) return null;
  return rangeFrom(m[1], m[2], word.trim());
}

/** `key_actions`, `key-actions`, `KeyActions`, `key actions`, `event`... -> a metric. */
export function parseMetric(words: string): Metric | null {
  const w = words.toLowerCase().replace(/[\s_\-.]+/g, '');
  switch (w) {
    case 'keyactions':
    case 'keyaction':
    case 'actions':
      return 'key_actions';
    case 'events':
    case 'event':
      return 'events';
    case 'sessions':
    case 'session':
      return 'sessions';
    case 'people':
    case 'person':
    case 'users':
    case 'user':
      return 'people';
    default:
      return null;
  }
}

const NO_KEY_ACTIONS =
  'Key actions are not set up: set KEY_ACTIONS to a comma-separated list of event names, or rank `by events`.';

function help(unknown: string | null, problem: string | null, suggestion?: string | null): GroupsCommand {
  const cmd: GroupsCommand = { kind: 'help', unknown: unknown === null ? null : truncateWord(unknown), problem };
  return suggestion ? { ...cmd, suggestion } : cmd;
}

function truncateWord(w: string): string {
  return w.length > 200 ? `${w.slice(0, 199)}…` : w;
}

function isNumber(w: string): boolean {
  return /^[+-]?\d+$/.test(w);
}

/** Reads `[range]` or `[range] [by METRIC] [limit N]` from `words`. */
function parseOptions(
  sub: 'top' | 'quiet' | 'report',
  words: string[],
  opts: { keyActionsSet: boolean },
): GroupsCommand {
  const allowMetric = sub === 'top';
  let range: Range | null = null;
  let metric: Metric | null = null;
  let limit: number | null = null;

  const setRange = (r: RangeResult): GroupsCommand | null => {
    if (!r.ok) return help(null, r.problem);
    if (range) {
      // the same range twice ("7d 1w") means one thing; two ranges do not
      if (range.days !== r.range.days) return help(null, `Give one range, not both ${range.label} and ${r.range.label}.`);
      return null;
    }
    range = r.range;
    return null;
  };
  const setMetric = (m: Metric, written: string): GroupsCommand | null => {
    if (m === 'key_actions' && !opts.keyActionsSet) return help(null, NO_KEY_ACTIONS);
    if (metric && metric !== m) return help(null, `Rank by one metric, not both ${metric.replace('_', ' ')} and ${quote(written)}.`);
    metric = m;
    return null;
  };
  const usage =
    sub === 'top'
      ? '`top` takes a range (30d, 4w), `by` a metric (key_actions, events, sessions, people) and `limit N`'
      : `\`${sub}\` takes only a range (30d, 4w)`;

  let i = 0;
  while (i < words.length) {
    const word = words[i];
    const lower = word.toLowerCase();
    let err: GroupsCommand | null = null;

    const oneWordRange = parseRange(word);
    if (oneWordRange) {
      err = setRange(oneWordRange);
      i += 1;
    } else if (isNumber(word) && i + 1 < words.length && rangeFrom(word, words[i + 1], `${word} ${words[i + 1]}`)) {
      // "30 days", "4 weeks"
      err = setRange(rangeFrom(word, words[i + 1], `${word} ${words[i + 1]}`)!);
      i += 2;
    } else if (allowMetric && (lower === 'by' || lower.startsWith('by='))) {
      let rest = lower === 'by' ? (words[i + 1] ?? '') : word.slice(3);
      let used = lower === 'by' ? 2 : 1;
      if (rest === '') return help(null, '`by` needs a metric: key_actions, events, sessions or people.');
      let m = parseMetric(rest);
      // "by key actions": the metric in two words
      if (!m && i + used < words.length && parseMetric(`${rest} ${words[i + used]}`)) {
        rest = `${rest} ${words[i + used]}`;
        m = parseMetric(rest);
        used += 1;
      }
      if (!m) return help(rest, `${quote(rest)} is not a metric: use key_actions, events, sessions or people.`);
      err = setMetric(m, rest);
      i += used;
    } else if (allowMetric && (lower === 'limit' || lower.startsWith('limit='))) {
      const value = lower === 'limit' ? words[i + 1] : word.slice(6);
      const used = lower === 'limit' ? 2 : 1;
      if (value === undefined || value === '') return help(null, '`limit` needs a number from 1 to 50.');
      if (!isNumber(value)) return help(value, `The limit ${quote(value)} is not a whole number: use 1 to ${MAX_LIMIT}.`);
      const n = Number(value);
      if (n < 1) return help(null, `The limit must be at least 1 (at most ${MAX_LIMIT}), not ${value}.`);
      if (limit !== null && limit !== Math.min(n, MAX_LIMIT)) return help(null, 'Give one limit, not two.');
      limit = Math.min(n, MAX_LIMIT); // over 50: the most a reply shows
      i += used;
    } else if (allowMetric && parseMetric(word)) {
      // "top sessions": a metric without `by` still means only one thing
      err = setMetric(parseMetric(word)!, word);
      i += 1;
    } else if (allowMetric && i + 1 < words.length && lower === 'key' && parseMetric(`key ${words[i + 1]}`)) {
      err = setMetric('key_actions', `${word} ${words[i + 1]}`);
      i += 2;
    } else if (isNumber(word)) {
      const hint = allowMetric ? ` for a range, or \`limit ${word}\` for the number of companies` : ' for a range';
      return help(word, `${quote(word)} needs a unit: ${word}d or ${word}w${hint}.`);
    } else {
      return help(word, `${usage}; ${quote(word)} is none of these.`);
    }
    if (err) return err;
  }

  const r: Range = range ?? DEFAULT_RANGE;
  if (sub === 'top') return { kind: 'top', range: r, metric, limit: limit ?? DEFAULT_LIMIT };
  if (sub === 'quiet') return { kind: 'quiet', range: r };
  return { kind: 'report', range: r };
}

/** A name wrapped in double quotes (straight or curly), taken as written; null when not quoted. */
function unquoted(text: string): string | null {
  const m = /^["“”](.*)["“”]$/su.exec(text);
  return m ? m[1].trim() : null;
}

const SHOW_USAGE = '`show` needs a company name or key, for example `show Acme`, or `show Acme events 90d` for its events.';

/**
 * `show NAME-OR-KEY` or `show NAME events [range]`. The list is asked for by the word `events`
 * after a name, alone or followed by a range (`90d`, `4w`, `4 weeks`); anything else after it
 * keeps the whole text a name. A company whose name ends in "events" is reached by its key, or
 * quoted: `show "Acme events"` opens it, `show "Acme events" events` (or `show Acme events events`)
 * lists its events.
 */
function parseShow(words: string[]): GroupsCommand {
  const whole = words.join(' ');
  if (whole === '') return help(null, SHOW_USAGE);
  const plain = (): GroupsCommand => {
    const query = unquoted(whole) ?? whole;
    return query === '' ? help(null, SHOW_USAGE) : { kind: 'show', query, range: DEFAULT_RANGE };
  };
  const isEvents = (w: string | undefined) => w !== undefined && w.toLowerCase() === 'events';
  const n = words.length;
  let at = -1;
  let range: Range = DEFAULT_RANGE;
  if (n >= 2 && isEvents(words[n - 1])) at = n - 1;
  else if (n >= 3 && isEvents(words[n - 2])) {
    const word = words[n - 1];
    const r = parseRange(word);
    if (r && !r.ok) return help(null, r.problem);
    if (r && r.ok) range = r.range;
    else if (isNumber(word)) return help(word, `${quote(word)} needs a unit: ${word}d or ${word}w, for example \`show NAME events ${word}d\`.`);
    else if (/^\d/.test(word)) return help(word, `${quote(word)} is not a range: use Nd (1 to ${MAX_RANGE_DAYS}) or Nw (1 to ${MAX_RANGE_WEEKS}), for example \`show NAME events 90d\`.`);
    else return plain();
    at = n - 2;
  } else if (n >= 4 && isEvents(words[n - 3]) && isNumber(words[n - 2])) {
    const r = rangeFrom(words[n - 2], words[n - 1], `${words[n - 2]} ${words[n - 1]}`);
    if (!r) return plain();
    if (!r.ok) return help(null, r.problem);
    range = r.range;
    at = n - 3;
  }
  if (at < 0) return plain();
  const written = words.slice(0, at).join(' ');
  const query = unquoted(written) ?? written;
  if (query === '') return help(null, '`show NAME events` needs a company name or key before `events`, for example `show Acme events 90d`.');
  return { kind: 'events', query, range };
}

/** Parses the text after `/groups`. Never throws: anything it cannot read is the help. */
export function parseGroupsCommand(text: string, opts: { keyActionsSet: boolean }): GroupsCommand {
  try {
    const trimmed = (typeof text === 'string' ? text : '').trim();
    if (trimmed === '') return help(null, null);
    const words = trimmed.split(/\s+/u);
    const first = words[0];
    const sub = first.toLowerCase().replace(/^\//, '');
    const rest = words.slice(1);

    switch (sub) {
      case 'help':
      case '?':
      case '-h':
      case '--help':
        return help(null, null);
      case 'top':
      case 'quiet':
      case 'report':
        return parseOptions(sub, rest, opts);
      case 'show':
        return parseShow(rest);
      case 'key':
      case 'digest':
        if (rest.length > 0) return help(rest[0], `\`${sub}\` takes nothing more; ${quote(rest[0])} is not needed.`);
        return { kind: sub };
      case 'owner':
      case 'watch':
      case 'unwatch':
      case 'mine':
        return parseOwnerCommand(sub, rest);
      default:
        return help(first, null, nearestSubcommand(sub));
    }
  } catch {
    return help(null, null);
  }
}
