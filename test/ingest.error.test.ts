/**
 * Every refusal of the Tracking API gets Segment's answer and stores nothing.
 */
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableCounts } from './helpers/dbq.js';
import { basic, post, startTestApp, WRITE_KEY } from './harness.js';

const ZERO = { messages: 0, people: 0, companies: 0, company_days: 0, company_people: 0, sessions: 0 };

describe('ingestion refusals', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  const track = (extra: Record<string, unknown> = {}) => ({ type: 'track', userId: 'u1', event: 'Clicked', ...extra });

  it.each([
    ['no key', { authorization: '' }, { batch: [track()] }],
    ['an unknown key', { authorization: basic('nope') }, { batch: [track()] }],
    ['an unknown key in the body', { authorization: '' }, { writeKey: 'nope', batch: [track()] }],
    ['a malformed Authorization header', { authorization: 'Bearer x' }, { batch: [track()] }],
  ])('401 for %s, nothing stored', async (_name, headers, body) => {
    const r = await post(`${app.url}/v1/batch`, body, headers);
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ success: false });
    expect(r.json?.error).toMatch(/write key/);
    expect(await tableCounts(app.database.db)).toEqual(ZERO);
  });

  it('accepts the key in the body', async () => {
    const r = await post(`${app.url}/v1/track`, { writeKey: WRITE_KEY, ...track({ messageId: 'body-key' }) }, { authorization: '' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true });
    // Leave the database as the refusal tests expect it.
    await app.database.db.execute(sql`truncate messages, message_days, people, companies, company_days, company_people, company_person_days, person_sessions`);
  });

  it.each([
    ['invalid JSON', '/v1/batch', '{"batch": [', /not valid JSON/],
    ['a body that is not an object', '/v1/track', '[1,2]', /JSON object/],
    ['batch that is not an array', '/v1/batch', { batch: {} }, /batch: must be an array/],
    ['no userId and no anonymousId', '/v1/batch', { batch: [track(), { type: 'track', event: 'X' }] }, /batch\[1\]\.userId/],
    ['a track with no event', '/v1/batch', { batch: [track(), track(), { type: 'track', userId: 'u' }] }, /batch\[2\]\.event/],
    ['a group with no groupId', '/v1/group', { userId: 'u1', traits: {} }, /groupId/],
    ['an unparseable timestamp', '/v1/batch', { batch: [track({ timestamp: 'yesterday' })] }, /batch\[0\]\.timestamp/],
    ['a number as timestamp', '/v1/track', track({ timestamp: 12 }), /timestamp/],
    ['an unknown type', '/v1/batch', { batch: [{ type: 'explode', userId: 'u' }] }, /batch\[0\]\.type/],
    ['an object as userId', '/v1/batch', { batch: [track({ userId: { a: 1 } })] }, /batch\[0\]\.userId/],
    ['a context that is not an object', '/v1/batch', { batch: [track({ context: 'x' })] }, /batch\[0\]\.context/],
    ['traits that are not an object', '/v1/identify', { userId: 'u', traits: [1] }, /traits/],
    ['a NUL in an id', '/v1/track', track({ userId: 'a\u0000b' }), /userId/],
    ['an alias with no previousId', '/v1/batch', { batch: [track(), { type: 'alias', userId: 'u1' }] }, /batch\[1\]\.previousId/],
    ['an alias with no userId', '/v1/alias', { previousId: 'a1' }, /userId/],
  ])('400 for %s, naming the event and field; nothing stored', async (_name, path, body, message) => {
    const r = await post(`${app.url}${path}`, body);
    expect(r.status).toBe(400);
    expect(r.json?.success).toBe(false);
    expect(r.json?.error).toMatch(message);
    expect(await tableCounts(app.database.db)).toEqual(ZERO);
  });

  const padded = (bytes: number) => {
    // One event whose JSON is exactly `bytes` long.
    const base = { type: 'track', userId: 'u1', event: 'Padded', properties: { pad: '' } };
    const pad = bytes - Buffer.byteLength(JSON.stringify(base));
    return { ...base, properties: { pad: 'x'.repeat(pad) } };
  };

  it('a single call just under 32 KB is stored; just over is 400', async () => {
    const ok = { ...padded(32 * 1024 - 200), messageId: 'just-under' };
    const okBody = JSON.stringify(ok);
    expect(Buffer.byteLength(okBody)).toBeLessThanOrEqual(32 * 1024);
    expect((await post(`${app.url}/v1/track`, okBody)).status).toBe(200);
    const over = JSON.stringify(padded(32 * 1024 + 1));
    const r = await post(`${app.url}/v1/track`, over);
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/over 32 KB/);
    expect((await tableCounts(app.database.db)).messages).toBe(1);
  });

  it('a batch event over 32 KB is 400 naming its index, and nothing of the batch is stored', async () => {
    const before = await tableCounts(app.database.db);
    const r = await post(`${app.url}/v1/batch`, { batch: [track({ messageId: 'b-1' }), padded(32 * 1024 + 10)] });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/batch\[1\]/);
    expect(await tableCounts(app.database.db)).toEqual(before);
  });

  it('a batch just under 500 KB is stored; just over is 400', async () => {
    const before = await tableCounts(app.database.db);
    const event = (i: number) => ({ ...padded(20_000), messageId: `big-${i}` });
    const batch = Array.from({ length: 24 }, (_, i) => event(i)); // ~480 KB
    const under = JSON.stringify({ batch });
    expect(Buffer.byteLength(under)).toBeLessThan(500 * 1024);
    expect((await post(`${app.url}/v1/batch`, under)).status).toBe(200);
    const overBatch = Array.from({ length: 26 }, (_, i) => ({ ...padded(20_000), messageId: `over-${i}` }));
    const over = JSON.stringify({ batch: overBatch });
    expect(Buffer.byteLength(over)).toBeGreaterThan(500 * 1024);
    const r = await post(`${app.url}/v1/batch`, over);
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/over 500 KB/);
    expect((await tableCounts(app.database.db)).messages).toBe(before.messages + 24);
  });

  it('accepts gzip bodies and refuses a gzip bomb by its inflated size', async () => {
    const body = gzipSync(JSON.stringify({ batch: [track({ messageId: 'gz-1' })] }));
    const ok = await post(`${app.url}/v1/batch`, body, { 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MB of spaces, ~50 KB compressed
    expect(bomb.length).toBeLessThan(500 * 1024);
    const before = await tableCounts(app.database.db);
    const r = await post(`${app.url}/v1/batch`, bomb, { 'content-encoding': 'gzip' });
    expect(r.status).toBe(400);
    expect(r.json?.error).toMatch(/once inflated/);
    expect(await tableCounts(app.database.db)).toEqual(before);
  });

  it('answers on every endpoint', async () => {
    for (const [path, body] of [
      ['/v1/identify', { userId: 'e1', traits: { name: 'E' }, messageId: 'ep-1' }],
      ['/v1/group', { userId: 'e1', groupId: 'g', messageId: 'ep-2' }],
      ['/v1/page', { userId: 'e1', name: 'Home', messageId: 'ep-3' }],
      ['/v1/screen', { userId: 'e1', name: 'Home', messageId: 'ep-4' }],
      ['/v1/track', { userId: 'e1', event: 'X', messageId: 'ep-5' }],
      ['/v1/alias', { userId: 'e1', previousId: 'anon-e1', messageId: 'ep-6' }],
    ] as const) {
      const r = await post(`${app.url}${path}`, body);
      expect({ path, status: r.status, json: r.json }).toEqual({ path, status: 200, json: { success: true } });
    }
  });

  it('an alias alone (or a batch of aliases) is accepted and stores nothing', async () => {
    const before = await tableCounts(app.database.db);
    for (const [path, body] of [
      ['/v1/alias', { userId: 'al-9', previousId: 'anon-al-9' }],
      ['/v1/batch', { batch: [{ type: 'alias', userId: 'al-9', previousId: 'anon-al-9' }] }],
    ] as const) {
      const r = await post(`${app.url}${path}`, body);
      expect(r.status).toBe(200);
    }
    expect(await tableCounts(app.database.db)).toEqual(before);
  });
});

describe('ingestion with no write keys configured', () => {
  it('answers 401 and says how to turn it on', async () => {
    const app = await startTestApp({ env: { INGEST_WRITE_KEYS: '' } });
    try {
      const r = await post(`${app.url}/v1/track`, { userId: 'u', event: 'X' });
      expect(r.status).toBe(401);
      expect(r.json?.error).toMatch(/INGEST_WRITE_KEYS/);
      expect(await tableCounts(app.database.db)).toEqual(ZERO);
    } finally {
      await app.stop();
      await app.dropDatabase();
    }
  });
});
