import { describe, expect, it } from 'vitest';
import { digestWeek } from '../src/app/weekly-digest.js';
import { calendarDay, isoWeekOf, isoWeekday, startOfDay, zonedWeek } from '../src/domain/week.js';

describe('zonedWeek: the ISO week of an instant, as a zone counts it', () => {
  // [instant, zone, week, label, first instant of the week]
  const table: [string, string, string, string, string][] = [
    // Ordinary weeks
    ['2026-11-29T02:22:00Z', 'UTC', '2026-W48', 'week of Nov 23, 2026', '2026-11-23T00:00:00Z'],
    ['2026-11-30T00:00:00Z', 'UTC', '2026-W49', 'week of Nov 30, 2026', '2026-11-30T00:00:00Z'],
    ['2026-11-29T23:59:59.999Z', 'UTC', '2026-W48', 'week of Nov 23, 2026', '2026-11-23T00:00:00Z'],
    ['2025-06-04T12:00:00Z', 'UTC', '2025-W23', 'week of Jun 2, 2025', '2025-06-02T00:00:00Z'],
    // New Year: the ISO year follows the week's Thursday
    ['2026-01-01T12:00:00Z', 'UTC', '2026-W01', 'week of Dec 29, 2025', '2025-12-29T00:00:00Z'],
    ['2027-01-01T12:00:00Z', 'UTC', '2026-W53', 'week of Dec 28, 2026', '2026-12-28T00:00:00Z'],
    ['2027-01-03T23:59:00Z', 'UTC', '2026-W53', 'week of Dec 28, 2026', '2026-12-28T00:00:00Z'],
    ['2027-01-04T00:00:00Z', 'UTC', '2027-W01', 'week of Jan 4, 2027', '2027-01-04T00:00:00Z'],
    ['2024-12-31T12:00:00Z', 'UTC', '2025-W01', 'week of Dec 30, 2024', '2024-12-30T00:00:00Z'],
    ['2021-01-03T12:00:00Z', 'UTC', '2020-W53', 'week of Dec 28, 2020', '2020-12-28T00:00:00Z'],
    // New Year's Eve in UTC is already New Year (and a new week) in Auckland
    ['2026-12-31T11:30:00Z', 'Pacific/Auckland', '2026-W53', 'week of Dec 28, 2026', '2026-12-27T11:00:00Z'],
    // A zone ahead of UTC: Monday 00:30 local is still Sunday in UTC
    ['2026-11-29T11:30:00Z', 'Pacific/Auckland', '2026-W49', 'week of Nov 30, 2026', '2026-11-29T11:00:00Z'],
    ['2026-11-29T11:30:00Z', 'UTC', '2026-W48', 'week of Nov 23, 2026', '2026-11-23T00:00:00Z'],
    ['2026-11-29T15:30:00Z', 'Asia/Tokyo', '2026-W49', 'week of Nov 30, 2026', '2026-11-29T15:00:00Z'],
    ['2026-11-29T14:59:59Z', 'Asia/Tokyo', '2026-W48', 'week of Nov 23, 2026', '2026-11-22T15:00:00Z'],
    // Half-hour offset
    ['2026-11-29T18:30:00Z', 'Asia/Kolkata', '2026-W49', 'week of Nov 30, 2026', '2026-11-29T18:30:00Z'],
    ['2026-11-29T18:29:59Z', 'Asia/Kolkata', '2026-W48', 'week of Nov 23, 2026', '2026-11-22T18:30:00Z'],
    // A zone behind UTC: Monday 05:00 UTC is still Sunday evening in Los Angeles
    ['2026-11-30T05:00:00Z', 'America/Los_Angeles', '2026-W48', 'week of Nov 23, 2026', '2026-11-23T08:00:00Z'],
    ['2026-11-30T08:00:00Z', 'America/Los_Angeles', '2026-W49', 'week of Nov 30, 2026', '2026-11-30T08:00:00Z'],
    // DST: Paris springs forward on Sunday 2026-03-29 (the week started at +01:00, the next one starts at +02:00)
    ['2026-03-29T01:30:00Z', 'Europe/Paris', '2026-W13', 'week of Mar 23, 2026', '2026-03-22T23:00:00Z'],
    ['2026-03-29T21:59:59Z', 'Europe/Paris', '2026-W13', 'week of Mar 23, 2026', '2026-03-22T23:00:00Z'],
    ['2026-03-29T22:00:00Z', 'Europe/Paris', '2026-W14', 'week of Mar 30, 2026', '2026-03-29T22:00:00Z'],
    // DST: New York falls back on Sunday 2026-11-01
    ['2026-11-02T04:59:59Z', 'America/New_York', '2026-W44', 'week of Oct 26, 2026', '2026-10-26T04:00:00Z'],
    ['2026-11-02T05:00:00Z', 'America/New_York', '2026-W45', 'week of Nov 2, 2026', '2026-11-02T05:00:00Z'],
    // The week turns at local midnight the day after a fall-back (the repeated hour is Sunday's)
    ['2026-11-01T06:30:00Z', 'America/New_York', '2026-W44', 'week of Oct 26, 2026', '2026-10-26T04:00:00Z'],
  ];

  it.each(table)('%s in %s is %s (%s)', (at, tz, week, label, start) => {
    const w = zonedWeek(new Date(at), tz);
    expect(w.week).toBe(week);
    expect(w.label).toBe(label);
    expect(w.start.toISOString()).toBe(new Date(start).toISOString());
    expect(digestWeek(new Date(at), tz)).toEqual({ week, label });
  });

  it('the week holds the instant, starts on a Monday in the zone, and lasts 7 days give or take a DST hour', () => {
    const zones = ['UTC', 'Europe/Paris', 'America/New_York', 'Pacific/Auckland', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Sao_Paulo'];
    let t = Date.UTC(2020, 0, 1);
    const end = Date.UTC(2028, 0, 1);
    let checked = 0;
    while (t < end) {
      for (const tz of zones) {
        const now = new Date(t);
        const w = zonedWeek(now, tz);
        expect(w.start.getTime()).toBeLessThanOrEqual(t);
        expect(t - w.start.getTime()).toBeLessThan(7 * 86_400_000 + 3_600_000);
        expect(isoWeekday(calendarDay(w.start, tz))).toBe(1);
        // Just before the start belongs to the previous week.
        expect(zonedWeek(new Date(w.start.getTime() - 1), tz).week).not.toBe(w.week);
        checked++;
      }
      t += 131 * 3_600_000 + 17 * 60_000; // walks every hour of the week over the years
    }
    expect(checked).toBeGreaterThan(4_000);
  });
});

describe('week pieces', () => {
  it.each([
    [{ year: 2026, month: 11, day: 23 }, 1, 2026, 48],
    [{ year: 2026, month: 11, day: 29 }, 7, 2026, 48],
    [{ year: 2020, month: 12, day: 31 }, 4, 2020, 53],
    [{ year: 2021, month: 1, day: 4 }, 1, 2021, 1],
    [{ year: 2019, month: 12, day: 30 }, 1, 2020, 1],
  ])('%o is weekday %i of %i-W%i', (day, weekday, isoYear, isoWeek) => {
    expect(isoWeekday(day)).toBe(weekday);
    expect(isoWeekOf(day)).toEqual({ isoYear, isoWeek });
  });

  it('startOfDay: midnight, or the first instant of a day whose midnight DST skips', () => {
    expect(startOfDay({ year: 2026, month: 3, day: 30 }, 'Europe/Paris').toISOString()).toBe('2026-03-29T22:00:00.000Z');
    // São Paulo sprang forward at midnight on 2018-11-04: the day began at 01:00 (-02:00).
    expect(startOfDay({ year: 2018, month: 11, day: 4 }, 'America/Sao_Paulo').toISOString()).toBe('2018-11-04T03:00:00.000Z');
    // Santiago springs forward at 24:00 Saturday: Sunday 2026-09-06 begins at 01:00 (-03:00).
    expect(startOfDay({ year: 2026, month: 9, day: 6 }, 'America/Santiago').toISOString()).toBe('2026-09-06T04:00:00.000Z');
  });
});
