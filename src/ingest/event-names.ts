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

/**
 * Where the names past the bound are counted, as stored: a key no sent name can equal (every
 * name is trimmed, and this one starts with a space), so an event really called "other events"
 * keeps a count of its own. Migration 0011 moved the bucket here from "other events".
 */
export const OTHER_EVENTS = ' other events';

/** How that bucket is shown. */
export const OTHER_EVENTS_LABEL = 'other events';

/** A track counts under its event name; a page or screen under its name, else "page" or "screen". */
export function eventName(e: Pick<SegmentEvent, 'type' | 'name'>): string {
  return e.name !== null && e.name !== '' ? e.name : e.type;
}

/**
 * The event rollup's part of a write: per company, the distinct names it sent in the order they
 * first appeared (at most EVENT_NAMES_PER_COMPANY of them: a company holds at most that many, so
 * the first that many sent always include every one it could still take); per company-day, the
 * names and their counts, index for index.
 */
export interface EventRollupRows {
  names: { c: string; n: string[] }[];
  days: { c: string; d: string; n: string[]; k: number[] }[];
}

/**
 * The activity of a write, in walk order, as the event rollup's rows. The order of first
 * appearance decides which new names fit under the bound, so the live path (request after
 * request) and the import (its slice at once, in the same order) keep the same names.
 */
export function eventRollupRows(activity: readonly { x: { e: Pick<SegmentEvent, 'type' | 'name'>; day: string }; companyKey: string }[]): EventRollupRows {
  const names = new Map<string, Set<string>>();
  const days = new Map<string, { c: string; d: string; counts: Map<string, number> }>();
  // A company's last day and names: its events mostly follow each other on one day, so most
  // events find their row by company alone, with no key built.
  const last = new Map<string, { sent: Set<string>; day: { c: string; d: string; counts: Map<string, number> } }>();
  for (const { x, companyKey: c } of activity) {
    const n = eventName(x.e);
    let held = last.get(c);
    if (held === undefined || held.day.d !== x.day) {
      let sent = names.get(c);
      if (!sent) names.set(c, (sent = new Set()));
      const key = `${c}\u0000${x.day}`;
      let day = days.get(key);
      if (!day) days.set(key, (day = { c, d: x.day, counts: new Map() }));
      last.set(c, (held = { sent, day }));
    }
    if (held.sent.size < EVENT_NAMES_PER_COMPANY) held.sent.add(n);
    const counts = held.day.counts;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return {
    names: [...names].map(([c, sent]) => ({ c, n: [...sent] })),
    days: [...days.values()].map(({ c, d, counts }) => ({ c, d, n: [...counts.keys()], k: [...counts.values()] })),
  };
}
