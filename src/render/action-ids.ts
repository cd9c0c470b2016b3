/**
 * Button action ids: encoded here, parsed here, nowhere else.
 *
 * Slack wants every `action_id` unique within a message, and caps it at 255
 * characters; a button's `value` takes up to 2,000. So the id says only what the
 * button does plus a position (`groups:show:3`), and the data (a company key, a range
 * label, a metric, a page number) travels in `value`. Listeners match the kind with
 * the regular expression `ACTION_ID_PATTERN` and call `parseAction` on what Slack sends back.
 * A select menu (App Home's range and metric) carries the same data in its options'
 * values; Slack sends the choice back as `selected_option.value`, not `value`:
 * `parseSlackAction` takes the action object as Slack sends it, whichever element it is.
 */
import { z } from 'zod';
import { METRICS, type Metric, type Range } from '../domain/types.js';
import { parseRange } from '../domain/command.js';

export const ACTION_KINDS = ['show', 'back', 'page', 'range', 'metric', 'watch', 'unwatch', 'disown'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** Every action id this app makes. */
export const ACTION_ID_PATTERN = /^groups:(show|back|page|range|metric|watch|unwatch|disown)(?::\d{1,6})?$/;
/** Slack's limit on a button's `value`. */
export const MAX_ACTION_VALUE = 2000;

export type GroupsAction =
  /** Open one company; `key` is its group key. */
  | { kind: 'show'; key: string }
  /** Go back to the view described by `to` (a `/groups` command text, e.g. "top 30d"), or the default view. */
  | { kind: 'back'; to: string | null }
  /** A page of a list, from 1. */
  | { kind: 'page'; page: number }
  | { kind: 'range'; range: Range }
  | { kind: 'metric'; metric: Metric }
  /** Watch, stop watching, or say "Not mine" of one company (its group key). */
  | { kind: 'watch' | 'unwatch' | 'disown'; key: string };

/**
 * The action id of a button. `index` keeps ids unique when a message has several
 * buttons of one kind (one "Details" per company): give each its position.
 */
export function encodeAction(kind: ActionKind, index?: number): string {
  if (index === undefined) return `groups:${kind}`;
  const n = Number.isSafeInteger(index) && index >= 0 ? index % 1_000_000 : 0;
  return `groups:${kind}:${n}`;
}

const value = z.string().max(MAX_ACTION_VALUE);
const actionId = z.string().max(255).regex(ACTION_ID_PATTERN);
const showValue = value.min(1);
const pageValue = z.string().regex(/^\d{1,6}$/).transform(Number).pipe(z.number().int().min(1));
const metricValue = z.enum(METRICS as [Metric, ...Metric[]]);

/** What a button asks for, or null for an id or value this app did not make. */
export function parseAction(actionId_: string, value_: string | undefined | null): GroupsAction | null {
  const id = actionId.safeParse(actionId_);
  if (!id.success) return null;
  const kind = ACTION_ID_PATTERN.exec(id.data)![1] as ActionKind;
  const v = value.safeParse(value_ ?? '');
  if (!v.success) return null;
  switch (kind) {
    case 'show':
    case 'watch':
    case 'unwatch':
    case 'disown': {
      const key = showValue.safeParse(v.data);
      return key.success ? { kind, key: key.data } : null;
    }
    case 'back':
      return { kind, to: v.data.trim() === '' ? null : v.data };
    case 'page': {
      const page = pageValue.safeParse(v.data);
      return page.success ? { kind, page: page.data } : null;
    }
    case 'range': {
      const r = parseRange(v.data);
      return r && r.ok ? { kind, range: r.range } : null;
    }
    case 'metric': {
      const m = metricValue.safeParse(v.data);
      return m.success ? { kind, metric: m.data } : null;
    }
  }
}

/** One element of a `block_actions` payload's `actions`: a button, or a select with its choice. */
const selectAction = z.object({ action_id: z.string(), type: z.literal('static_select'), selected_option: z.object({ value: z.string() }).loose() }).loose();
const buttonAction = z.object({ action_id: z.string(), value: z.string().optional() }).loose();

/**
 * What one action of a `block_actions` payload asks for: a button's `value` or a
 * select's `selected_option.value`, through `parseAction`. Null for anything this
 * app did not make, whatever its shape.
 */
export function parseSlackAction(action: unknown): GroupsAction | null {
  const select = selectAction.safeParse(action);
  if (select.success) return parseAction(select.data.action_id, select.data.selected_option.value);
  const button = buttonAction.safeParse(action);
  return button.success ? parseAction(button.data.action_id, button.data.value) : null;
}

/**
 * The Previous / Next buttons of `show NAME events` (and the choices' Events buttons): their own
 * ids, outside ACTION_ID_PATTERN, so the App Home and the other buttons never see them. The value
 * is the signed page state (src/app/event-page-token.ts), checked by its listener, never trusted here.
 */
export const EVENTS_ACTION_PATTERN = /^groups:events(?::\d{1,6})?$/;

/** The action id of an event-list button; `index` keeps several in one message apart. */
export function encodeEventsAction(index: number): string {
  const n = Number.isSafeInteger(index) && index >= 0 ? index % 1_000_000 : 0;
  return `groups:events:${n}`;
}

/** The raw page state of an event-list button, or null for an id or value this app did not make. */
export function parseEventsAction(actionId_: string, value_: string | undefined | null): string | null {
  if (typeof actionId_ !== 'string' || actionId_.length > 255 || !EVENTS_ACTION_PATTERN.test(actionId_)) return null;
  const v = value.min(1).safeParse(value_ ?? '');
  return v.success ? v.data : null;
}
