/**
 * The importer's pure pieces, in tables: CSV and line framing, vendor times, what the trend
 * can see, and the call `--url` sends, which the API must turn back into the same event.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanTraits, parseRequest, type SegmentEvent } from '../src/ingest/segment.js';
import { detectFraming, LineSplitter, splitCsv } from '../src/import/framing.js';
import { isoTime, isTimeZone, wallClockToUtc } from '../src/import/formats/format.js';
import { amplitude } from '../src/import/formats/amplitude.js';
import { mixpanel } from '../src/import/formats/mixpanel.js';
import { posthog } from '../src/import/formats/posthog.js';
import { detectFormat } from '../src/import/formats/index.js';
import { toSegmentCall } from '../src/import/sink.js';
import { trendCoverage } from '../src/import/summary.js';
import { derivedId } from '../src/import/read-input.js';

const opts = { groupProperty: 'company_id', groupType: 'company', map: {} };

describe('CSV fields', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,c', ['a', '', 'c']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['"line\nbreak",x', ['line\nbreak', 'x']],
    ['"open,x', null],
    ['', ['']],
    ['a;b', ['a;b']],
  ])('%j', (line, fields) => expect(splitCsv(line)).toEqual(fields));

  it('semicolons and tabs as delimiters', () => {
    expect(splitCsv('a;"b;c"', ';')).toEqual(['a', 'b;c']);
    expect(splitCsv('a\tb', '\t')).toEqual(['a', 'b']);
  });
});

describe('lines', () => {
  it('numbers lines across chunks, CRLF or LF, drops a BOM, keeps a last line without newline', () => {
    const got: [number, string | null][] = [];
    const s = new LineSplitter((n, t) => got.push([n, t]));
    const bytes = Buffer.from('\uFEFF{"a":1}\r\n\n{"b":"é');
    s.push(bytes.subarray(0, 9));
    s.push(bytes.subarray(9, bytes.length - 1)); // the é split in two bytes
    s.push(bytes.subarray(bytes.length - 1));
    s.push(Buffer.from('"}'));
    s.end();
    expect(got).toEqual([
      [1, '{"a":1}'],
      [2, ''],
      [3, '{"b":"é"}'],
    ]);
  });

  it('a break in the content drops the half line', () => {
    const got: string[] = [];
    const s = new LineSplitter((_, t) => got.push(t!));
    s.push(Buffer.from('{"a":1}\n{"b":'));
    s.abandon();
    expect(got).toEqual(['{"a":1}']);
  });

  it.each([
    ['{"type":"track"}', 'jsonl'],
    ['  {"x":1}', 'jsonl'],
    ['id,user_id,event', 'csv'],
    ['id\tuser_id', 'csv'],
    ['[{"x":1}]', null],
    ['hello', null],
  ])('framing of %j', (line, framing) => expect(detectFraming(line)).toBe(framing));
});

describe('vendor times', () => {
  it.each([
    [1764400000, '2025-11-29T07:06:40.000Z'],
    [1764400000123, '2025-11-29T07:06:40.123Z'],
    ['1764400000', '2025-11-29T07:06:40.000Z'],
    ['2026-11-29 10:00:00.123456', '2026-11-29T10:00:00.123456Z'],
    ['2026-11-29 10:00:00.000 UTC', '2026-11-29T10:00:00.000Z'],
    ['2026-11-29T10:00:00+0200', '2026-11-29T10:00:00+02:00'],
    ['2026-11-29T10:00:00Z', '2026-11-29T10:00:00Z'],
  ])('%j is %s', (v, iso) => expect(isoTime(v, 'f')).toBe(iso));

  it('a time that is none names the field', () => {
    expect(() => isoTime('', 'properties.time')).toThrow(/properties.time: must be a time/);
    expect(() => isoTime({}, 'event_time')).toThrow(/event_time/);
  });
});

describe('a wall-clock time in a zone, as UTC', () => {
  it.each([
    ['UTC', '2026-07-01T12:00:00', '2026-07-01T12:00:00.000Z'],
    ['America/Los_Angeles', '2026-07-01T12:00:00', '2026-07-01T19:00:00.000Z'],
    ['America/Los_Angeles', '2026-01-15T12:00:00', '2026-01-15T20:00:00.000Z'],
    // The clocks go forward at 02:00 on 2026-03-08: before and after.
    ['America/Los_Angeles', '2026-03-08T01:30:00', '2026-03-08T09:30:00.000Z'],
    ['America/Los_Angeles', '2026-03-08T05:00:00', '2026-03-08T12:00:00.000Z'],
    // The clocks go back at 02:00 on 2026-11-01: 01:30 happens twice, read as the first (PDT).
    ['America/Los_Angeles', '2026-11-01T01:30:00', '2026-11-01T08:30:00.000Z'],
    ['America/Los_Angeles', '2026-11-01T03:00:00', '2026-11-01T11:00:00.000Z'],
    ['Europe/Berlin', '2026-07-01T00:30:00', '2026-06-30T22:30:00.000Z'],
    ['Asia/Kolkata', '2026-01-01T00:00:00', '2025-12-31T18:30:00.000Z'],
    ['Australia/Sydney', '2026-01-01T09:15:30.5', '2025-12-31T22:15:30.500Z'],
  ])('%s %s', (zone, wall, utc) => expect(new Date(wallClockToUtc(Date.parse(`${wall}Z`), zone)).toISOString()).toBe(utc));

  it('knows IANA zones and refuses anything else', () => {
    expect(isTimeZone('America/Los_Angeles')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Pacific Time')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});

describe('formats', () => {
  it('are told apart by their fields', () => {
    expect(detectFormat({ type: 'track', userId: 'u', event: 'x' })?.name).toBe('segment');
    expect(detectFormat({ type: 'track', userId: 'u', event: 'x', rudderId: 'r' })?.name).toBe('rudderstack');
    expect(detectFormat({ event: 'x', properties: { distinct_id: 'u', time: 1 } })?.name).toBe('mixpanel');
    expect(detectFormat({ event_type: 'x', user_id: 'u', event_time: '2026-01-01 00:00:00' })?.name).toBe('amplitude');
    expect(detectFormat({ event: 'x', distinct_id: 'u', uuid: '1', timestamp: '2026-01-01T00:00:00Z' })?.name).toBe('posthog');
    expect(detectFormat({ foo: 1 })).toBeUndefined();
  });

  it('Mixpanel: the first company of a list; no --group-property, no company', () => {
    const r = { event: 'Login', properties: { time: 1764400000, distinct_id: 'u1', $insert_id: 'i1', company_id: ['', 'acme', 'b'] } };
    expect(mixpanel.toCall(r, opts)).toEqual({ call: { type: 'track', event: 'Login', userId: 'u1', timestamp: '2025-11-29T07:06:40.000Z', messageId: 'i1', context: { groupId: 'acme' } } });
    expect('context' in (mixpanel.toCall(r, { ...opts, groupProperty: null }) as { call: object }).call).toBe(false);
  });

  it('Mixpanel: --project-timezone reads `time` as that zone\'s wall clock (exports of projects created before 2023)', () => {
    // 2025-11-28 23:06:40 on Los Angeles' wall clock, written as epoch seconds: 2025-11-29 07:06:40 UTC.
    const wall = Date.UTC(2025, 10, 28, 23, 6, 40) / 1000;
    const r = { event: 'Login', properties: { time: wall, distinct_id: 'u1', $insert_id: 'i1' } };
    expect((mixpanel.toCall(r, { ...opts, projectTimeZone: 'America/Los_Angeles' }) as { call: { timestamp: string } }).call.timestamp).toBe('2025-11-29T07:06:40.000Z');
    expect((mixpanel.toCall(r, opts) as { call: { timestamp: string } }).call.timestamp).toBe('2025-11-28T23:06:40.000Z');
    // In ms too (above 1e10).
    expect((mixpanel.toCall({ ...r, properties: { ...r.properties, time: wall * 1000 + 250 } }, { ...opts, projectTimeZone: 'America/Los_Angeles' }) as { call: { timestamp: string } }).call.timestamp).toBe('2025-11-29T07:06:40.250Z');
  });

  it('Amplitude: device_id when no user_id; uuid when no $insert_id; a real session id', () => {
    const r = { event_type: 'Login', user_id: null, device_id: 'd1', event_time: null, client_event_time: '2026-01-01 10:00:00.5', uuid: 'uu', groups: { company: ['acme'] }, session_id: 1767261600000 };
    expect(amplitude.toCall(r, opts)).toEqual({
      call: { type: 'track', event: 'Login', anonymousId: 'd1', timestamp: '2026-01-01T10:00:00.5Z', messageId: 'uu', context: { groupId: 'acme', sessionId: '1767261600000' } },
    });
  });

  it('PostHog: $groupidentify of another type is left out; $identify sets traits', () => {
    expect(posthog.toCall({ event: '$groupidentify', distinct_id: 'u', timestamp: '2026-01-01T00:00:00Z', properties: { $group_type: 'project', $group_key: 'p' } }, opts)).toEqual({ ignore: '$groupidentify of another group type' });
    expect(posthog.toCall({ event: '$identify', distinct_id: 'u', uuid: 'x', timestamp: '2026-01-01T00:00:00Z', properties: { $set: { name: 'Ada' } } }, opts)).toEqual({
      call: { type: 'identify', userId: 'u', messageId: 'x', timestamp: '2026-01-01T00:00:00Z', traits: { name: 'Ada' } },
    });
  });

  it('a derived id depends on the content and the format, not on key order', () => {
    expect(derivedId('segment', { a: 1, b: [1, { c: 2, d: 3 }] })).toBe(derivedId('segment', { b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(derivedId('segment', { a: 1 })).not.toBe(derivedId('mixpanel', { a: 1 }));
    expect(derivedId('segment', { a: 1 })).not.toBe(derivedId('segment', { a: 2 }));
  });
});

describe('what the trend can see', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const days = (from: number, to: number) => {
    const s = new Set<string>();
    for (let d = from; d <= to; d++) s.add(new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10));
    return s;
  };
  const first = (d: number) => now.getTime() - d * 86_400_000;
  it.each([
    [days(1, 200), first(200), '84 of 84 baseline days present: trends are live'],
    [days(1, 98), first(98), '84 of 84 baseline days present: trends are live'],
    [days(1, 97), first(97), '83 of 84 baseline days present: trends are live, on a shorter baseline until 2026-12-01'],
    [days(1, 40), first(40), '26 of 84 baseline days present: trends are live, on a shorter baseline until 2027-01-27'],
    [days(1, 20), first(20), '6 of 84 baseline days present: companies read "new" until 2026-12-08 (28 days after the first event)'],
    [days(120, 200), first(200), '0 of 84 baseline days present: trends are live (the other baseline days hold no imported activity)'],
    [new Set<string>(), null, '0 of 84 baseline days present: no activity imported'],
  ])('%#', (d, f, line) => expect(trendCoverage(d, f, now)).toBe(line));
});

describe('the call --url sends', () => {
  const idText = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() === s && s.length > 0 && !/[\uD800-\uDFFF\u0000]/.test(s));
  const traits = fc.option(fc.dictionary(fc.constantFrom('name', 'email', 'plan', 'seats'), fc.oneof(idText, fc.integer())), { nil: null });
  const event: fc.Arbitrary<SegmentEvent> = fc
    .record({
      type: fc.constantFrom('track', 'identify', 'group', 'page', 'screen' as const),
      messageId: idText,
      user: fc.option(idText, { nil: null }),
      anon: idText,
      ms: fc.integer({ min: 946_684_800_000, max: 4_000_000_000_000 }),
      name: fc.option(idText, { nil: null }),
      companyKey: fc.option(idText, { nil: null }),
      companyName: fc.option(idText, { nil: null }),
      traits,
      sessionId: fc.option(idText, { nil: null }),
    })
    .map((x) => {
      // What the API itself produces: parse a call built from these parts.
      const call: Record<string, unknown> = { type: x.type, messageId: x.messageId, timestamp: new Date(x.ms).toISOString() };
      if (x.user) call.userId = x.user;
      else call.anonymousId = x.anon;
      if (x.type === 'track') call.event = x.name ?? 'Login';
      if ((x.type === 'page' || x.type === 'screen') && x.name) call.name = x.name;
      const context: Record<string, unknown> = {};
      if (x.type === 'group') {
        call.groupId = x.companyKey ?? 'acme';
        call.traits = { ...(x.traits ?? {}), ...(x.companyName ? { name: x.companyName } : {}) };
      } else {
        if (x.companyKey) context.groupId = x.companyKey;
        if (x.type === 'identify') call.traits = { ...(x.traits ?? {}), ...(x.companyName && x.companyKey ? { company: { id: x.companyKey, name: x.companyName } } : {}) };
        else if (x.traits) context.traits = { ...x.traits, ...(x.companyName && x.companyKey ? { company: { id: x.companyKey, name: x.companyName } } : {}) };
      }
      if (x.sessionId) context.sessionId = x.sessionId;
      if (Object.keys(context).length) call.context = context;
      return parseRequest(call, { endpoint: x.type, receivedAt: new Date(4_100_000_000_000), groupKeyPath: null })[0];
    });

  it('turns back into exactly the same event', () => {
    fc.assert(
      fc.property(event, (e) => {
        const again = parseRequest(toSegmentCall(e), { endpoint: e.type, receivedAt: new Date(4_100_000_000_000), groupKeyPath: ['properties', 'account'] })[0];
        expect(again).toEqual(e);
      }),
      { numRuns: 500 },
    );
  });

  it('prefixes the ids of other vendors', () => {
    const [e] = parseRequest({ type: 'track', event: 'x', userId: 'u', messageId: 'm1' }, { endpoint: 'track', receivedAt: new Date(), groupKeyPath: null });
    expect(toSegmentCall(e, 'mixpanel:').messageId).toBe('mixpanel:m1');
    expect(cleanTraits('x')).toBe('x');
  });
});

describe('the time-ordered spill', () => {
  it('replays in (time, order read), splitting buckets too big to sort in memory, dropping repeats, leaving no files', async () => {
    const { TimeSpill } = await import('../src/import/spill.js');
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const parent = mkdtempSync(join(tmpdir(), 'lm-spill-test-'));
    const spill = new TimeSpill(parent, { maxInMemory: 7, bufferEvents: 3 });
    const r = (() => {
      let s = 3;
      return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    })();
    const day = Date.parse('2026-11-20T00:00:00Z');
    const added: { id: string; ms: number; seq: number }[] = [];
    for (let i = 0; i < 300; i++) {
      // Most in one day (split, and split again); a burst of 20 in one millisecond; a few other days.
      const ms = i < 20 ? day + 5_000 : i % 10 === 0 ? day - 86_400_000 * (i % 3) : day + Math.floor(r() * 86_400_000);
      const e = { type: 'track' as const, messageId: `m${i}`, personId: 'p', userId: 'p', time: new Date(ms), name: 'x', companyKey: null, companyName: null, companyTraits: null, personTraits: null, sessionId: null, source: 's' };
      spill.add(e);
      added.push({ id: e.messageId, ms, seq: i });
      if (i % 50 === 0) spill.add({ ...e }); // a repeated line
    }
    const out: string[] = [];
    for await (const chunk of spill.replay(11)) {
      expect(chunk.length).toBeLessThanOrEqual(11);
      out.push(...chunk.map((e) => e.messageId!));
    }
    const expected = [...added].sort((a, b) => a.ms - b.ms || a.seq - b.seq).map((a) => a.id);
    expect(out).toEqual(expected);
    expect(spill.repeated).toBe(6);
    expect(readdirSync(spill.dir)).toEqual([]);
    spill.remove();
    expect(readdirSync(parent)).toEqual([]);
    rmSync(parent, { recursive: true, force: true });
  });

  it('gives back every event exactly, whatever its characters and size (the lines wait as UTF-8 bytes in blocks of 64 KB)', async () => {
    const { TimeSpill } = await import('../src/import/spill.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const parent = mkdtempSync(join(tmpdir(), 'lm-spill-test-'));
    // Flushed every 7 events and every 100,000 characters; whole days sorted in memory.
    const spill = new TimeSpill(parent, { bufferEvents: 7, bufferChars: 100_000 });
    const t = Date.parse('2026-11-20T10:00:00Z');
    const texts = ['plain', 'Größe ünd Maß', '顧客の会社', 'rocket 🚀 and 👩‍💻', 'quote " backslash \\ newline \n tab \t', '\u2028 line separator'];
    const added: unknown[] = [];
    for (let i = 0; i < 400; i++) {
      const text = texts[i % texts.length];
      // Every 37th event carries traits of 30,000 to 90,000 characters: a line of 1 to 3 blocks of its own, or more in bytes.
      const big = i % 37 === 0 ? { note: `${text} `.repeat(Math.ceil((30_000 + (i % 3) * 30_000) / (text.length + 1))) } : null;
      const e = {
        type: 'identify' as const, messageId: `m${i}-${text}`, personId: `p${i % 9} ${text}`, userId: `p${i % 9} ${text}`, time: new Date(t + (i % 50) * 1000 + i),
        name: null, companyKey: `c ${text}`, companyName: text, companyTraits: { name: text }, personTraits: big, sessionId: null, source: 's', idHash: String(-i * 7919),
      };
      spill.add(e);
      added.push(e);
    }
    const out: unknown[] = [];
    for await (const chunk of spill.replay(13)) out.push(...chunk);
    const byTime = (a: unknown, b: unknown) => (a as { time: Date }).time.getTime() - (b as { time: Date }).time.getTime();
    expect(out).toEqual([...added].sort(byTime));
    spill.remove();
    rmSync(parent, { recursive: true, force: true });
  });

  it('holds a waiting line in blocks of at most about twice its bytes, for one day or thousands (an export in no time order)', async () => {
    const { PendingLines } = await import('../src/import/spill.js');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'lm-lines-test-'));
    // 3,000 days, each given 7 lines of about 300 bytes between appends, 3 times over: a block per day
    // sized for a busy day (64 KB) would hold 192 MB; these hold about the lines' own size.
    const days = Array.from({ length: 3000 }, () => new PendingLines());
    const expected = days.map(() => [] as string[]);
    for (let round = 0; round < 3; round++) {
      let bytes = 0;
      let held = 0;
      for (let i = 0; i < 7; i++) {
        days.forEach((d, k) => {
          const line = `{"n":${i},"day":${k},"é":"${'x'.repeat(280 + ((k * 7 + i) % 13))}"}`;
          d.push(line);
          expected[k].push(line);
          bytes += Buffer.byteLength(line) + 1;
        });
      }
      for (const d of days) held += d.allocated;
      expect(held).toBeLessThan(2 * bytes + 3000 * 1024);
      days.forEach((d, k) => d.appendTo(join(dir, `d${k}`)));
      expect(days.reduce((n, d) => n + d.allocated, 0)).toBe(0);
    }
    for (const k of [0, 1, 1234, 2999]) expect(readFileSync(join(dir, `d${k}`), 'utf8')).toBe(expected[k].map((l) => `${l}\n`).join(''));
    // One busy day: lines of every size around the blocks' edges, some far longer than a block.
    const busy = new PendingLines();
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 0; i < 2000; i++) {
      const line = i % 250 === 0 ? '😀'.repeat(40_000 + i) : `${'ü'.repeat(i % 700)}${'a'.repeat((i * 37) % 1500)}`;
      busy.push(line);
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
    }
    expect(busy.allocated).toBeLessThan(2 * bytes + 1024);
    busy.appendTo(join(dir, 'busy'));
    expect(readFileSync(join(dir, 'busy'), 'utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
    // More blocks than IOV_MAX (1,024 on Linux): every byte, in order, after what the file held.
    const { appendBlocks } = await import('../src/import/spill.js');
    const blocks = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i}:${'b'.repeat(i % 50)}\n`));
    appendBlocks(join(dir, 'busy'), blocks);
    expect(readFileSync(join(dir, 'busy'), 'utf8')).toBe(lines.map((l) => `${l}\n`).join('') + Buffer.concat(blocks).toString());
    rmSync(dir, { recursive: true, force: true });
  });

  it('merges the days of several writers (read workers) in (time, order read), splitting one millisecond by order', async () => {
    const { SpillWriter, TimeSpill } = await import('../src/import/spill.js');
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const parent = mkdtempSync(join(tmpdir(), 'lm-spill-test-'));
    const spill = new TimeSpill(parent, { maxInMemory: 5, bufferEvents: 4 });
    const writers = [new SpillWriter(spill.dir, 'w0-', { bufferEvents: 4 }), new SpillWriter(spill.dir, 'w1-', { bufferEvents: 4 })];
    const t = Date.parse('2026-11-20T10:00:00Z');
    const added: { id: string; ms: number; order: number }[] = [];
    // Inputs 0..5, alternately read by the two writers; 8 events each, all but the last two in one millisecond.
    for (let input = 0; input < 6; input++) {
      for (let n = 0; n < 8; n++) {
        const order = input * 2 ** 32 + n;
        const ms = n < 6 ? t : t - 60_000 * (input + 1);
        const e = { type: 'track' as const, messageId: `i${input}-${n}`, personId: 'p', userId: 'p', time: new Date(ms), name: 'x', companyKey: null, companyName: null, companyTraits: null, personTraits: null, sessionId: null, source: 's' };
        writers[input % 2].add(order, e);
        added.push({ id: e.messageId, ms, order });
      }
      // Input 5 repeats a line of input 0 in that millisecond (an export's duplicate): replayed once, at input 0's place.
      if (input === 5) writers[1].add(5 * 2 ** 32 + 8, { type: 'track', messageId: 'i0-2', personId: 'p', userId: 'p', time: new Date(t), name: 'x', companyKey: null, companyName: null, companyTraits: null, personTraits: null, sessionId: null, source: 's' });
    }
    for (const w of writers) spill.adopt(w.close());
    expect(spill.count).toBe(49);
    const out: string[] = [];
    for await (const chunk of spill.replay(7)) out.push(...chunk.map((e) => e.messageId!));
    expect(out).toEqual([...added].sort((a, b) => a.ms - b.ms || a.order - b.order).map((a) => a.id));
    expect(spill.repeated).toBe(1);
    expect(readdirSync(spill.dir)).toEqual([]);
    spill.remove();
    rmSync(parent, { recursive: true, force: true });
  });
});
