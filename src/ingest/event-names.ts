/**
 * The per-company event rollup's names (company_event_days): which name an activity event
 * counts under, and the bound on distinct names per company.
 */
import type { SegmentEvent } from './segment.js';

/**
 * Distinct event names kept per company. Some products put ids in names (`Viewed /invoice/123`);
 * past this many, a company's new names count under OTHER_EVENTS, so its rows per day stay
 * bounded (EVENT_NAMES_PER_COMPANY + 1) and every event is still counted once.
 */
export const EVENT_NAMES_PER_COMPANY = 200;

/** Where the names past the bound are counted. */
export const OTHER_EVENTS = 'other events';

/** A track counts under its event name; a page or screen under its name, else "page" or "screen". */
export function eventName(e: Pick<SegmentEvent, 'type' | 'name'>): string {
  return e.name !== null && e.name !== '' ? e.name : e.type;
}

/** One event-rollup row of a write: company, name, day, count; `o`: the order the name first appeared in. */
export interface EventDayRow {
  c: string;
  n: string;
  d: string;
  k: number;
  o: number;
}

/**
 * The activity of a write, in walk order, as (company, name, day) counts. The order of first
 * appearance decides which new names fit under the bound, so the live path (request after
 * request) and the import (its slice at once, in the same order) keep the same names.
 */
export function eventDayRows(activity: readonly { x: { e: Pick<SegmentEvent, 'type' | 'name'>; day: string }; companyKey: string }[]): EventDayRow[] {
  const rows = new Map<string, EventDayRow>();
  let o = 0;
  for (const { x, companyKey } of activity) {
    const n = eventName(x.e);
    const key = `${companyKey}\u0000${n}\u0000${x.day}`;
    const r = rows.get(key);
    if (r) r.k++;
    else rows.set(key, { c: companyKey, n, d: x.day, k: 1, o: o++ });
  }
  return [...rows.values()].sort((a, b) => (a.c < b.c ? -1 : a.c > b.c ? 1 : a.d < b.d ? -1 : a.d > b.d ? 1 : a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
}
