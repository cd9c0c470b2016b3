/**
 * Period maths in whole UTC days. Pure: every function takes `now`.
 * A range of N days is the N UTC days ending with today, today included.
 */
import { BASELINE_DAYS, RECENT_DAYS } from './trend.js';

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of the UTC day holding `d`. */
export const dayString = (d: Date): string => d.toISOString().slice(0, 10);

/** UTC midnight of the day holding `d`, plus `offset` days. */
export function utcDay(d: Date, offset = 0): Date {
  return new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS + offset * DAY_MS);
}

export function daysBetween(earlier: Date, later: Date): number {
  return Math.floor((utcDay(later).getTime() - utcDay(earlier).getTime()) / DAY_MS);
}

export interface Windows {
  today: string;
  /** First day of the range (today included in the range). */
  rangeStart: string;
  recentStart: string;
  recentEnd: string;
  baselineStart: string;
  baselineEnd: string;
  /** The earliest day any of these reads. */
  earliest: string;
}

export function windowsFor(now: Date, rangeDays: number): Windows {
  const at = (offset: number) => dayString(utcDay(now, offset));
  const rangeStart = at(-(rangeDays - 1));
  const baselineStart = at(-(RECENT_DAYS + BASELINE_DAYS));
  return {
    today: at(0),
    rangeStart,
    recentStart: at(-RECENT_DAYS),
    recentEnd: at(-1),
    baselineStart,
    baselineEnd: at(-(RECENT_DAYS + 1)),
    earliest: rangeStart < baselineStart ? rangeStart : baselineStart,
  };
}

/** The 12 blocks of 7 days ending today, oldest first: [start, end] days. */
export function weekBlocks(now: Date, weeks = 12): { start: string; end: string }[] {
  return Array.from({ length: weeks }, (_, i) => {
    const back = weeks - 1 - i;
    return { start: dayString(utcDay(now, -7 * back - 6)), end: dayString(utcDay(now, -7 * back)) };
  });
}
