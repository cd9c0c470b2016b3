/**
 * Week maths for the digest, in an IANA time zone. Pure: every function takes
 * the instant. "This week" is the ISO week (Monday to Sunday, week 1 holding the
 * year's first Thursday) of the calendar day `now` falls on in the zone, so the
 * week turns at Monday 00:00 local time, whatever the offset or a DST change.
 */

const DAY_MS = 86_400_000;

export interface CalendarDay {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
}

export interface ZonedWeek {
  /** ISO week id: '2026-W48'. */
  week: string;
  isoYear: number;
  isoWeek: number;
  /** The Monday of the week, as a calendar day in the zone. */
  monday: CalendarDay;
  /** "week of Nov 23, 2026". */
  label: string;
  /** The first instant of the week (Monday 00:00 in the zone, or the first instant of that day when midnight does not exist). */
  start: Date;
}

const partsFormat = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = partsFormat.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormat.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone. */
function wallClock(at: Date, tz: string) {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year, month: out.month, day: out.day, hour: out.hour % 24, minute: out.minute, second: out.second };
}

/** The calendar day an instant falls on in a zone. */
export function calendarDay(at: Date, tz: string): CalendarDay {
  const w = wallClock(at, tz);
  return { year: w.year, month: w.month, day: w.day };
}

/** The zone's offset from UTC at an instant, in milliseconds (east positive). */
export function zoneOffsetMs(at: Date, tz: string): number {
  const w = wallClock(at, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The first instant of a calendar day in a zone: local midnight, or, where a DST
 * change skips midnight, the first instant the day has.
 */
export function startOfDay(d: CalendarDay, tz: string): Date {
  const wall = Date.UTC(d.year, d.month - 1, d.day);
  // Two passes settle the offset; a third guards a change between the guesses.
  let t = wall - zoneOffsetMs(new Date(wall), tz);
  t = wall - zoneOffsetMs(new Date(t), tz);
  const got = calendarDay(new Date(t), tz);
  const same = got.year === d.year && got.month === d.month && got.day === d.day;
  if (same) {
    // Midnight exists, or a skipped midnight landed on a later hour: step back while still the same day.
    let earliest = t;
    for (const back of [3_600_000, 1_800_000, 900_000]) {
      const probe = new Date(earliest - back);
      const p = calendarDay(probe, tz);
      if (p.year === d.year && p.month === d.month && p.day === d.day) earliest -= back;
    }
    return new Date(earliest);
  }
  // Landed on the day before (a skipped midnight resolved backwards): step forward to the day.
  let forward = t;
  for (let i = 0; i < 8; i++) {
    forward += 900_000;
    const p = calendarDay(new Date(forward), tz);
    if (p.year === d.year && p.month === d.month && p.day === d.day) return new Date(forward);
  }
  return new Date(t);
}

/** Monday = 1 ... Sunday = 7, of a calendar day. */
export function isoWeekday(d: CalendarDay): number {
  const dow = new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
  return dow === 0 ? 7 : dow;
}

/** ISO year and week number of a calendar day. */
export function isoWeekOf(d: CalendarDay): { isoYear: number; isoWeek: number } {
  const t = Date.UTC(d.year, d.month - 1, d.day);
  // The Thursday of the same ISO week decides the year.
  const thursday = new Date(t + (4 - isoWeekday(d)) * DAY_MS);
  const isoYear = thursday.getUTCFullYear();
  const jan1 = Date.UTC(isoYear, 0, 1);
  const isoWeek = Math.floor((thursday.getTime() - jan1) / DAY_MS / 7) + 1;
  return { isoYear, isoWeek };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function weekLabel(monday: CalendarDay): string {
  return `week of ${MONTHS[monday.month - 1]} ${monday.day}, ${monday.year}`;
}

/** The ISO week `now` falls in, as counted in the zone `tz`. */
export function zonedWeek(now: Date, tz: string): ZonedWeek {
  const today = calendarDay(now, tz);
  const { isoYear, isoWeek } = isoWeekOf(today);
  const m = new Date(Date.UTC(today.year, today.month - 1, today.day) - (isoWeekday(today) - 1) * DAY_MS);
  const monday = { year: m.getUTCFullYear(), month: m.getUTCMonth() + 1, day: m.getUTCDate() };
  return {
    week: `${isoYear}-W${String(isoWeek).padStart(2, '0')}`,
    isoYear,
    isoWeek,
    monday,
    label: weekLabel(monday),
    start: startOfDay(monday, tz),
  };
}
