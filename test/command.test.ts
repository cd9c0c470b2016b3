import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nearestSubcommand, parseGroupsCommand, parseMetric, parseRange } from '../src/domain/command.js';
import type { GroupsCommand } from '../src/domain/types.js';

const on = { keyActionsSet: true };
const off = { keyActionsSet: false };
const d30 = { days: 30, label: '30d' };

describe('parseGroupsCommand: valid commands', () => {
  const table: [string, GroupsCommand][] = [
    ['top', { kind: 'top', range: d30, metric: null, limit: 10 }],
    ['TOP', { kind: 'top', range: d30, metric: null, limit: 10 }],
    ['  top  ', { kind: 'top', range: d30, metric: null, limit: 10 }],
    ['top 7d', { kind: 'top', range: { days: 7, label: '7d' }, metric: null, limit: 10 }],
    ['top 7D', { kind: 'top', range: { days: 7, label: '7d' }, metric: null, limit: 10 }],
    ['top 1d', { kind: 'top', range: { days: 1, label: '1d' }, metric: null, limit: 10 }],
    ['top 365d', { kind: 'top', range: { days: 365, label: '365d' }, metric: null, limit: 10 }],
    ['top 007d', { kind: 'top', range: { days: 7, label: '7d' }, metric: null, limit: 10 }],
    ['top 4w', { kind: 'top', range: { days: 28, label: '4w' }, metric: null, limit: 10 }],
    ['top 52w', { kind: 'top', range: { days: 364, label: '52w' }, metric: null, limit: 10 }],
    ['top 30 days', { kind: 'top', range: d30, metric: null, limit: 10 }],
    ['top 2 weeks', { kind: 'top', range: { days: 14, label: '2w' }, metric: null, limit: 10 }],
    ['top 90days', { kind: 'top', range: { days: 90, label: '90d' }, metric: null, limit: 10 }],
    ['top by sessions 90d', { kind: 'top', range: { days: 90, label: '90d' }, metric: 'sessions', limit: 10 }],
    ['top 90d by sessions', { kind: 'top', range: { days: 90, label: '90d' }, metric: 'sessions', limit: 10 }],
    ['top by SESSIONS', { kind: 'top', range: d30, metric: 'sessions', limit: 10 }],
    ['top by events', { kind: 'top', range: d30, metric: 'events', limit: 10 }],
    ['top by people', { kind: 'top', range: d30, metric: 'people', limit: 10 }],
    ['top by key_actions', { kind: 'top', range: d30, metric: 'key_actions', limit: 10 }],
    ['top by key-actions', { kind: 'top', range: d30, metric: 'key_actions', limit: 10 }],
    ['top by keyactions', { kind: 'top', range: d30, metric: 'key_actions', limit: 10 }],
    ['top by Key_Actions', { kind: 'top', range: d30, metric: 'key_actions', limit: 10 }],
    ['top by key actions 7d', { kind: 'top', range: { days: 7, label: '7d' }, metric: 'key_actions', limit: 10 }],
    ['top by=events', { kind: 'top', range: d30, metric: 'events', limit: 10 }],
    ['top sessions', { kind: 'top', range: d30, metric: 'sessions', limit: 10 }],
    ['top key actions', { kind: 'top', range: d30, metric: 'key_actions', limit: 10 }],
    ['top limit 5', { kind: 'top', range: d30, metric: null, limit: 5 }],
    ['top limit=5', { kind: 'top', range: d30, metric: null, limit: 5 }],
    ['top limit 5 by people 2w', { kind: 'top', range: { days: 14, label: '2w' }, metric: 'people', limit: 5 }],
    ['top limit 50', { kind: 'top', range: d30, metric: null, limit: 50 }],
    ['top limit 51', { kind: 'top', range: d30, metric: null, limit: 50 }],
    ['top limit 100000000000000000000000', { kind: 'top', range: d30, metric: null, limit: 50 }],
    ['top\t7d\tby\tevents  ', { kind: 'top', range: { days: 7, label: '7d' }, metric: 'events', limit: 10 }],
    ['top\u00a07d', { kind: 'top', range: { days: 7, label: '7d' }, metric: null, limit: 10 }],
    ['top 7d 7d', { kind: 'top', range: { days: 7, label: '7d' }, metric: null, limit: 10 }],
    ['quiet', { kind: 'quiet', range: d30 }],
    ['Quiet 2w', { kind: 'quiet', range: { days: 14, label: '2w' } }],
    ['report', { kind: 'report', range: d30 }],
    ['report 90d', { kind: 'report', range: { days: 90, label: '90d' } }],
    ['show Acme', { kind: 'show', query: 'Acme', range: d30 }],
    ['SHOW acme', { kind: 'show', query: 'acme', range: d30 }],
    ['show   Acme    Inc  ', { kind: 'show', query: 'Acme Inc', range: d30 }],
    ['show acct_123', { kind: 'show', query: 'acct_123', range: d30 }],
    ['show <!channel> & co', { kind: 'show', query: '<!channel> & co', range: d30 }],
    ['show top', { kind: 'show', query: 'top', range: d30 }],
    ['show 7d', { kind: 'show', query: '7d', range: d30 }],
    ['key', { kind: 'key' }],
    ['KEY', { kind: 'key' }],
    ['digest', { kind: 'digest' }],
    ['help', { kind: 'help', unknown: null, problem: null }],
    ['', { kind: 'help', unknown: null, problem: null }],
    ['   \t ', { kind: 'help', unknown: null, problem: null }],
    ['?', { kind: 'help', unknown: null, problem: null }],
  ];
  it.each(table)('%j', (text, expected) => {
    expect(parseGroupsCommand(text, on)).toEqual(expected);
  });

  it('keeps the metric null (the caller resolves the default) without KEY_ACTIONS too', () => {
    expect(parseGroupsCommand('top', off)).toEqual({ kind: 'top', range: d30, metric: null, limit: 10 });
    expect(parseGroupsCommand('top by events', off)).toMatchObject({ kind: 'top', metric: 'events' });
  });
});

describe('parseGroupsCommand: help, naming the word or the problem', () => {
  const table: [text: string, unknown: string | null, problem: RegExp | null][] = [
    ['frobnicate', 'frobnicate', null],
    ['Frobnicate now', 'Frobnicate', null],
    ['<!channel>', '<!channel>', null],
    ['top foo', 'foo', /“foo” is none of these/],
    ['top 7d banana', 'banana', /“banana”/],
    ['top by', null, /`by` needs a metric/],
    ['top by revenue', 'revenue', /“revenue” is not a metric/],
    ['top limit', null, /`limit` needs a number/],
    ['top limit 0', null, /at least 1/],
    ['top limit -3', null, /at least 1/],
    ['top limit five', 'five', /not a whole number/],
    ['top limit 2.5', '2.5', /not a whole number/],
    ['top 400d', null, /“400d” is out of bounds: use 1d to 365d/],
    ['top 0d', null, /“0d” is out of bounds/],
    ['top 366d', null, /out of bounds/],
    ['top 53w', null, /“53w” is out of bounds: use 1w to 52w/],
    ['top 0w', null, /out of bounds/],
    ['top 99999999999999999999d', null, /out of bounds/],
    ['top 7x', '7x', /none of these/],
    ['top 7', '7', /“7” needs a unit: 7d or 7w for a range, or `limit 7`/],
    ['top 7d 30d', null, /one range, not both 7d and 30d/],
    ['top by events by sessions', null, /one metric/],
    ['top limit 5 limit 6', null, /one limit/],
    ['quiet by events', 'by', /`quiet` takes only a range/],
    ['quiet 400d', null, /out of bounds/],
    ['quiet limit 5', 'limit', /only a range/],
    ['report 30', '30', /needs a unit: 30d or 30w for a range\./],
    ['report everything', 'everything', /only a range/],
    ['show', null, /`show` needs a company name or key/],
    ['show    ', null, /`show` needs/],
    ['key please', 'please', /`key` takes nothing more/],
    ['digest now', 'now', /`digest` takes nothing more/],
  ];
  it.each(table)('%j', (text, unknown, problem) => {
    const cmd = parseGroupsCommand(text, on);
    expect(cmd.kind).toBe('help');
    if (cmd.kind !== 'help') return;
    expect(cmd.unknown).toBe(unknown);
    if (problem === null) expect(cmd.problem).toBeNull();
    else expect(cmd.problem).toMatch(problem);
  });

  it.each(['top by key_actions', 'top by key-actions', 'top key actions', 'top by keyactions 7d'])(
    '%j without KEY_ACTIONS names KEY_ACTIONS',
    (text) => {
      const cmd = parseGroupsCommand(text, off);
      expect(cmd).toMatchObject({ kind: 'help', unknown: null });
      if (cmd.kind === 'help') expect(cmd.problem).toMatch(/KEY_ACTIONS/);
    },
  );

  it('cuts an absurdly long unknown word', () => {
    const cmd = parseGroupsCommand('x'.repeat(10_000), on);
    expect(cmd.kind).toBe('help');
    if (cmd.kind === 'help') expect(cmd.unknown!.length).toBeLessThanOrEqual(200);
  });
});

describe('a mistyped subcommand: the nearest one is suggested', () => {
  it.each([
    ['tpo', 'tpo', 'top'],
    ['TPO 7d', 'TPO', 'top'],
    ['to', 'to', 'top'],
    ['tops', 'tops', 'top'],
    ['shwo acme', 'shwo', 'show'],
    ['sho Acme Inc', 'sho', 'show'],
    ['qiuet', 'qiuet', 'quiet'],
    ['quite', 'quite', 'quiet'],
    ['reprot 90d', 'reprot', 'report'],
    ['repot', 'repot', 'report'],
    ['kye', 'kye', 'key'],
    ['keys', 'keys', 'key'],
    ['digets', 'digets', 'digest'],
    ['disgest', 'disgest', 'digest'],
    ['hlep', 'hlep', 'help'],
    ['showme acme', 'showme', 'show'],
    ['quietly', 'quietly', 'quiet'],
    ['t<p', 't<p', 'top'],
  ])('%j: names “%s”, suggests %s', (text, unknown, suggestion) => {
    expect(parseGroupsCommand(text, on)).toEqual({ kind: 'help', unknown, problem: null, suggestion });
  });

  it.each(['acme', 'frobnicate', 'xyz', 'globex', 'tp0p', 'northwind', '<!channel>', 'revenue', 'k', 'x'.repeat(300)])(
    '%j is too far from every subcommand: named, nothing suggested',
    (text) => {
      const cmd = parseGroupsCommand(text, on);
      expect(cmd).toMatchObject({ kind: 'help', problem: null });
      expect(cmd).not.toHaveProperty('suggestion');
      if (cmd.kind === 'help') expect(cmd.unknown).not.toBeNull();
    },
  );

  it('help and empty text are the help, with nothing to suggest', () => {
    for (const text of ['help', '', '  ', '--help']) expect(parseGroupsCommand(text, on)).toEqual({ kind: 'help', unknown: null, problem: null });
  });

  it('one edit for short words, two for longer ones; ties go to the first subcommand', () => {
    expect(nearestSubcommand('tp')).toBe('top');
    expect(nearestSubcommand('tpp')).toBe('top');
    expect(nearestSubcommand('oq')).toBeNull(); // two edits from `top`, but only 2 letters
    expect(nearestSubcommand('qutt')).toBeNull(); // two edits from `quiet`, 4 letters
    expect(nearestSubcommand('qiuett')).toBe('quiet'); // a swap and an extra letter: two edits, 6 letters
    expect(nearestSubcommand('rpeort')).toBe('report');
    expect(nearestSubcommand('kep')).toBe('key');
    expect(nearestSubcommand('')).toBeNull();
  });
});

describe('parseRange and parseMetric', () => {
  it.each([
    ['30d', { days: 30, label: '30d' }],
    ['1w', { days: 7, label: '1w' }],
    ['12weeks', { days: 84, label: '12w' }],
  ])('%s', (w, range) => expect(parseRange(w)).toEqual({ ok: true, range }));
  it.each(['abc', '7', 'd7', '7x', ''])('%j is not a range', (w) => expect(parseRange(w)).toBeNull());
  it.each([
    ['key_actions', 'key_actions'],
    ['Key Actions', 'key_actions'],
    ['event', 'events'],
    ['session', 'sessions'],
    ['person', 'people'],
    ['revenue', null],
  ])('%s -> %s', (w, m) => expect(parseMetric(w)).toBe(m));
});

describe('parseGroupsCommand: never throws', () => {
  it('on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        const cmd = parseGroupsCommand(s, on);
        expect(['top', 'quiet', 'show', 'events', 'report', 'key', 'digest', 'help']).toContain(cmd.kind);
      }),
      { numRuns: 2000 },
    );
  });
  it('on strings made of its own words', () => {
    const word = fc.constantFrom('top', 'by', 'limit', 'key', 'actions', '7d', '4w', '0d', '400d', '5', '-1', 'events', 'show', 'quiet', '', ' ', '\t', 'x');
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), fc.boolean(), (words, set) => {
        const cmd = parseGroupsCommand(words.join(' '), { keyActionsSet: set });
        if (cmd.kind === 'top') {
          expect(cmd.limit).toBeGreaterThanOrEqual(1);
          expect(cmd.limit).toBeLessThanOrEqual(50);
          expect(cmd.range.days).toBeGreaterThanOrEqual(1);
          expect(cmd.range.days).toBeLessThanOrEqual(365);
          if (!set) expect(cmd.metric).not.toBe('key_actions');
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('on non-strings handed in by mistake', () => {
    expect(parseGroupsCommand(undefined as unknown as string, on)).toEqual({ kind: 'help', unknown: null, problem: null });
  });
});
