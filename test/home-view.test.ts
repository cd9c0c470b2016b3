/** The Groups page as App Home views: pure table tests of src/render/home-view.ts. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAction } from '../src/render/action-ids.js';
import {
  BACK_TEXT,
  defaultHomeState,
  encodeHomeState,
  HOME_MAX_PAGE_SIZE,
  HOME_PAGE_SIZE,
  HOME_QUIET_LISTED,
  homeDetailView,
  homeListView,
  pageCount,
  parseHomeState,
  type HomeListInput,
  type HomeState,
} from '../src/render/home-view.js';
import type { CompanyRow } from '../src/domain/types.js';
import { detail, falling, manyRows, NASTY_NAMES, NOW, person, daysAgo, row, workedExample } from './fixtures/rows.js';
import { allText, buttonNamed, elements, escaped, expectValidView, listParts, mrkdwnTexts, selectOf, viewBytes } from './helpers/view.js';

const d30 = { days: 30, label: '30d' };
const d7 = { days: 7, label: '7d' };

function list(over: Partial<HomeListInput> = {}) {
  const rows = over.rows ?? workedExample();
  return homeListView({
    rows,
    quiet: rows.filter((r) => r.trend === 'down' || r.trend === 'down sharply'),
    range: d30,
    metric: 'key_actions',
    page: 1,
    coverage: 1,
    keyActionsSet: true,
    now: NOW,
    ...over,
  });
}

const back: HomeState = { view: 'list', range: d30, metric: 'key_actions', page: 2 };

describe('homeListView', () => {
  it('two companies with one name carry their keys, on every page and in the quiet list', () => {
    const rows = [
      row({ key: 'acct_1', name: 'Twin Co', trend: 'down sharply' }),
      row({ key: 'acct_2', name: 'Solo', activity: { people: 9, events: 9, keyActions: 9, sessions: 9 } }),
      row({ key: 'acct_<3>', name: 'twin co', activity: { people: 8, events: 8, keyActions: 8, sessions: 8 }, trend: 'down' }),
    ];
    const page2 = list({ rows, pageSize: 2, page: 2 });
    expectValidView(page2);
    expect(listParts(page2).ranked[0]).toMatch(/^\*3\. twin co \(acct_&lt;3&gt;\)\*\n/);
    const page1 = list({ rows, pageSize: 2, page: 1 });
    expect(listParts(page1).ranked[0]).toMatch(/^\*1\. Twin Co \(acct_1\)\*\n/);
    expect(listParts(page1).ranked[1]).toMatch(/^\*2\. Solo\*\n/);
    expect(allText(page1)).toMatch(/\*1\. Twin Co \(acct_1\)\*\n[^\n]*was about/);
  });

  it('is titled Groups, with a range and a metric selector', () => {
    const v = list();
    expectValidView(v);
    expect(v.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Groups' } });
    const range = selectOf(v, 'groups:range')!;
    expect(range.options!.map((o) => o.value)).toEqual(['7d', '30d', '90d']);
    expect(range.initial_option!.value).toBe('30d');
    const metric = selectOf(v, 'groups:metric')!;
    expect(metric.options!.map((o) => o.value)).toEqual(['key_actions', 'events', 'sessions', 'people']);
    expect(metric.initial_option!.value).toBe('key_actions');
  });

  it('ranks the worked example with name, people, activity, trend word and sign, each with Details', () => {
    const v = list();
    const { ranked, rankedButtons } = listParts(v);
    expect(ranked).toHaveLength(3);
    expect(ranked[0]).toBe('*1. Acme Inc*\n14 people · 1,200 key actions · ↑ up');
    expect(ranked[1]).toMatch(/^\*2\. Northwind Ltd\*\n9 people · 800 key actions · .* steady$/);
    expect(ranked[2]).toMatch(/^\*3\. Globex\*\n11 people · 120 key actions · ⇊ down sharply$/);
    expect(rankedButtons.map((b) => [b.text!.text, b.value])).toEqual([
      ['Details', 'acct_acme'],
      ['Details', 'acct_northwind'],
      ['Details', 'acct_globex'],
    ]);
    for (const b of rankedButtons) expect(parseAction(b.action_id, b.value)).toEqual({ kind: 'show', key: b.value });
  });

  it('puts the falling accounts under "Going quiet", with now against before', () => {
    const { quiet, quietButtons } = listParts(list());
    expect(quiet).toHaveLength(1);
    expect(quiet[0]).toMatch(/^\*1\. Globex\*\n11 people · 120 key actions in the last \d+ days, was about 1,200, −90 % · ⇊ down sharply$/);
    expect(quietButtons[0].value).toBe('acct_globex');
    expect(mrkdwnTexts(list()).some((t) => t.startsWith('*Going quiet*'))).toBe(true);
  });

  it('says all clear when nothing falls', () => {
    const v = list({ rows: workedExample().slice(0, 2), quiet: [] });
    expect(listParts(v).quiet).toEqual([]);
    expect(allText(v)).toContain('All clear');
  });

  it('says so when no company is active', () => {
    const v = list({ rows: [], quiet: [], coverage: 1 });
    expectValidView(v);
    expect(allText(v)).toContain('No company has any activity in the last 30 days.');
  });

  it.each([
    [1, false],
    [0.9, false],
    [0.89, true],
    [0.25, true],
    [0, true],
  ])('coverage %s: group-key warning %s', (coverage, warned) => {
    const v = list({ coverage });
    const text = allText(v);
    expect(text.includes('The group key is missing')).toBe(warned);
    expect(text.includes("analytics.group({ userId, groupId: 'acct_123'")).toBe(warned);
    if (warned) expect(text).toContain(`${Math.round(coverage * 100)} % of events in the last 7 days`);
  });

  it('with no events at all and no company, shows how to send the key; with companies, no warning', () => {
    expect(allText(list({ rows: [], quiet: [], coverage: null }))).toContain('analytics.group(');
    expect(allText(list({ coverage: null }))).not.toContain('analytics.group(');
  });

  it('offers key actions only when KEY_ACTIONS is set (or already chosen)', () => {
    const v = list({ keyActionsSet: false, metric: 'events' });
    expect(selectOf(v, 'groups:metric')!.options!.map((o) => o.value)).toEqual(['events', 'sessions', 'people']);
    expect(listParts(v).ranked[0]).toContain('5,000 events');
  });

  it('shows another range as the current one when it is not among 7, 30, 90 days', () => {
    const v = list({ range: { days: 28, label: '4w' } });
    expect(selectOf(v, 'groups:range')!.initial_option!.value).toBe('4w');
  });

  it('carries its state in private_metadata', () => {
    const v = list({ range: d7, metric: 'sessions', page: 1 });
    expect(parseHomeState(v.private_metadata)).toEqual({ view: 'list', range: d7, metric: 'sessions', page: 1 });
  });

  it('shows a note, escaped', () => {
    const v = list({ note: 'That company (<!channel>) is gone' });
    expectValidView(v);
    expect(mrkdwnTexts(v)[0]).toBe('⚠️ That company (&lt;!channel&gt;) is gone');
  });
});

describe('paging', () => {
  const rows = manyRows(120);
  const page = (p: number, pageSize?: number) => list({ rows, quiet: [], page: p, pageSize });

  it(`shows ${HOME_PAGE_SIZE} a page, with Next on the first, Previous on the last, both between`, () => {
    expect(pageCount(120, HOME_PAGE_SIZE)).toBe(5);
    const first = page(1);
    expectValidView(first);
    expect(listParts(first).ranked).toHaveLength(HOME_PAGE_SIZE);
    expect(listParts(first).ranked[0]).toMatch(/^\*1\. Company 0\*/);
    expect(buttonNamed(first, /Previous/)).toBeUndefined();
    const next = buttonNamed(first, /Next/)!;
    expect(parseAction(next.action_id, next.value)).toEqual({ kind: 'page', page: 2 });
    expect(allText(first)).toContain('Page 1 of 5');

    const third = page(3);
    expect(listParts(third).ranked[0]).toMatch(/^\*51\. Company 50\*/);
    expect(parseAction(buttonNamed(third, /Previous/)!.action_id, buttonNamed(third, /Previous/)!.value)).toEqual({ kind: 'page', page: 2 });
    expect(parseAction(buttonNamed(third, /Next/)!.action_id, buttonNamed(third, /Next/)!.value)).toEqual({ kind: 'page', page: 4 });

    const last = page(5);
    expect(listParts(last).ranked).toHaveLength(20);
    expect(listParts(last).ranked[19]).toMatch(/^\*120\. Company 119\*/);
    expect(buttonNamed(last, /Next/)).toBeUndefined();
    expect(parseHomeState(last.private_metadata)!.page).toBe(5);
  });

  it.each([0, -3, 6, 999, Number.NaN])('brings page %s into range', (p) => {
    const v = page(p);
    const n = parseHomeState(v.private_metadata)!.page;
    expect(n === 1 || n === 5).toBe(true);
    expect(listParts(v).ranked.length).toBeGreaterThan(0);
  });

  it('no pager when everything fits', () => {
    const v = list();
    expect(buttonNamed(v, /Next|Previous/)).toBeUndefined();
  });

  it('never passes 100 blocks, whatever the page size asked', () => {
    const quiet = Array.from({ length: 40 }, (_, i) => falling(`q${i}`, `Quiet ${i}`, 10, 100));
    for (const pageSize of [1, 25, HOME_MAX_PAGE_SIZE, 100, 10_000]) {
      const v = list({ rows, quiet, pageSize, coverage: 0.1, note: 'a note' });
      expectValidView(v);
      expect(listParts(v).ranked.length).toBe(Math.min(Math.max(1, pageSize), HOME_MAX_PAGE_SIZE));
      expect(listParts(v).quiet).toHaveLength(HOME_QUIET_LISTED);
      expect(allText(v)).toContain(`and ${40 - HOME_QUIET_LISTED} more`);
    }
  });

  it('stays under 250 KB with 2,000-character names and keys, with fewer rows a page if it must', () => {
    const huge = Array.from({ length: 300 }, (_, i) =>
      row({ key: `${'界'.repeat(1990)}${i}`, name: `${'<&>'.repeat(700)}${i}`, activity: { people: 1, events: 1000 - i, keyActions: 1000 - i, sessions: 1 } }),
    );
    const v = list({ rows: huge, quiet: huge.slice(0, 20), pageSize: HOME_MAX_PAGE_SIZE, coverage: 0 });
    expectValidView(v);
    expect(viewBytes(v)).toBeLessThan(250_000);
    expect(listParts(v).ranked.length).toBeGreaterThan(0);
  });
});

describe('homeDetailView', () => {
  const d = detail({
    people: [person('u1', 'Jane Doe', 400, daysAgo(3)), person('u2', 'john@acme.com', 300, daysAgo(1.5)), person('u3', 'u3', 100, daysAgo(20))],
  });
  const v = homeDetailView({ detail: d, metric: 'key_actions', range: d30, now: NOW, back });

  it('shows the company: people ranked with last seen, weekly line, metrics, trend, traits', () => {
    expectValidView(v);
    expect(v.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Acme Inc' } });
    const text = allText(v);
    expect(text).toMatch(/1\. Jane Doe · 400 key actions · last seen 3 days ago\n2\. john@acme\.com · 300 key actions · last seen yesterday\n3\. u3 · 100 key actions · last seen 2 weeks ago/);
    expect(text).toMatch(/Weekly key actions, last 12 weeks\*\n[▁▂▃▄▅▆▇█]{12} /);
    expect(text).toContain('*Key actions*\n1,200');
    expect(text).toContain('*Trend*\n↑ up (+35 %)');
    expect(text).toContain('*plan*: enterprise');
    expect(text).toContain('*seats*: 40');
  });

  it('has "Back to all companies" at the top and at the bottom, and the selectors', () => {
    const backs = elements(v).filter((e) => e.text?.text === BACK_TEXT);
    expect(backs).toHaveLength(2);
    for (const b of backs) expect(parseAction(b.action_id, b.value)?.kind).toBe('back');
    expect(selectOf(v, 'groups:range')!.initial_option!.value).toBe('30d');
    expect(selectOf(v, 'groups:metric')!.initial_option!.value).toBe('key_actions');
    expect(elements(v).filter((e) => e.action_id.startsWith('groups:show'))).toEqual([]);
  });

  it('carries the company and the page to go back to', () => {
    expect(parseHomeState(v.private_metadata)).toEqual({ view: 'detail', range: d30, metric: 'key_actions', page: 2, key: 'acct_acme' });
  });

  it('lists up to 50 people, then "and N more"', () => {
    const people = Array.from({ length: 60 }, (_, i) => person(`u${i}`, `Person ${i}`, 600 - i, daysAgo(1)));
    const many = homeDetailView({ detail: detail({ people }), metric: 'key_actions', range: d30, now: NOW, back });
    expectValidView(many);
    const text = allText(many);
    expect(text).toContain('50. Person 49');
    expect(text).not.toContain('51. Person 50');
    expect(text).toContain('and 10 more');
  });

  it('escapes every name, key, trait and person', () => {
    for (const name of NASTY_NAMES) {
      const nasty = detail({ key: `k<${name}>`, name, traits: { [name]: name }, people: [person('p', name, 10, daysAgo(1))] });
      const view = homeDetailView({ detail: nasty, metric: 'events', range: d7, now: NOW, back });
      expectValidView(view);
      const md = mrkdwnTexts(view).join('\n');
      expect(md).toContain(escaped(name));
    }
  });

  it('keeps the list state when the key is too long for private_metadata', () => {
    const long = homeDetailView({ detail: detail({ key: '"'.repeat(2000) }), metric: 'key_actions', range: d30, now: NOW, back });
    expectValidView(long);
    expect(parseHomeState(long.private_metadata)).toEqual({ view: 'list', range: d30, metric: 'key_actions', page: 2 });
  });
});

describe('escaping in the list', () => {
  it('escapes every name in both lists', () => {
    const rows: CompanyRow[] = NASTY_NAMES.map((name, i) => row({ key: `k${i}<x>`, name, trend: 'down sharply', change: -0.8 }));
    const v = list({ rows, quiet: rows });
    expectValidView(v);
    const { ranked, quiet } = listParts(v);
    NASTY_NAMES.forEach((name, i) => {
      expect(ranked[i]).toContain(escaped(name));
      expect(quiet[i]).toContain(escaped(name));
    });
  });

  it('never breaks escaping or limits, whatever the data', () => {
    const anyRow = fc.record({
      key: fc.string({ minLength: 1, maxLength: 300 }),
      name: fc.option(fc.string({ maxLength: 300 }), { nil: null }),
      n: fc.nat(1_000_000),
    });
    fc.assert(
      fc.property(fc.array(anyRow, { maxLength: 120 }), fc.integer({ min: -5, max: 10 }), fc.option(fc.double({ min: 0, max: 1 }), { nil: null }), (items, p, coverage) => {
        const rows = items.map((it) => row({ key: it.key, name: it.name, activity: { people: 1, events: it.n, keyActions: it.n, sessions: 1 } }));
        const v = list({ rows, quiet: rows.slice(0, 15), page: p, coverage });
        expectValidView(v);
      }),
      { numRuns: 60 },
    );
  });
});

describe('private_metadata', () => {
  const good: HomeState = { view: 'detail', range: d7, metric: 'people', page: 3, key: 'acct_1' };

  it('round-trips', () => {
    expect(parseHomeState(encodeHomeState(good))).toEqual(good);
    expect(parseHomeState(encodeHomeState(defaultHomeState('events')))).toEqual({ view: 'list', range: d30, metric: 'events', page: 1 });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not JSON', '{oops'],
    ['not an object', '"list"'],
    ['another version', JSON.stringify({ v: 2, view: 'list', range: '30d', metric: 'events', page: 1 })],
    ['an unknown view', JSON.stringify({ v: 1, view: 'modal', range: '30d', metric: 'events', page: 1 })],
    ['a bad range', JSON.stringify({ v: 1, view: 'list', range: '400d', metric: 'events', page: 1 })],
    ['a bad metric', JSON.stringify({ v: 1, view: 'list', range: '30d', metric: 'revenue', page: 1 })],
    ['page 0', JSON.stringify({ v: 1, view: 'list', range: '30d', metric: 'events', page: 0 })],
    ['a fractional page', JSON.stringify({ v: 1, view: 'list', range: '30d', metric: 'events', page: 1.5 })],
    ['a detail without a company', JSON.stringify({ v: 1, view: 'detail', range: '30d', metric: 'events', page: 1 })],
    ['too long', 'x'.repeat(3001)],
    ['a number', 42],
  ])('%s -> null', (_, raw) => expect(parseHomeState(raw)).toBeNull());

  it('never throws', () => {
    fc.assert(fc.property(fc.anything(), (x) => void parseHomeState(x)));
    fc.assert(fc.property(fc.jsonValue(), (x) => void parseHomeState(JSON.stringify(x))));
  });
});
