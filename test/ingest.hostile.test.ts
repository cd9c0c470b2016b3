/**
 * Hostile input at the ingestion API (issue 15, points 1-5 and 9), at the wire:
 * event times outside the accepted window and impossible calendar dates are 400
 * naming the field, and refuse the whole request; a refused upload leaves the
 * kept-alive connection usable; merged traits stay bounded; the bytes in flight
 * are capped with 503 + Retry-After.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Agent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestBudget } from '../src/ingest/http.js';
import { sql } from 'drizzle-orm';
import { rows } from '../src/db/client.js';
import { checkEventTime, EVENT_TIME_WINDOW, MERGED_TRAITS, mergeTraits, parseTime, parseTimeByPattern, SpecError, traitEntryBytes } from '../src/ingest/segment.js';
import { person, tableCounts } from './helpers/dbq.js';
import { basic, post, startTestApp, WRITE_KEY } from './harness.js';

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

describe('ISO 8601 in the form SDKs send (read by character codes, not the regular expression)', () => {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const realDays = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  it('gives what Date gives for every real time, and refuses every unreal one with its reason', () => {
    fc.assert(
      fc.property(
        fc.record({
          y: fc.integer({ min: 1000, max: 9999 }), mo: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }),
          h: fc.integer({ min: 0, max: 25 }), mi: fc.integer({ min: 0, max: 61 }), s: fc.integer({ min: 0, max: 61 }),
          ms: fc.option(fc.integer({ min: 0, max: 999 }), { nil: null }),
        }),
        ({ y, mo, d, h, mi, s, ms }) => {
          const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${ms === null ? '' : `.${pad(ms, 3)}`}Z`;
          const bad = mo < 1 || mo > 12 ? 'month' : d < 1 || d > realDays(y, mo) ? 'day' : h > 23 ? 'hour' : mi > 59 ? 'minute' : s > 59 ? 'second' : null;
          if (bad === null) expect(parseTime(text, 'timestamp').getTime()).toBe(Date.UTC(y, mo - 1, d, h, mi, s, ms ?? 0));
          else expect(() => parseTime(text, 'timestamp')).toThrowError(`(its ${bad} is out of range)`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('answers as the regular expression does for any character out of place', () => {
    const outcome = (f: (v: unknown, field: string) => Date, text: string) => {
      try {
        return f(text, 'timestamp').getTime();
      } catch (err) {
        return (err as Error).message;
      }
    };
    let fast = 0;
    for (const good of ['2026-11-29T09:30:05.123Z', '2024-02-29T23:59:59Z']) {
      for (let i = 0; i < good.length; i++) {
        for (const c of ['x', '/', ':', '-', '.', 'T', 'Z', ' ', '\u0663', '0', '1', '3', '9']) {
          const text = good.slice(0, i) + c + good.slice(i + 1);
          const expected = outcome(parseTimeByPattern, text);
          expect(outcome(parseTime, text), text).toBe(expected);
          if (typeof expected === 'number' && new Date(expected).toISOString().replace('.000Z', 'Z') === text) fast++;
        }
      }
    }
    expect(fast).toBeGreaterThan(50);
    // Before the year 1000, and with spaces around: the slow way, the same answers.
    expect(parseTime('0999-01-02T03:04:05.006Z', 't').toISOString()).toBe('0999-01-02T03:04:05.006Z');
    expect(parseTime(' 2026-11-29T09:30:05.123Z ', 't').toISOString()).toBe('2026-11-29T09:30:05.123Z');
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

/** One HTTP request through `agent`, its body written in `chunks` (chunked unless a content-length is given). */
function send(
  agent: Agent,
  url: string,
  path: string,
  chunks: Buffer[],
  headers: Record<string, string | number> = {},
  opts: { hold?: Promise<void> } = {},
): { done: Promise<{ status: number; headers: IncomingHttpHeaders; body: string; reusedSocket: boolean; localPort: number }>; request: ClientRequest } {
  const u = new URL(url);
  const request = httpRequest({
    host: u.hostname,
    port: u.port,
    path,
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers },
  });
  const done = new Promise<{ status: number; headers: IncomingHttpHeaders; body: string; reusedSocket: boolean; localPort: number }>((resolve, reject) => {
    request.on('error', reject);
    request.setTimeout(15_000, () => request.destroy(new Error('no answer within 15 s')));
    request.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: request.reusedSocket, localPort: request.socket?.localPort ?? -1 }));
    });
  });
  void (async () => {
    for (const c of chunks) {
      if (!request.write(c)) await new Promise((r) => request.once('drain', r));
    }
    if (opts.hold) await opts.hold;
    if (!request.destroyed) request.end();
  })().catch(() => {});
  return { done, request };
}

const smallBatch = (id: string) => Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'ka', event: 'Clicked', messageId: id }] }));

describe('the kept-alive connection after a refused upload', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  const pieces = (body: Buffer) => {
    const out: Buffer[] = [];
    for (let i = 0; i < body.length; i += 16 * 1024) out.push(body.subarray(i, i + 16 * 1024));
    return out;
  };
  /** Over 500 KB of valid-looking JSON, in 16 KB pieces. */
  const overLimit = () => {
    const event = JSON.stringify({ type: 'track', userId: 'ka', event: 'Padded', properties: { pad: 'x'.repeat(16_000) } });
    const body = Buffer.from(`{"batch":[${Array.from({ length: 40 }, () => event).join(',')}]}`);
    expect(body.length).toBeGreaterThan(600 * 1024);
    return pieces(body);
  };

  it.each([
    ['a chunked body over the limit', () => overLimit(), {}, /over 500 KB$/],
    ['a gzip body over the limit once inflated', () => [gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20))], { 'content-encoding': 'gzip' }, /over 500 KB once inflated/],
    ['a chunked gzip body over the limit once inflated', () => { const z = gzipSync(Buffer.concat(overLimit())); return [z.subarray(0, 1000), z.subarray(1000)]; }, { 'content-encoding': 'gzip' }, /once inflated/],
    ['a gzip body with a Content-Length over the limit once inflated', () => [gzipSync(Buffer.concat(overLimit()))], { 'content-encoding': 'gzip', 'content-length': 'auto' }, /once inflated/],
    ['a 2 MB gzip body of data that does not compress, sent chunked', () => pieces(gzipSync(randomBytes(1536 * 1024).toString('base64'))), { 'content-encoding': 'gzip' }, /once inflated/],
    ['a 2 MB gzip body of data that does not compress, with its Content-Length', () => pieces(gzipSync(randomBytes(1536 * 1024).toString('base64'))), { 'content-encoding': 'gzip', 'content-length': 'auto' }, /once inflated/],
  ])('%s: 400, then the next request on the same socket is stored', async (_name, body, headers, message) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const warm = await send(agent, app.url, '/v1/batch', [smallBatch(`warm-${_name}`)]).done;
      expect(warm.status).toBe(200);
      const chunks = body();
      const h: Record<string, string | number> = { ...headers };
      if (h['content-length'] === 'auto') h['content-length'] = chunks.reduce((n, c) => n + c.length, 0);
      const before = await tableCounts(app.database.db);
      const refused = await send(agent, app.url, '/v1/batch', chunks, h).done;
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).error).toMatch(message);
      expect(refused.reusedSocket).toBe(true);
      const next = await send(agent, app.url, '/v1/batch', [smallBatch(`next-${_name}`)]).done;
      expect(next.status).toBe(200);
      // The same connection: not reset, not replaced.
      expect(next.reusedSocket).toBe(true);
      expect(next.localPort).toBe(warm.localPort);
      expect((await tableCounts(app.database.db)).messages).toBe(before.messages + 1);
    } finally {
      agent.destroy();
    }
  });
});

describe('the cap on ingestion bytes in flight', () => {
  const KB = 1024;
  const budget = new IngestBudget(600 * KB);
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp({ bot: { ingestBudget: budget } });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  const until = async (what: () => boolean) => {
    for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(what()).toBe(true);
  };

  it('answers 503 with Retry-After beyond the cap, stores nothing of it, and frees the bytes when a request ends', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      // A chunked batch reserves the batch limit (500 KB) before its body is read, and holds it.
      let release!: () => void;
      const hold = new Promise<void>((r) => (release = r));
      const body = smallBatch('held-1');
      const held = send(agent, app.url, '/v1/batch', [body.subarray(0, 10)], {}, { hold: hold.then(() => void held.request.write(body.subarray(10))) });
      await until(() => budget.inFlight === 500 * KB);

      // A small call still fits (500 KB + its length <= 600 KB).
      const small = Buffer.from(JSON.stringify({ type: 'track', userId: 'cap', event: 'Small', messageId: 'small-1' }));
      const fits = await send(agent, app.url, '/v1/track', [small], { 'content-length': small.length }).done;
      expect(fits.status).toBe(200);

      // A 200 KB batch does not: 503 at once, before its body is read.
      const big = Buffer.from(JSON.stringify({ batch: Array.from({ length: 10 }, (_, i) => ({ type: 'track', userId: 'cap', event: 'Big', messageId: `big-${i}`, properties: { pad: 'x'.repeat(20 * KB) } })) }));
      expect(big.length).toBeGreaterThan(200 * KB);
      const before = await tableCounts(app.database.db);
      const refused = await send(agent, app.url, '/v1/batch', [big], { 'content-length': big.length }).done;
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(JSON.parse(refused.body)).toEqual({ success: false, error: 'too many requests in flight; retry later' });
      expect(await tableCounts(app.database.db)).toEqual(before);
      expect(budget.inFlight).toBe(500 * KB);

      // The held request completes and is stored; every byte is released.
      release();
      expect((await held.done).status).toBe(200);
      await until(() => budget.inFlight === 0);
      // Retried once there is room, as Segment's SDKs do.
      expect((await send(agent, app.url, '/v1/batch', [big], { 'content-length': big.length }).done).status).toBe(200);
      expect((await tableCounts(app.database.db)).messages).toBe(before.messages + 11);
      expect(budget.inFlight).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['invalid JSON', Buffer.from('{"batch": ['), {}, 400],
    ['an unknown write key', smallBatch('k-1'), { authorization: basic('nope') }, 401],
    ['an invalid event', Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'x' }] })), {}, 400],
    ['a chunked body over the limit', Buffer.alloc(700 * KB, 0x20), {}, 400],
    ['a declared length over the limit', Buffer.alloc(700 * KB, 0x20), { 'content-length': 700 * KB }, 400],
    ['a body that is not gzip', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }, 400],
  ])('releases the bytes after %s', async (_name, body, headers, status) => {
    const agent = new Agent({ keepAlive: true });
    try {
      const r = await send(agent, app.url, '/v1/batch', [body], headers).done;
      expect(r.status).toBe(status);
      await until(() => budget.inFlight === 0);
    } finally {
      agent.destroy();
    }
  });

  it('releases the bytes of a client that goes away mid-body', async () => {
    const agent = new Agent({ keepAlive: false });
    const r = send(agent, app.url, '/v1/batch', [Buffer.from('{"batch":[')], { 'content-length': 100 * KB }, { hold: new Promise(() => {}) });
    r.done.catch(() => {});
    await until(() => budget.inFlight === 100 * KB);
    r.request.destroy();
    await until(() => budget.inFlight === 0);
    // And the server still answers.
    expect((await post(`${app.url}/v1/batch`, { batch: [{ type: 'track', userId: 'after', event: 'X' }] })).status).toBe(200);
    expect(budget.inFlight).toBe(0);
  });
});

describe('merged traits stay bounded (pure)', () => {
  const keysOf = (n: number, prefix: string, value: unknown = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value]));
  const call = (traits: Record<string, unknown>) => ({ traits, order: null });

  it('small objects merge whole, newer values winning, keys oldest first', () => {
    const out = mergeTraits({ traits: { a: 1, b: 2 }, order: ['b', 'a'] }, call({ b: 3, c: 4 }));
    expect(out).toEqual({ traits: { a: 1, b: 3, c: 4 }, order: ['a', 'b', 'c'] });
  });

  it('a __proto__ key is data', () => {
    const out = mergeTraits(call({}), call(JSON.parse('{"__proto__":{"admin":true}}')));
    expect(Object.keys(out.traits)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it(`keeps the newest ${MERGED_TRAITS.keys} keys: the newer call's, then the youngest of the rest`, () => {
    const old = keysOf(90, 'old');
    const out = mergeTraits({ traits: old, order: Object.keys(old) }, call(keysOf(40, 'new')));
    expect(out.order).toEqual([...Object.keys(old).slice(30), ...Object.keys(keysOf(40, 'new'))]);
    expect(Object.keys(out.traits)).toEqual(out.order);
  });

  it(`keeps at most ${MERGED_TRAITS.bytes / 1024} KB, newest first, up to the first key that does not fit`, () => {
    const kb = 'x'.repeat(1000);
    const older = { ...keysOf(10, 'old', kb), tiny: 1 };
    const out = mergeTraits({ traits: older, order: Object.keys(older) }, call(keysOf(10, 'new', kb)));
    const size = Object.entries(out.traits).reduce((n, [k, v]) => n + traitEntryBytes(k, v), 0);
    expect(size).toBeLessThanOrEqual(MERGED_TRAITS.bytes);
    expect(out.order).toEqual(['old4', 'old5', 'old6', 'old7', 'old8', 'old9', 'tiny', ...Object.keys(keysOf(10, 'new'))]);
  });

  it('keys a stored order does not name (rows from before it was kept) count as oldest', () => {
    const out = mergeTraits({ traits: { legacy: 1, kept: 2 }, order: ['kept'] }, call({ n: 3 }));
    expect(out.order).toEqual(['legacy', 'kept', 'n']);
  });
});

describe('merged traits stay bounded at the wire', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  const fresh = (call: number, n: number, value: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${call}_k${i}`, value]));
  const t0 = Date.now() - 10 * 24 * HOUR;
  const at = (call: number) => iso(t0 + call * 60_000);
  const stored = async (table: 'people' | 'companies', key: string) => {
    const [r] = await rows<{ keys: number; bytes: number; traits: Record<string, unknown> }>(
      app.database.db,
      table === 'people'
        ? sql`select (select count(*) from jsonb_object_keys(traits))::int as keys, octet_length(traits::text) as bytes, traits from people where person_id = ${key}`
        : sql`select (select count(*) from jsonb_object_keys(traits))::int as keys, octet_length(traits::text) as bytes, traits from companies where company_key = ${key}`,
    );
    return r;
  };

  it('identifies with fresh keys keep a person at 100 keys, the newest call whole, and each identify stays fast', async () => {
    const took: number[] = [];
    for (let call = 0; call < 60; call++) {
      const t = performance.now();
      // `plan` comes with every call, so it stays young; `name` came once, at the start.
      const r = await post(`${app.url}/v1/identify`, { userId: 'grow', timestamp: at(call), traits: { ...(call === 0 ? { name: 'Grow Person' } : {}), plan: `p${call}`, ...fresh(call, 40, 'v'.repeat(100)) } });
      took.push(performance.now() - t);
      expect(r.status).toBe(200);
    }
    const row = await stored('people', 'grow');
    expect(row.keys).toBe(MERGED_TRAITS.keys);
    for (const k of Object.keys(fresh(59, 40, ''))) expect(row.traits).toHaveProperty(k);
    // The call before fills the rest of the room before anything older.
    expect(Object.keys(row.traits).filter((k) => k.startsWith('c58_'))).toHaveLength(40);
    expect(row.traits.plan).toBe('p59');
    expect(row.traits).not.toHaveProperty('name');
    expect((await person(app.database.db, 'grow')).name).toBeNull();
    // Unbounded, this row held 2,400 keys.
    took.sort((a, b) => a - b);
    expect(took[took.length >> 1]).toBeLessThan(250);
  });

  it('identifies with large values keep a person within 16 KB', async () => {
    const took: number[] = [];
    for (let call = 0; call < 40; call++) {
      const t = performance.now();
      // ~25 KB an identify (under the 32 KB per call): 3 MB a person, unbounded.
      const r = await post(`${app.url}/v1/identify`, { userId: 'heavy', timestamp: at(call), traits: fresh(call, 25, 'w'.repeat(1000)) });
      took.push(performance.now() - t);
      expect(r.status).toBe(200);
    }
    const row = await stored('people', 'heavy');
    expect(row.bytes).toBeLessThanOrEqual(MERGED_TRAITS.bytes + 1024);
    expect(Object.keys(row.traits).every((k) => k.startsWith('c39_'))).toBe(true);
    took.sort((a, b) => a - b);
    expect(took[took.length >> 1]).toBeLessThan(250);
  });

  it('group calls with fresh keys keep a company bounded; a late, older call does not push newer keys out', async () => {
    for (let call = 0; call < 30; call++) {
      const r = await post(`${app.url}/v1/group`, { userId: 'g1', groupId: 'wide-co', timestamp: at(call), traits: { name: 'Wide Co', ...fresh(call, 40, 'v'.repeat(100)) } });
      expect(r.status).toBe(200);
    }
    let row = await stored('companies', 'wide-co');
    expect(row.keys).toBe(MERGED_TRAITS.keys);
    for (const k of [...Object.keys(fresh(29, 40, '')), 'name']) expect(row.traits).toHaveProperty(k);
    expect(Object.keys(row.traits).filter((k) => k.startsWith('c28_'))).toHaveLength(40);

    // Sent long ago, arriving now: it is older than what is held, so it only fills free room (none).
    expect((await post(`${app.url}/v1/group`, { userId: 'g1', groupId: 'wide-co', timestamp: at(-100), traits: fresh(900, 40, 'late') })).status).toBe(200);
    row = await stored('companies', 'wide-co');
    expect(row.keys).toBe(MERGED_TRAITS.keys);
    expect(Object.keys(row.traits).some((k) => k.startsWith('c900_'))).toBe(false);
    expect(row.traits).toHaveProperty('c29_k0');

    // Large values: within 16 KB.
    for (let call = 30; call < 45; call++) {
      expect((await post(`${app.url}/v1/group`, { userId: 'g1', groupId: 'wide-co', timestamp: at(call), traits: fresh(call, 25, 'w'.repeat(1000)) })).status).toBe(200);
    }
    row = await stored('companies', 'wide-co');
    expect(row.bytes).toBeLessThanOrEqual(MERGED_TRAITS.bytes + 1024);
    expect(Object.keys(row.traits).filter((k) => k.startsWith('c44_')).length).toBeGreaterThanOrEqual(15);
  });

  it('a batch of many identifies for one person is bounded inside the request too', async () => {
    const batch = Array.from({ length: 20 }, (_, call) => ({ type: 'identify', userId: 'in-one', timestamp: at(call), traits: fresh(call, 20, 'v'.repeat(200)) }));
    expect((await post(`${app.url}/v1/batch`, { batch })).status).toBe(200);
    const row = await stored('people', 'in-one');
    expect(row.keys).toBeLessThanOrEqual(MERGED_TRAITS.keys);
    expect(row.bytes).toBeLessThanOrEqual(MERGED_TRAITS.bytes + 1024);
    for (const k of Object.keys(fresh(19, 20, ''))) expect(row.traits).toHaveProperty(k);
  });
});
