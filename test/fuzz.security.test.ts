/**
 * Hostile input, fuzzed with fast-check: the ingestion API and the /groups
 * parser always answer 200/400 or a clear reply; never a 5xx, never a crash,
 * and nothing is stored from a refused request.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGroupsCommand } from '../src/domain/command.js';
import { parseRequest, SpecError } from '../src/ingest/segment.js';
import { tableCounts } from './helpers/dbq.js';
import { post, startTestApp } from './harness.js';

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
const key = fc.oneof(fc.constantFrom(...PROTO_KEYS, 'userId', 'anonymousId', 'event', 'type', 'groupId', 'timestamp', 'sentAt', 'context', 'traits', 'properties', 'messageId', 'batch', 'writeKey'), fc.string());
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('\uD800', 'a\u0000b', '\uDFFFx', '😀', '<!channel>', '&amp;', ''.padEnd(5000, 'x'), '2026-13-45T99:99:99Z', 'NaN'),
);
const leaf = fc.oneof(weirdString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 6 })),
})).v;
/** An event: mostly the right fields, each of any type. */
const event = fc.record(
  {
    type: fc.oneof(fc.constantFrom('track', 'identify', 'group', 'page', 'screen'), value),
    userId: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), value),
    anonymousId: value,
    event: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), value),
    groupId: fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), value),
    timestamp: fc.oneof(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), value),
    context: value,
    traits: value,
    properties: value,
    messageId: fc.oneof(fc.uuid(), value),
  },
  { requiredKeys: [] },
);

describe('parsers never throw anything but a clear refusal', () => {
  it('parseRequest: SpecError or events, for any JSON', () => {
    fc.assert(
      fc.property(fc.oneof(value, fc.record({ batch: fc.array(event, { maxLength: 5 }) }), event), fc.constantFrom('batch', 'track', 'identify', 'group', 'page', 'screen'), (body, endpoint) => {
        try {
          const out = parseRequest(body, { endpoint: endpoint as never, receivedAt: new Date(), groupKeyPath: ['properties', '__proto__'] });
          for (const e of out) {
            expect(typeof e.personId).toBe('string');
            expect(Number.isFinite(e.time.getTime())).toBe(true);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(SpecError);
          expect((err as Error).message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseGroupsCommand: a command or help, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(fc.constantFrom('top', 'by', 'limit', 'show', '7d', '999d', 'people', '-1', '__proto__', 'constructor', ' ', '\t'), { maxLength: 8 }).map((w) => w.join(' '))), fc.boolean(), (text, keyActionsSet) => {
        const cmd = parseGroupsCommand(text, { keyActionsSet });
        expect(['top', 'quiet', 'show', 'report', 'key', 'digest', 'help']).toContain(cmd.kind);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('the ingestion API under fuzz', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  it('answers 200 or 400 to anything, and a 400 stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(value, fc.record({ batch: fc.array(event, { maxLength: 6 }) }), event), fc.constantFrom('batch', 'track', 'identify', 'group'), async (body, endpoint) => {
        const before = await tableCounts(app.database.db);
        const r = await post(`${app.url}/v1/${endpoint}`, JSON.stringify(body));
        expect([200, 400]).toContain(r.status);
        if (r.status === 400) {
          expect(r.json?.success).toBe(false);
          expect(await tableCounts(app.database.db)).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ['deep nesting', `{"batch":[{"type":"track","userId":"u","event":"e","properties":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`],
    ['deep objects', `{"userId":"u","event":"e","properties":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`],
    ['a huge string', JSON.stringify({ userId: 'u', event: 'x'.repeat(40_000) })],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"userId":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","event":"e"}')])],
    ['a lone surrogate escape', '{"userId":"\\ud800","event":"e"}'],
    ['a NUL escape in a trait', '{"userId":"n1","traits":{"name":"a\\u0000b"},"type":"identify"}'],
    ['prototype keys', '{"userId":"p1","event":"e","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"context":{"__proto__":{"groupId":"evil"}}}'],
  ])('%s: 200 or 400, never 5xx', async (_name, body) => {
    const path = body.toString().includes('"batch"') ? '/v1/batch' : '/v1/track';
    const r = await post(`${app.url}${path}`, body as string);
    expect([200, 400]).toContain(r.status);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('the server is still healthy after all of it', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });
});
