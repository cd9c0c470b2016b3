/**
 * Hostile input at the ingestion API (issue 15, points 1-5 and 9), at the wire:
 * event times outside the accepted window and impossible calendar dates are 400
 * naming the field, and refuse the whole request; a refused upload leaves the
 * kept-alive connection usable; merged traits stay bounded; the bytes in flight
 * are capped with 503 + Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEventTime, EVENT_TIME_WINDOW, parseTime, SpecError } from '../src/ingest/segment.js';
import { tableCounts } from './helpers/dbq.js';
import { post, startTestApp } from './harness.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('event times (pure: the rule the importer reuses)', () => {
  const receivedAt = new Date('2026-11-29T12:00:00.000Z');
  const f = { timestamp: 'batch[3].timestamp', sentAt: 'sentAt' };
  const check = (timestamp: string | null, sentAt: string | null = null) =>
    checkEventTime(timestamp === null ? null : parseTime(timestamp, f.timestamp), sentAt === null ? null : parseTime(sentAt, f.sentAt), receivedAt, f);

  it.each([
    ['the first instant of 2000', '2000-01-01T00:00:00.000Z', null, '2000-01-01T00:00:00.000Z'],
    ['24 hours after receipt, to the millisecond', '2026-11-30T12:00:00.000Z', null, '2026-11-30T12:00:00.000Z'],
    ['a clock reset to 1990, sent at once: skew correction brings it to receipt', '1990-01-01T00:00:00.000Z', '1990-01-01T00:00:05.000Z', '2026-11-29T11:59:55.000Z'],
    ['no timestamp: the time received', null, null, '2026-11-29T12:00:00.000Z'],
  ])('accepts %s', (_name, timestamp, sentAt, expected) => {
    expect(check(timestamp, sentAt).toISOString()).toBe(expected);
  });

  it.each([
    ['9999-12-31, the "end of time" placeholder', '9999-12-31T23:59:59.999Z', null, /^batch\[3\]\.timestamp: 9999-12-31T23:59:59\.999Z is outside the accepted window \(2000-01-01 to 24 hours after receipt\)$/],
    ['a time decades ahead', '2066-01-01T00:00:00.000Z', null, /^batch\[3\]\.timestamp: 2066-01-01T00:00:00\.000Z is outside/],
    ['one millisecond past 24 hours ahead', '2026-11-30T12:00:00.001Z', null, /^batch\[3\]\.timestamp: .* is outside/],
    ['the last millisecond of 1999', '1999-12-31T23:59:59.999Z', null, /^batch\[3\]\.timestamp: 1999-12-31T23:59:59\.999Z is outside/],
    ['a sentAt thousands of years back (the correction moves the time ahead)', '2026-11-29T11:00:00.000Z', '0026-11-29T11:00:00.000Z', /^sentAt: the time corrected for clock skew, 4026-.* is outside the accepted window/],
    ['a sentAt thousands of years ahead (the correction moves the time back)', '2026-11-29T11:00:00.000Z', '9026-11-29T11:00:00.000Z', /^sentAt: the time corrected for clock skew, -?\d+-.* is outside the accepted window/],
    ['a timestamp out of the window that sentAt does not bring back', '9999-12-31T00:00:00.000Z', '2026-11-29T11:00:00.000Z', /^batch\[3\]\.timestamp: /],
  ])('refuses %s, naming the field', (_name, timestamp, sentAt, message) => {
    expect(() => check(timestamp, sentAt)).toThrowError(SpecError);
    expect(() => check(timestamp, sentAt)).toThrowError(message);
  });

  it('states the window once', () => {
    expect(iso(EVENT_TIME_WINDOW.earliestMs)).toBe('2000-01-01T00:00:00.000Z');
    expect(EVENT_TIME_WINDOW.aheadMs).toBe(24 * HOUR);
  });
});

describe('ISO 8601, strictly', () => {
  it.each([
    ['2026-11-29T09:30:00.000Z', '2026-11-29T09:30:00.000Z'],
    ['2026-11-29T09:30:00.123456Z', '2026-11-29T09:30:00.123Z'],
    ['2026-11-29T09:30:00+01:00', '2026-11-29T08:30:00.000Z'],
    ['2026-11-29T09:30:00-0130', '2026-11-29T11:00:00.000Z'],
    ['2026-11-29T09:30', '2026-11-29T09:30:00.000Z'],
    ['2026-11-29', '2026-11-29T00:00:00.000Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
  ])('%s is %s', (text, expected) => {
    expect(parseTime(text, 'timestamp').toISOString()).toBe(expected);
  });

  it.each([
    ['2026-02-30T10:00:00Z', 'day'],
    ['2025-02-29T10:00:00Z', 'day'],
    ['1900-02-29T10:00:00Z', 'day'],
    ['2026-04-31', 'day'],
    ['2026-00-10T10:00:00Z', 'month'],
    ['2026-13-01T10:00:00Z', 'month'],
    ['2026-11-29T24:61:00Z', 'hour'],
    ['2026-11-29T24:00:00Z', 'hour'],
    ['2026-11-29T23:60:00Z', 'minute'],
    ['2026-11-29T23:59:60Z', 'second'],
    ['2026-11-29T10:00:00+24:00', 'offset'],
  ])('%s is refused (its %s)', (text, part) => {
    expect(() => parseTime(text, 'batch[0].timestamp')).toThrowError(new RegExp(`^batch\\[0\\]\\.timestamp: ".*" is not a real date and time \\(its ${part} is out of range\\)`));
  });
});

describe('event times at the wire', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  const good = (i: number) => ({ type: 'track', userId: `u${i}`, event: 'Clicked', messageId: `good-${i}`, context: { groupId: 'acme' } });
  const batchWith = (bad: Record<string, unknown>, outer: Record<string, unknown> = {}) => ({
    ...outer,
    batch: [good(0), good(1), good(2), { ...good(3), messageId: 'bad-3', ...bad }, good(4)],
  });

  it.each([
    ['9999-12-31 (got 503 forever before)', batchWith({ timestamp: '9999-12-31T23:59:59.999Z' }), /^batch\[3\]\.timestamp: 9999-12-31T23:59:59\.999Z is outside the accepted window \(2000-01-01 to 24 hours after receipt\)$/],
    ['a time decades ahead (made its company active forever before)', batchWith({ timestamp: '2066-06-01T00:00:00.000Z' }), /^batch\[3\]\.timestamp: 2066-06-01T00:00:00\.000Z is outside/],
    ['a time two days ahead', batchWith({ timestamp: iso(Date.now() + 48 * HOUR) }), /^batch\[3\]\.timestamp: .* is outside/],
    ['a time before 2000', batchWith({ timestamp: '1999-12-31T23:00:00.000Z' }), /^batch\[3\]\.timestamp: .* is outside/],
    ['an event sentAt that skews it thousands of years ahead', batchWith({ timestamp: iso(Date.now()), sentAt: '0100-01-01T00:00:00.000Z' }), /^batch\[3\]\.sentAt: the time corrected for clock skew, .* is outside the accepted window/],
    ['a batch sentAt that skews one event out', { ...batchWith({ timestamp: '2026-01-01T00:00:00.000Z' }), sentAt: '0500-01-01T00:00:00.000Z' }, /^sentAt: the time corrected for clock skew/],
    ['an impossible date (was moved to March before)', batchWith({ timestamp: '2026-02-30T10:00:00.000Z' }), /^batch\[3\]\.timestamp: "2026-02-30T10:00:00\.000Z" is not a real date and time \(its day is out of range\)/],
    ['month 13', batchWith({ timestamp: '2026-13-01T10:00:00.000Z' }), /^batch\[3\]\.timestamp: .*its month/],
    ['24:61', batchWith({ timestamp: '2026-11-01T24:61:00.000Z' }), /^batch\[3\]\.timestamp: .*its hour/],
    ['an impossible sentAt', batchWith({ timestamp: '2026-11-01T10:00:00.000Z', sentAt: '2026-11-31T10:00:00.000Z' }), /^batch\[3\]\.sentAt: .*its day/],
  ])('%s: 400 naming the field, nothing of the request stored', async (_name, body, message) => {
    const r = await post(`${app.url}/v1/batch`, body);
    expect(r.status).toBe(400);
    expect(r.json?.success).toBe(false);
    expect(r.json?.error).toMatch(message);
    expect(await tableCounts(app.database.db)).toEqual({ messages: 0, people: 0, companies: 0, company_days: 0, company_people: 0, sessions: 0 });
  });

  it('a single call is refused the same way', async () => {
    const r = await post(`${app.url}/v1/track`, { ...good(9), timestamp: '9999-12-31T00:00:00Z' });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/^timestamp: 9999-12-31T00:00:00\.000Z is outside/);
  });

  it('times inside the window are stored as sent (skew-corrected)', async () => {
    const soon = iso(Date.now() + 23 * HOUR);
    const r = await post(`${app.url}/v1/batch`, { batch: [{ ...good(5), timestamp: '2000-01-01T00:00:00.000Z' }, { ...good(6), timestamp: soon }, { ...good(7), timestamp: '2024-02-29T12:00:00Z' }] });
    expect(r.status).toBe(200);
    expect((await tableCounts(app.database.db)).messages).toBe(3);
  });
});
