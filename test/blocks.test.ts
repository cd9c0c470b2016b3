import { describe, expect, it } from 'vitest';
import type { KnownBlock } from '@slack/types';
import fc from 'fast-check';
import {
  detailTrend,
  digestMessage,
  helpMessage,
  keyHealthMessage,
  matchesMessage,
  noMatchMessage,
  nowVsBefore,
  quietMessage,
  reportMessage,
  roughly,
  showMessage,
  topMessage,
} from '../src/render/blocks.js';
import { parseAction } from '../src/render/action-ids.js';
import { homeDetailView } from '../src/render/home-view.js';
import { RECENT_DAYS } from '../src/domain/trend.js';
import type { KeyHealth, SlackMessage } from '../src/domain/types.js';
import { counts, detail, falling, manyRows, NASTY_NAMES, NOW, person, daysAgo, row, workedExample } from './fixtures/rows.js';

const d30 = { days: 30, label: '30d' };

// ---------------------------------------------------------------------------
// What every message must satisfy, whatever its data

interface TextObj {
  type: string;
  text: string;
  verbatim?: boolean;
}

function walk(node: unknown, visit: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    Object.values(node).forEach((v) => walk(v, visit));
  }
}

function textObjects(blocks: KnownBlock[]): TextObj[] {
  const out: TextObj[] = [];
  walk(blocks, (o) => {
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o as unknown as TextObj);
  });
  return out;
}

/** All mrkdwn the user sees, plus the fallback. */
function mrkdwnOf(msg: SlackMessage): string[] {
  return [msg.text, ...textObjects(msg.blocks).filter((t) => t.type === 'mrkdwn').map((t) => t.text)];
}

/** Everything visible, escaped or not (for "is the name there" checks). */
function allText(msg: SlackMessage): string {
  return [msg.text, ...textObjects(msg.blocks).map((t) => t.text)].join('\n');
}

function expectValid(msg: SlackMessage): void {
  expect(msg.text.length).toBeGreaterThan(0);
  expect(msg.text.length).toBeLessThan(40_000);
  expect(msg.blocks.length).toBeGreaterThan(0);
  expect(msg.blocks.length).toBeLessThanOrEqual(50);
  const ids: string[] = [];
  walk(msg.blocks, (o) => {
    expect(o).not.toHaveProperty('link_names');
    expect(o).not.toHaveProperty('parse');
    if (o.type === 'mrkdwn') {
      expect(o.verbatim).toBe(true);
      expect((o.text as string).length).toBeGreaterThan(0);
    }
    if (o.type === 'section') {
      if (o.text) expect((o.text as TextObj).text.length).toBeLessThan(3000);
      if (o.fields) {
        expect((o.fields as TextObj[]).length).toBeLessThanOrEqual(10);
        for (const f of o.fields as TextObj[]) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
      expect(o.text || o.fields).toBeTruthy();
    }
    if (o.type === 'header') expect((o.text as TextObj).text.length).toBeLessThanOrEqual(150);
    if (o.type === 'context') {
      for (const e of o.elements as TextObj[]) expect(e.text.length).toBeLessThanOrEqual(2000);
    }
    if (o.type === 'button') {
      expect((o.text as TextObj).type).toBe('plain_text');
      expect((o.text as TextObj).text.length).toBeLessThanOrEqual(75);
      expect((o.action_id as string).length).toBeLessThanOrEqual(255);
      if (o.value !== undefined) expect((o.value as string).length).toBeLessThanOrEqual(2000);
      ids.push(o.action_id as string);
    }
  });
  expect(new Set(ids).size).toBe(ids.length); // Slack wants unique action ids in a message
  // We never write a link or a mention ourselves, so no < or > may reach mrkdwn.
  for (const t of mrkdwnOf(msg)) expect(t).not.toMatch(/[<>]/);
}

/** The escaped form must appear, and the raw one never in mrkdwn. */
function expectEscaped(msg: SlackMessage, raw: string): void {
  const escaped = raw.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  expect(msg.text).toContain(escaped);
  expect(mrkdwnOf(msg).join('\n')).toContain(escaped);
}

const nastyRows = () => NASTY_NAMES.map((name, i) => row({ key: `k${i}<x>`, name, trend: 'down sharply', change: -0.8 }));

function buttons(msg: SlackMessage): { action_id: string; value?: string; text: TextObj }[] {
  const out: { action_id: string; value?: string; text: TextObj }[] = [];
  walk(msg.blocks, (o) => {
    if (o.type === 'button') out.push(o as never);
  });
  return out;
}

// ---------------------------------------------------------------------------

describe('topMessage', () => {
  const msg = topMessage({ rows: workedExample(), metric: 'key_actions', range: d30, totalCompanies: 3, keyActionsSet: true, now: NOW });

  it('titles with range and metric', () => {
    expect(msg.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Most active companies · last 30 days · by key actions' } });
    expect(msg.text.split('\n')[0]).toBe('Most active companies · last 30 days · by key actions');
  });

  it('shows each row with rank, name, people, the total and the trend with its sign, in order', () => {
    expect(msg.text).toContain('*1. Acme Inc*\n14 people · 1,200 key actions · ↑ up');
    expect(msg.text).toContain('*2. Northwind Ltd*\n9 people · 800 key actions · → steady');
    expect(msg.text).toContain('*3. Globex*\n11 people · 120 key actions · ⇊ down sharply');
    expect(msg.text.indexOf('Acme')).toBeLessThan(msg.text.indexOf('Northwind'));
    expect(msg.text.indexOf('Northwind')).toBeLessThan(msg.text.indexOf('Globex'));
    expectValid(msg);
  });

  it('gives each company a Details button with its key', () => {
    const b = buttons(msg);
    expect(b.map((x) => x.text.text)).toEqual(['Details', 'Details', 'Details']);
    expect(b.map((x) => parseAction(x.action_id, x.value!))).toEqual([
      { kind: 'show', key: 'acct_acme' },
      { kind: 'show', key: 'acct_northwind' },
      { kind: 'show', key: 'acct_globex' },
    ]);
  });

  it.each([
    ['events', '5,000 events'],
    ['sessions', '300 sessions'],
  ] as const)('by %s shows %s', (metric, total) => {
    const m = topMessage({ rows: [row()], metric, range: d30, totalCompanies: 1, keyActionsSet: true, now: NOW });
    expect(m.text).toContain(`10 people · ${total} · → steady`);
    expect(m.text).toContain(`by ${metric}`);
  });

  it('by people does not say the people twice', () => {
    const m = topMessage({ rows: [row()], metric: 'people', range: d30, totalCompanies: 1, keyActionsSet: true, now: NOW });
    expect(m.text).toContain('*1. Acme Inc*\n10 people · → steady');
  });

  it('shows the key where there is no name, and singulars', () => {
    const m = topMessage({
      rows: [row({ key: 'acct_9', name: null, activity: { people: 1, events: 1, keyActions: 1, sessions: 1 }, trend: 'new' })],
      metric: 'key_actions',
      range: { days: 28, label: '4w' },
      totalCompanies: 1,
      keyActionsSet: true,
      now: NOW,
    });
    expect(m.text).toContain('*1. acct_9*\n1 person · 1 key action · ✦ new');
    expect(m.text).toContain('last 4 weeks');
  });

  it('suggests KEY_ACTIONS when ranking by events for want of it', () => {
    const m = topMessage({ rows: [row()], metric: 'events', range: d30, totalCompanies: 1, keyActionsSet: false, now: NOW });
    expect(m.text).toContain('KEY_ACTIONS');
    expectValid(m);
  });

  it('says so when there is nothing', () => {
    const m = topMessage({ rows: [], metric: 'events', range: { days: 7, label: '7d' }, totalCompanies: 0, keyActionsSet: true, now: NOW });
    expect(m.text).toContain('No company has any activity in the last 7 days.');
    expectValid(m);
  });

  it('escapes every name', () => {
    const m = topMessage({ rows: nastyRows(), metric: 'events', range: d30, totalCompanies: 6, keyActionsSet: true, now: NOW });
    for (const n of NASTY_NAMES) expectEscaped(m, n);
    expect(m.text).toContain('@here'); // harmless text, only & < > are escaped
    expect(m.text).toContain('&amp;amp;');
    expectValid(m);
  });

  it('keeps every one of 50 rows (limit 50) within 50 blocks', () => {
    const m = topMessage({ rows: manyRows(50), metric: 'key_actions', range: d30, totalCompanies: 500, keyActionsSet: true, now: NOW });
    expectValid(m);
    for (let i = 0; i < 50; i++) expect(m.text).toContain(`*${i + 1}. Company ${i}*`);
    expect(m.text).not.toContain('more');
  });

  it('stays within the limits with 500 companies and 2,000-character names', () => {
    const m = topMessage({
      rows: manyRows(500, (i) => `${'<!channel>'.repeat(200)}${i}`),
      metric: 'key_actions',
      range: d30,
      totalCompanies: 500,
      keyActionsSet: true,
      now: NOW,
    });
    expectValid(m);
    expect(m.text).toMatch(/and \d+ more$/);
  });
});

describe('nowVsBefore', () => {
  it('compares the recent window with the baseline scaled to its length', () => {
    // a baseline worth 1,200 per recent window; 120 now: −90 %
    expect(nowVsBefore(falling('g', 'Globex', 120, 1200), 'key_actions')).toBe(
      `120 key actions in the last ${RECENT_DAYS} days, was about 1,200, −90 %`,
    );
  });
  it('uses the shorter baseline of a young company', () => {
    // 40 days old: 26 days of baseline; 260 over 26 days = 140 per 14 days (RECENT_DAYS)
    const r = row({ windows: { recent: 14, baseline: 260, ageDays: 40 }, change: -0.9 });
    expect(nowVsBefore(r, 'events')).toBe(`14 events in the last ${RECENT_DAYS} days, was about 140, −90 %`);
  });
  it.each([
    [1234, 1200],
    [99.4, 99],
    [150, 150],
    [1, 1],
    [987_654, 990_000],
  ])('roughly(%s) = %s', (n, r) => expect(roughly(n)).toBe(r));
});

describe('quietMessage', () => {
  it('lists the falling with people, now against before, trend and a button', () => {
    const rows = [falling('acct_globex', 'Globex', 120, 1200, 11), falling('acct_x', 'X Corp', 70, 100, 3)];
    const m = quietMessage({ rows, range: d30, metric: 'key_actions', now: NOW });
    expect(m.text).toContain(`*1. Globex*\n11 people · 120 key actions in the last ${RECENT_DAYS} days, was about 1,200, −90 % · ⇊ down sharply`);
    expect(m.text).toContain(`*2. X Corp*\n3 people · 70 key actions in the last ${RECENT_DAYS} days, was about 100, −30 % · ↓ down`);
    expect(buttons(m).map((b) => parseAction(b.action_id, b.value!))).toEqual([
      { kind: 'show', key: 'acct_globex' },
      { kind: 'show', key: 'acct_x' },
    ]);
    expectValid(m);
  });
  it('is a one-line all clear when nothing falls', () => {
    const m = quietMessage({ rows: [], range: d30, metric: 'events', now: NOW });
    expect(m.text).toContain('All clear');
    expect(m.blocks).toHaveLength(2);
    expectValid(m);
  });
  it('escapes and stays within limits at 500', () => {
    const m = quietMessage({ rows: nastyRows(), range: d30, metric: 'events', now: NOW });
    for (const n of NASTY_NAMES) expectEscaped(m, n);
    expectValid(m);
    const big = quietMessage({
      rows: Array.from({ length: 500 }, (_, i) => falling(`k${i}`, 'x'.repeat(2000), 10, 4000)),
      range: d30,
      metric: 'events',
      now: NOW,
    });
    expectValid(big);
    expect(big.text).toMatch(/and \d+ more$/);
  });
});

describe('showMessage', () => {
  const m = showMessage({ detail: detail(), metric: 'key_actions', range: d30, now: NOW });

  it('shows name, key, traits, people, metrics and trend', () => {
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Acme Inc' } });
    const t = allText(m);
    expect(t).toContain('Key `acct_acme` · first seen Nov 3 · last seen 2 hours ago');
    expect(t).toContain('*plan*: enterprise');
    expect(t).toContain('*seats*: 40');
    expect(t).toContain('14 active · 20 known in all');
    expect(t).toContain('*Key actions*\n1,200');
    expect(t).toContain('*Events*\n5,000');
    expect(t).toContain('*Sessions*\n300');
    expect(t).toContain('*Trend*\n↑ up (+35 %)');
    expectValid(m);
  });

  it('draws 12 weeks as a sparkline with the first and last week', () => {
    expect(m.text).toContain('Weekly key actions, last 12 weeks\n▁▂▂▂▃▃▄▆▇█▇█  Mar 11 → May 27 · peak 310 · latest 310');
  });

  it('ranks people with when each was last seen', () => {
    expect(m.text).toContain('1. Jane Doe · 400 key actions · last seen 3 days ago');
    expect(m.text).toContain('2. john@acme.com · 300 key actions · last seen 5 minutes ago');
    expect(m.text).toContain('3. u3 · 100 key actions · last seen 2 weeks ago');
  });

  it('caps the people with "and N more"', () => {
    const people = Array.from({ length: 35 }, (_, i) => person(`u${i}`, `Person ${i}`, 100 - i, daysAgo(1)));
    const big = showMessage({ detail: detail({ people }), metric: 'events', range: d30, now: NOW });
    expect(big.text).toContain('10. Person 9');
    expect(big.text).not.toContain('11. Person 10');
    expect(big.text).toContain('and 25 more');
    expectValid(big);
  });

  it('leaves key actions out without KEY_ACTIONS, and ranks people by events for "people"', () => {
    const s = showMessage({ detail: detail(), metric: 'people', range: d30, now: NOW, keyActionsSet: false });
    expect(allText(s)).not.toContain('Key actions');
    expect(s.text).toContain('People by events');
    expect(s.text).toContain('1. Jane Doe · 1,600 events');
  });

  it('escapes name, key, traits and people; renders nested traits compactly', () => {
    const s = showMessage({
      detail: detail({
        name: '<!channel>',
        key: '<@U123>',
        traits: { '<b>': '<https://x|y>', plan: '&amp;', nested: { a: '<!here>' }, list: [1, 2], empty: null },
        people: [person('u1', '<!everyone> @here', 3, daysAgo(1))],
      }),
      metric: 'events',
      range: d30,
      now: NOW,
    });
    for (const raw of ['<!channel>', '<@U123>', '<https://x|y>', '&amp;', '<!everyone> @here']) expectEscaped(s, raw);
    expect(s.text).toContain('*&lt;b&gt;*: &lt;https://x|y&gt;');
    expect(s.text).toContain('*nested*: {"a":"&lt;!here&gt;"}');
    expect(s.text).toContain('*list*: [1,2]');
    expect(s.text).not.toContain('empty');
    expect(s.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text', text: '<!channel>' } }); // plain text is not parsed
    expectValid(s);
  });

  it('stays within limits with huge names, traits and people', () => {
    const traits = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t${i}${'<'.repeat(500)}`, '&'.repeat(2000)]));
    const people = Array.from({ length: 500 }, (_, i) => person(`u${i}`, '<'.repeat(2000), 5, daysAgo(i)));
    const s = showMessage({ detail: detail({ name: 'N'.repeat(2000), key: 'k'.repeat(3000), traits, people }), metric: 'events', range: d30, now: NOW, back: 'top 30d' });
    expectValid(s);
    expect(s.text).toContain('and 290 more');
  });

  it('What they do, Fell most and Stopped stay within limits with the longest hostile event names, escaped, in show and App Home', () => {
    const name = (i: number) => `${i}${'<&>'.repeat(700)}`;
    const events = {
      top: Array.from({ length: 8 }, (_, i) => ({ name: name(i), count: 1000 - i, change: -0.5 })),
      names: 150,
      other: 12,
      judged: true,
      fellMost: Array.from({ length: 5 }, (_, i) => ({ name: name(10 + i), perWeekBefore: 42, perWeekNow: 3, change: -0.93, trend: 'down sharply' as const })),
      stopped: Array.from({ length: 5 }, (_, i) => ({ name: name(20 + i), perWeekBefore: 30, activeWeeks: 12, weeks: 12, lastDay: '2026-11-01' })),
    };
    const s = showMessage({ detail: detail({ events }), metric: 'events', range: d30, now: NOW });
    expectValid(s);
    for (const heading of ['*What they do', '*Fell most', '*Stopped']) {
      const section = mrkdwnOf(s).find((t) => t.startsWith(heading))!;
      expect(section.length).toBeLessThan(3000);
      // Every name cut to 80 characters before escaping, never half an entity.
      expect(section).not.toMatch(/&(?!(amp|lt|gt);)/);
    }
    expect(mrkdwnOf(s).find((t) => t.startsWith('*Stopped'))!.split('\n')).toHaveLength(6);
    expect(allText(s)).not.toMatch(/<&>/);
    const home = homeDetailView({ detail: detail({ events }), metric: 'events', range: d30, now: NOW, back: { view: 'list', range: d30, metric: 'events', page: 1 } });
    expect(home.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(home.blocks)).toContain('Fell most');
  });

  it('offers a Back button when asked', () => {
    const s = showMessage({ detail: detail(), metric: 'events', range: d30, now: NOW, back: 'top 7d' });
    const [b] = buttons(s);
    expect(parseAction(b.action_id, b.value!)).toEqual({ kind: 'back', to: 'top 7d' });
  });
});

describe('matchesMessage and noMatchMessage', () => {
  it('lists the choices with their keys and suggests /groups show KEY', () => {
    const m = matchesMessage({ query: 'acme', matches: [{ key: 'acct_1', name: 'Acme Inc' }, { key: 'acct_2', name: 'Acme GmbH' }, { key: 'acme', name: null }] });
    expect(m.text).toContain('3 companies match “acme”');
    expect(m.text).toContain('*Acme Inc* · key `acct_1`');
    expect(m.text).toContain('key `acme`');
    expect(m.text).toContain('/groups show KEY');
    expect(buttons(m).map((b) => b.value)).toEqual(['acct_1', 'acct_2', 'acme']);
    expectValid(m);
  });
  it('escapes the query and the names; limits 500 matches', () => {
    const m = matchesMessage({ query: '<!channel>', matches: NASTY_NAMES.map((n, i) => ({ key: `<k${i}>`, name: n })) });
    for (const n of [...NASTY_NAMES, '<!channel>']) expectEscaped(m, n);
    expectValid(m);
    const big = matchesMessage({ query: 'c', matches: Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, name: '&'.repeat(2000) })) });
    expectValid(big);
    expect(big.text).toContain('more');
  });
  it('says there is none and suggests the closest names', () => {
    const m = noMatchMessage({ query: 'Acne <@U1>', suggestions: [{ key: 'acct_1', name: 'Acme Inc' }] });
    expect(m.text).toContain('No company matches “Acne &lt;@U1&gt;”.');
    expect(m.text).toContain('Closest names:');
    expect(m.text).toContain('*Acme Inc* · key `acct_1`');
    expect(buttons(m)).toHaveLength(1);
    expectValid(m);
  });
  it('says there is none, with no suggestion', () => {
    const m = noMatchMessage({ query: 'zzz', suggestions: [] });
    expect(m.text).toContain('No company matches “zzz”.');
    expectValid(m);
  });
});

describe('reportMessage', () => {
  it('gives every count and what it means', () => {
    const m = reportMessage({ counts: counts(), range: d30, now: NOW });
    expect(m.text).toContain('Active: 30 · Growing: 4 · Steady: 20 · At risk: 3 · Gone quiet: 1 · New: 2 · Total: 1,260');
    const t = allText(m);
    for (const w of ['*Active*\n30', '*Growing*\n4', '*Steady*\n20', '*At risk*\n3', '*Gone quiet*\n1', '*New*\n2', '*Total*\n1,260']) expect(t).toContain(w);
    expect(t).toContain('*At risk*: trending down');
    expectValid(m);
  });
});

describe('keyHealthMessage', () => {
  const health = (eventsWith7: number, over: Partial<KeyHealth> = {}): KeyHealth => ({
    coverage: [
      { days: 30, events: 40_000, eventsWithCompany: 30_000, people: 800, peopleWithCompany: 600 },
      { days: 7, events: 10_000, eventsWithCompany: eventsWith7, people: 300, peopleWithCompany: 120 },
    ],
    splits: [],
    nameLikeKeys: [],
    ...over,
  });

  it('shows the shares over 7 and 30 days', () => {
    const m = keyHealthMessage({ health: health(9000), keyPath: null });
    const t = allText(m);
    expect(t).toContain('*Events with a company*\n7 days: 90 % (9,000 of 10,000)\n30 days: 75 % (30,000 of 40,000)');
    expect(t).toContain('*People with a company*\n7 days: 40 % (120 of 300)\n30 days: 75 % (600 of 800)');
    expect(m.text).toContain('The group key is flowing: 90 %');
    expect(m.text).not.toContain('analytics.group');
    expectValid(m);
  });

  it('says plainly when the key is not flowing and shows how to send it', () => {
    const m = keyHealthMessage({ health: health(1200), keyPath: 'properties.account_id' });
    expect(m.text).toContain('The group key is not flowing: only 12 % of events in the last 7 days carry a company (under 50 %)');
    expect(m.text).toContain("analytics.group({ userId, groupId: 'acct_123', traits: { name: 'Acme Inc', plan: 'pro' } })");
    expect(m.text).toContain("analytics.track({ userId, event: 'Report Created', context: { groupId: 'acct_123' } })");
    expect(allText(m)).toContain('```');
    expect(m.text).toContain('`properties.account_id` (GROUP_KEY_PATH)');
    expectValid(m);
  });

  it('handles no events at all', () => {
    const m = keyHealthMessage({
      health: { coverage: [{ days: 7, events: 0, eventsWithCompany: 0, people: 0, peopleWithCompany: 0 }], splits: [], nameLikeKeys: [] },
      keyPath: null,
    });
    expect(m.text).toContain('No events yet');
    expect(m.text).toContain('7 days: — (0 of 0)');
    expectValid(m);
  });

  it('lists split companies with their keys, and name-like keys, escaped', () => {
    const m = keyHealthMessage({
      health: health(9000, {
        splits: [{ reason: 'acme', companies: [{ key: 'acct_1', name: 'Acme Inc' }, { key: 'acme-2', name: 'ACME, Inc.' }, { key: '<!channel>', name: null }] }],
        nameLikeKeys: [{ key: 'Acme Inc', name: 'Acme Inc' }, { key: '<@U123>', name: null }],
      }),
      keyPath: null,
    });
    expect(m.text).toContain('• acme: `acct_1` (Acme Inc), `acme-2` (ACME, Inc.), `&lt;!channel&gt;`');
    expect(m.text).toContain('• `Acme Inc` (Acme Inc)');
    expect(m.text).toContain('• `&lt;@U123&gt;`');
    expectValid(m);
  });

  it('stays within limits with 500 splits', () => {
    const splits = Array.from({ length: 500 }, (_, i) => ({
      reason: `r${i}`,
      companies: Array.from({ length: 30 }, (_, j) => ({ key: `<k${j}>`.repeat(100), name: '&'.repeat(2000) })),
    }));
    const m = keyHealthMessage({ health: health(10, { splits, nameLikeKeys: splits[0].companies }), keyPath: '<x>'.repeat(1000) });
    expectValid(m);
    expect(m.text).toMatch(/and \d+ more/);
  });
});

describe('helpMessage', () => {
  it('lists every subcommand', () => {
    const m = helpMessage({ unknown: null, problem: null, keyActionsSet: true });
    for (const sub of ['top [range] [by METRIC] [limit N]', 'quiet [range]', 'show NAME-OR-KEY', 'report [range]', '/groups key', '/groups digest', '/groups help']) {
      expect(m.text).toContain(sub);
    }
    expect(m.text).toContain('default key_actions');
    expect(m.text).not.toContain('⚠️');
    expectValid(m);
  });
  it('says the default metric is events without KEY_ACTIONS', () => {
    expect(helpMessage({ unknown: null, problem: null, keyActionsSet: false }).text).toContain('default events (set KEY_ACTIONS');
  });
  it('names an unknown word, escaped', () => {
    const m = helpMessage({ unknown: '<!channel>', problem: null, keyActionsSet: true });
    expect(m.text).toContain('I don\'t know “&lt;!channel&gt;”.');
    expectValid(m);
  });
  it('states the problem, escaped', () => {
    const m = helpMessage({ unknown: '<@U1>', problem: '“<@U1>” is not a metric', keyActionsSet: true });
    expect(m.text).toContain('⚠️ “&lt;@U1&gt;” is not a metric');
    expectValid(m);
  });
  it('limits huge words', () => {
    expectValid(helpMessage({ unknown: '<'.repeat(5000), problem: null, keyActionsSet: true }));
    expectValid(helpMessage({ unknown: null, problem: '&'.repeat(5000), keyActionsSet: true }));
  });
});

describe('digestMessage', () => {
  const base = { weekLabel: 'week of Jun 2, 2025', counts: counts(), metric: 'key_actions' as const, now: NOW };

  it('titles with the week and lists the falling with now against before, trend and an Open button', () => {
    const rows = [falling('acct_globex', 'Globex', 120, 1200, 11)];
    const m = digestMessage({ ...base, falling: rows, growing: [workedExample()[0]] });
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Weekly digest · week of Jun 2, 2025' } });
    expect(m.text).toContain('*1 company is falling*');
    expect(m.text).toContain(`*1. Globex*\n11 people · 120 key actions in the last ${RECENT_DAYS} days, was about 1,200, −90 % · ⇊ down sharply`);
    const [b] = buttons(m);
    expect(b.text.text).toBe('Open');
    expect(parseAction(b.action_id, b.value!)).toEqual({ kind: 'show', key: 'acct_globex' });
    expect(m.text).toContain('Growing most: Acme Inc (+35 %).');
    expect(m.text).toContain('Accounts: 30 active · 4 growing · 20 steady · 3 at risk · 1 gone quiet · 2 new · 1,260 in all');
    expect(m.text).not.toContain('Northwind');
    expectValid(m);
  });

  it('lists 15, then "and N more"', () => {
    const rows = Array.from({ length: 40 }, (_, i) => falling(`k${i}`, `Falling ${i}`, 10 + i, 1000));
    const m = digestMessage({ ...base, falling: rows, growing: [] });
    expect(buttons(m)).toHaveLength(15);
    expect(m.text).toContain('*15. Falling 14*');
    expect(m.text).not.toContain('Falling 15*');
    expect(m.text).toContain('and 25 more');
    expect(m.text).toContain('*40 companies are falling*');
    expectValid(m);
  });

  it('lists exactly 15 without "more"', () => {
    const rows = Array.from({ length: 15 }, (_, i) => falling(`k${i}`, `F${i}`, 10, 1000));
    const m = digestMessage({ ...base, falling: rows, growing: [] });
    expect(buttons(m)).toHaveLength(15);
    expect(m.text).not.toMatch(/and \d+ more/);
  });

  it('is a one-line all-clear with nothing falling, and nothing else', () => {
    const m = digestMessage({ ...base, falling: [], growing: [row({ key: 'g1', name: 'Acme Inc', trend: 'up sharply', change: 1.5 })] });
    expect(m.text).toBe('✅ All clear for the week of Jun 2, 2025: no company that used to be active is trending down.');
    expect(m.text).not.toContain('\n');
    expect(m.blocks).toHaveLength(1);
    expect(JSON.stringify(m.blocks)).not.toContain('Acme');
    expect(buttons(m)).toHaveLength(0);
    expectValid(m);
    // The week label is escaped like any text.
    expect(digestMessage({ ...base, weekLabel: 'week of <!here>', falling: [], growing: [] }).text).toContain('&lt;!here&gt;');
  });

  it('names at most three growing, escaped', () => {
    const growing = NASTY_NAMES.map((n, i) => row({ key: `g${i}`, name: n, trend: 'up sharply', change: 2 - i * 0.1 }));
    const m = digestMessage({ ...base, falling: [falling('k1', 'Globex', 10, 1000)], growing });
    expect(m.text).toContain('Growing most: &lt;!channel&gt; (+200 %), &lt;@U123&gt; (+190 %), &lt;https://x|y&gt; (+180 %) and 3 more.');
    expectValid(m);
  });

  it('escapes and stays within limits with 500 falling and 2,000-character names', () => {
    const rows = Array.from({ length: 500 }, (_, i) => falling(`k${i}`, `${'<!channel>&'.repeat(180)}${i}`, 10, 4000));
    const m = digestMessage({ ...base, weekLabel: '<!here>'.repeat(100), falling: rows, growing: rows });
    expectValid(m);
    expect(m.text).toContain('and 485 more');
    const nasty = digestMessage({ ...base, falling: nastyRows(), growing: [] });
    for (const n of NASTY_NAMES) expectEscaped(nasty, n);
  });
});

describe('any data', () => {
  it('never breaks escaping or limits', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 300 });
    fc.assert(
      fc.property(text, text, text, fc.option(text, { nil: null }), (name, key, query, person) => {
        const r = row({ key: key || 'k', name, trend: 'down', change: -0.5 });
        expectValid(topMessage({ rows: [r, r], metric: 'events', range: d30, totalCompanies: 2, keyActionsSet: true, now: NOW }));
        expectValid(quietMessage({ rows: [r], range: d30, metric: 'events', now: NOW }));
        expectValid(digestMessage({ weekLabel: query, falling: [r], growing: [r], counts: counts(), metric: 'events', now: NOW }));
        expectValid(matchesMessage({ query, matches: [{ key: r.key, name }] }));
        expectValid(noMatchMessage({ query, suggestions: [{ key: r.key, name: person }] }));
        expectValid(helpMessage({ unknown: query, problem: person, keyActionsSet: false }));
        expectValid(
          showMessage({
            detail: detail({ key: r.key, name, traits: { [query]: person, n: { name } }, people: [{ ...detail().people[0], displayName: person ?? '' }] }),
            metric: 'sessions',
            range: d30,
            now: NOW,
          }),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('two listed companies with one name: the key beside it', () => {
  const twins = () => [
    row({ key: 'acct_1', name: 'Acme' }),
    row({ key: 'acct_<!here>', name: 'ACME ', activity: { people: 9, events: 4000, keyActions: 900, sessions: 200 } }),
    row({ key: 'acct_3', name: 'Globex', activity: { people: 8, events: 3000, keyActions: 800, sessions: 100 } }),
  ];

  it('top: both rows carry their key, escaped; a name no other row has stays alone', () => {
    const msg = topMessage({ rows: twins(), metric: 'key_actions', range: d30, totalCompanies: 3, keyActionsSet: true, now: NOW });
    expectValid(msg);
    expect(msg.text).toContain('*1. Acme (acct_1)*\n');
    expect(msg.text).toContain('*2. ACME  (acct_&lt;!here&gt;)*\n');
    expect(msg.text).toContain('*3. Globex*\n');
    expect(allText(msg)).not.toContain('<!here>');
    expect(JSON.stringify(msg.blocks)).toContain('(acct_1)');
  });

  it('top: without a shared name, no key is shown', () => {
    const msg = topMessage({ rows: workedExample(), metric: 'key_actions', range: d30, totalCompanies: 3, keyActionsSet: true, now: NOW });
    expect(msg.text).not.toMatch(/\(acct_/);
  });

  it('quiet and the digest: the same rule', () => {
    const rows = [falling('acct_a', 'Initech', 10, 100), falling('acct_b', 'initech', 20, 100), falling('acct_c', 'Hooli', 30, 100)];
    const quiet = quietMessage({ rows, range: d30, metric: 'key_actions', now: NOW });
    expect(quiet.text).toContain('*1. Initech (acct_a)*\n');
    expect(quiet.text).toContain('*2. initech (acct_b)*\n');
    expect(quiet.text).toContain('*3. Hooli*\n');
    const digest = digestMessage({ weekLabel: 'week of Jun 2, 2025', falling: rows, growing: [], counts: counts(), metric: 'key_actions', now: NOW });
    expect(digest.text).toContain('*1. Initech (acct_a)*\n');
    expect(digest.text).toContain('*2. initech (acct_b)*\n');
  });

  it('a company with no name goes by its key: no need to repeat it', () => {
    const msg = topMessage({ rows: [row({ key: 'acct_x', name: 'acct_y' }), row({ key: 'acct_y', name: null })], metric: 'key_actions', range: d30, totalCompanies: 2, keyActionsSet: true, now: NOW });
    expect(msg.text).toContain('*1. acct_y (acct_x)*\n');
    expect(msg.text).toContain('*2. acct_y*\n');
  });
});

describe("show's trend line", () => {
  it('says the change and why for a judged trend, and only "new" for a new company (no baseline to compare with)', () => {
    expect(detailTrend({ trend: 'down', change: -0.46, swing: 0.12, goneQuiet: false })).toBe('↓ down (−46 %) over the last 14 days; its weekly swing is usually ±12 %');
    // A company first seen 19 days ago: its change against a few days of baseline means nothing.
    expect(detailTrend({ trend: 'new', change: 0, swing: 0.57, goneQuiet: false })).toBe('✦ new');
    expect(detailTrend({ trend: 'steady', change: null, swing: null, goneQuiet: false })).toBe('→ steady');
  });
});
