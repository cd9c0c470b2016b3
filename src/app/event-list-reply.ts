/**
 * `show NAME events [range]` (issue 16 point 4): every event of one company with its count over
 * the range. The company is found as `show` finds it (exact key, then name by prefix, then
 * substring; several: the choices; none: the closest names). Slack gets one page with signed
 * Previous / Next buttons (src/app/event-page-token.ts); the terminal gets the whole list (a
 * company has at most EVENT_NAMES_PER_COMPANY names and "other events").
 */
import { allCompanyNames, companyRecord, findCompanies, type CompanyName } from '../db/queries/companies.js';
import { companyEventList } from '../db/queries/events.js';
import type { Range } from '../domain/types.js';
import { EVENT_NAMES_PER_COMPANY } from '../ingest/event-names.js';
import {
  EVENT_LIST_PAGE_SIZE,
  eventChoicesMessage,
  eventChoicesText,
  eventListMessage,
  eventListText,
  eventNoMatchMessage,
  eventNoMatchText,
  forgedPageMessage,
  listLength,
  stalePageMessage,
  type EventChoice,
} from '../render/event-list-message.js';
import { closestNames, type GroupsContext } from './company-reads.js';
import { eventPageKey, PAGE_TTL_SECONDS, signPageState, verifyPageState } from './event-page-token.js';
import type { Reply } from './reply.js';

export interface EventListContext extends GroupsContext {
  /** Signs and checks the page buttons' state (compose.ts derives it from the signing secret). */
  pageKey?: Buffer;
}

/** Without a configured key (a context built by hand): one per process, so buttons last as long as it. */
let processKey: Buffer | null = null;
function keyOf(ctx: EventListContext): Buffer {
  if (ctx.pageKey) return ctx.pageKey;
  processKey ??= eventPageKey(undefined);
  return processKey;
}

/**
 * The most entries read at once: the whole list (EVENT_NAMES_PER_COMPANY names and "other
 * events") with room for rows written under a larger bound, should it ever be lowered.
 */
const WHOLE_LIST = Math.max(10_000, EVENT_NAMES_PER_COMPANY + 1);

function choice(ctx: EventListContext, c: CompanyName, range: Range, now: Date): EventChoice {
  return { key: c.key, name: c.name, first: signPageState(keyOf(ctx), { key: c.key, range, offset: 0, madeAt: now }) };
}

/** The reply to `show NAME events [range]`: page 1 in Slack, the whole list in the terminal. */
export async function eventListReply(ctx: EventListContext, query: string, range: Range, now: Date): Promise<Reply> {
  const found = await findCompanies(ctx.db, query);
  if (found.matches.length > 1) {
    const input = { query, matches: found.matches.map((m) => choice(ctx, m, range, now)), more: found.more };
    return { message: eventChoicesMessage(input), terminal: eventChoicesText(input) };
  }
  if (found.matches.length === 0) {
    const input = { query, suggestions: closestNames(query, await allCompanyNames(ctx.db)).map((m) => choice(ctx, m, range, now)) };
    return { message: eventNoMatchMessage(input), terminal: eventNoMatchText(input) };
  }
  const company = found.matches[0];
  const all = await companyEventList(ctx.db, company.key, { now, rangeDays: range.days, offset: 0, limit: WHOLE_LIST });
  const base = { company, range, names: all.names, other: all.other, total: all.total };
  const first = page(ctx, { ...base, rows: all.rows.slice(0, EVENT_LIST_PAGE_SIZE), offset: 0 }, now);
  const whole = { ...base, rows: all.rows, offset: 0, previous: null, next: null };
  return { message: eventListMessage(first), terminal: eventListText(whole) };
}

/** The page's buttons: signed states for the pages before and after, when there are such pages. */
function page(ctx: EventListContext, input: Omit<Parameters<typeof eventListMessage>[0], 'previous' | 'next'>, madeAt: Date) {
  const sign = (offset: number) => signPageState(keyOf(ctx), { key: input.company.key, range: input.range, offset, madeAt });
  const previous = input.offset > 0 ? sign(Math.max(0, input.offset - EVENT_LIST_PAGE_SIZE)) : null;
  const next = input.offset + EVENT_LIST_PAGE_SIZE < listLength(input) ? sign(input.offset + EVENT_LIST_PAGE_SIZE) : null;
  const noButtons = (input.offset > 0 || input.offset + EVENT_LIST_PAGE_SIZE < listLength(input)) && previous === null && next === null;
  return { ...input, previous, next, noButtons };
}

/** How a page click was answered: `replace` the list with the page, or say what was wrong beside it. */
export interface PageClickReply {
  message: Reply['message'];
  replace: boolean;
  /** Why the value was refused, when it was. */
  refused?: 'forged' | 'stale';
}

/**
 * A Previous / Next (or a choice's Events) click: the value checked, then the page it asks for,
 * counted as of when the list was made. A forged or stale value, or a company since gone, gets a
 * reply that says so (beside the list, which stays). An offset past the end shows the last page.
 */
export async function eventPageClick(ctx: EventListContext, value: string, now: Date): Promise<PageClickReply> {
  const check = verifyPageState(keyOf(ctx), value, now);
  if (!check.ok) {
    const message = check.why === 'forged' ? forgedPageMessage() : stalePageMessage({ key: check.key, range: check.range, ttlHours: PAGE_TTL_SECONDS / 3600 });
    return { message, replace: false };
  }
  const { key, range, madeAt } = check.state;
  let offset = check.state.offset - (check.state.offset % EVENT_LIST_PAGE_SIZE);
  const [record, listed] = await Promise.all([
    companyRecord(ctx.db, key),
    companyEventList(ctx.db, key, { now: madeAt, rangeDays: range.days, offset, limit: EVENT_LIST_PAGE_SIZE }),
  ]);
  if (!record) {
    const input = { query: key, suggestions: [] };
    return { message: eventNoMatchMessage(input), replace: false };
  }
  let found = listed;
  const length = listLength(found);
  if (found.rows.length === 0 && length > 0) {
    // The list is shorter than when the button was made: its last page.
    offset = Math.floor((length - 1) / EVENT_LIST_PAGE_SIZE) * EVENT_LIST_PAGE_SIZE;
    found = await companyEventList(ctx.db, key, { now: madeAt, rangeDays: range.days, offset, limit: EVENT_LIST_PAGE_SIZE });
  }
  const company = { key, name: record.name };
  const input = page(ctx, { company, range, rows: found.rows, offset, names: found.names, other: found.other, total: found.total }, madeAt);
  return { message: eventListMessage(input), replace: true };
}
