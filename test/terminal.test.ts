import { describe, expect, it } from 'vitest';
import {
  clean,
  digestText,
  helpText,
  keyHealthText,
  matchesText,
  noMatchText,
  quietText,
  reportText,
  showText,
  table,
  topText,
} from '../src/render/terminal.js';
import { RECENT_DAYS } from '../src/domain/trend.js';
import { counts, detail, falling, NOW, person, daysAgo, row, workedExample } from './fixtures/rows.js';

const d30 = { days: 30, label: '30d' };

/** The lines of a table that starts with `header`, up to the first blank line. */
function tableAt(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end === -1 ? undefined : end);
}

describe('table', () => {
  it('aligns text left and numbers right, two spaces apart, no trailing spaces', () => {
    expect(table(['#', 'Name', 'N'], [['1', 'Acme Inc', '1,200'], ['10', 'B', '7']], 'rlr')).toBe(
      [' #  Name          N', ' 1  Acme Inc  1,200', '10  B             7'].join('\n'),
    );
  });
  it('counts arrows and bars as one column', () => {
    const t = table(['Trend', 'X'], [['⇊ down sharply', '1'], ['↑ up', '2']], 'lr').split('\n');
    expect(new Set(t.map((l) => Array.from(l).length)).size).toBe(1);
  });
});

describe('clean', () => {
  it('blanks control characters and cuts long names', () => {
    expect(clean('Acme\n\u001b[31mRed\tInc')).toBe('Acme [31mRed Inc');
    expect(clean('x'.repeat(100))).toHaveLength(40);
  });
  it('keeps Slack syntax as it is: the terminal does not parse it', () => {
    expect(clean('<!channel> & <@U1>')).toBe('<!channel> & <@U1>');
  });
});

describe('topText', () => {
  const t = topText({ rows: workedExample(), metric: 'key_actions', range: d30, totalCompanies: 3, keyActionsSet: true, now: NOW });
  it('prints the worked example in aligned columns', () => {
    expect(t).toContain('Most active companies · last 30 days · by key actions');
    const lines = tableAt(t, '#');
    expect(lines).toEqual([
      '#  Company        People  Key actions  Trend',
      '1  Acme Inc           14        1,200  ↑ up',
      '2  Northwind Ltd       9          800  → steady',
      '3  Globex             11          120  ⇊ down sharply',
    ]);
  });
  it('says so when empty, and suggests KEY_ACTIONS', () => {
    expect(topText({ rows: [], metric: 'events', range: d30, totalCompanies: 0, keyActionsSet: false, now: NOW })).toContain('No company has any activity');
    expect(topText({ rows: [row()], metric: 'events', range: d30, totalCompanies: 1, keyActionsSet: false, now: NOW })).toContain('KEY_ACTIONS');
  });
  it('shows raw names (no escaping in a terminal) and the key for no name', () => {
    const t2 = topText({ rows: [row({ name: 'A & B <Co>' }), row({ key: 'acct_9', name: null })], metric: 'people', range: d30, totalCompanies: 2, keyActionsSet: true, now: NOW });
    expect(t2).toContain('A & B <Co>');
    expect(t2).not.toContain('&amp;');
    expect(t2).toContain('acct_9');
    expect(tableAt(t2, '#')[0]).toBe('#  Company     People  Trend');
  });
});

describe('quietText', () => {
  it('prints now, was and change in their own aligned columns', () => {
    const t = quietText({ rows: [falling('g', 'Globex', 120, 1200, 11), falling('x', 'X Corp', 70, 100, 3)], range: d30, metric: 'key_actions', now: NOW });
    const lines = tableAt(t, '#');
    expect(lines[0]).toBe(`#  Company  People     Last ${RECENT_DAYS} days  Was about  Change  Trend`);
    expect(lines[1]).toBe('1  Globex       11  120 key actions      1,200   −90 %  ⇊ down sharply');
    expect(lines[2]).toBe('2  X Corp        3   70 key actions        100   −30 %  ↓ down');
  });
  it('is an all clear when empty', () => {
    expect(quietText({ rows: [], range: d30, metric: 'events', now: NOW })).toContain('All clear');
  });
});

describe('showText', () => {
  const t = showText({ detail: detail(), metric: 'key_actions', range: d30, now: NOW });
  it('prints the company with metrics aligned', () => {
    expect(t.startsWith('Acme Inc\nKey acct_acme · first seen Nov 3 · last seen 2 hours ago\n')).toBe(true);
    expect(t).toContain('People, last 30 days  14 active · 20 known in all\nKey actions           1,200\nEvents                5,000');
    expect(t).toContain('Trend                 ↑ up (+35 %)');
    expect(t).toContain('plan   enterprise');
    expect(t).toContain('▁▂▂▂▃▃▄▆▇█▇█  Mar 11 → May 27');
  });
  it('ranks people with last seen, aligned', () => {
    const lines = tableAt(t, '#  Person');
    expect(lines).toEqual([
      '#  Person         Key actions  Last seen',
      '1  Jane Doe               400  3 days ago',
      '2  john@acme.com          300  5 minutes ago',
      '3  u3                     100  2 weeks ago',
    ]);
  });
  it('caps people with "and N more"', () => {
    const people = Array.from({ length: 12 }, (_, i) => person(`u${i}`, `P${i}`, 12 - i, daysAgo(1)));
    expect(showText({ detail: detail({ people }), metric: 'events', range: d30, now: NOW })).toContain('and 2 more');
  });
});

describe('reportText', () => {
  it('aligns labels, counts and meanings', () => {
    const lines = tableAt(reportText({ counts: counts(), range: d30, now: NOW }), '            Count');
    expect(lines).toContain('Active         30  at least one event in the last 30 days');
    expect(lines).toContain('Total       1,260  every company ever seen');
    // counts end in one column, meanings start in one column
    const meaningAt = lines[0].indexOf('Meaning');
    for (const l of lines.slice(1)) {
      expect(l.charAt(meaningAt - 3)).toMatch(/\d/);
      expect(l.slice(meaningAt - 2, meaningAt)).toBe('  ');
      expect(l.charAt(meaningAt)).toMatch(/[a-z]/);
    }
  });
});

describe('keyHealthText', () => {
  it('prints coverage, the verdict, the snippet and splits', () => {
    const t = keyHealthText({
      health: {
        coverage: [
          { days: 30, events: 40_000, eventsWithCompany: 30_000, people: 800, peopleWithCompany: 600 },
          { days: 7, events: 10_000, eventsWithCompany: 1200, people: 300, peopleWithCompany: 40 },
        ],
        splits: [{ reason: 'acme', companies: [{ key: 'acct_1', name: 'Acme Inc' }, { key: 'acme-2', name: 'ACME, Inc.' }] }],
        nameLikeKeys: [{ key: 'Acme Inc', name: null }],
      },
      keyPath: 'properties.account_id',
    });
    expect(tableAt(t, 'Window')).toEqual([
      'Window     Events with a company  People with a company',
      '7 days    12 % (1,200 of 10,000)       13 % (40 of 300)',
      '30 days  75 % (30,000 of 40,000)      75 % (600 of 800)',
    ]);
    expect(t).toContain('The group key is not flowing');
    expect(t).toContain("    analytics.track({ userId, event: 'Report Created', context: { groupId: 'acct_123' } })");
    expect(t).toContain('properties.account_id (GROUP_KEY_PATH)');
    expect(t).toContain('  acme: acct_1 (Acme Inc), acme-2 (ACME, Inc.)');
    expect(t).toContain('  Acme Inc');
  });
});

describe('helpText', () => {
  it('names the unknown word and lists the commands', () => {
    const t = helpText({ unknown: 'frob', problem: null, keyActionsSet: true });
    expect(t.startsWith('I don\'t know “frob”.')).toBe(true);
    expect(t).toContain('top [range] [by METRIC] [limit N]  companies ranked');
    expect(t).toContain('digest                             a preview');
  });
  it('states a problem', () => {
    expect(helpText({ unknown: null, problem: 'The range “400d” is out of bounds', keyActionsSet: true })).toContain('The range “400d” is out of bounds');
  });
});

describe('digestText', () => {
  const base = { weekLabel: 'week of Jun 2, 2025', counts: counts(), metric: 'key_actions' as const, now: NOW };
  it('lists the falling, the growing and the counts', () => {
    const t = digestText({ ...base, falling: [falling('g', 'Globex', 120, 1200, 11)], growing: [workedExample()[0]] });
    expect(t.startsWith('Weekly digest · week of Jun 2, 2025\n')).toBe(true);
    expect(t).toContain('1  Globex       11  120 key actions      1,200   −90 %  ⇊ down sharply');
    expect(t).toContain('Growing most: Acme Inc (+35 %).');
    expect(t).toContain('Accounts: 30 active');
  });
  it('lists 15 then "and N more"', () => {
    const rows = Array.from({ length: 20 }, (_, i) => falling(`k${i}`, `F${i}`, 10, 1000));
    const t = digestText({ ...base, falling: rows, growing: [] });
    expect(t).toContain('15  F14');
    expect(t).not.toContain('F15');
    expect(t).toContain('and 5 more');
  });
  it('is an all-clear with nothing falling', () => {
    expect(digestText({ ...base, falling: [], growing: [] })).toBe('All clear for the week of Jun 2, 2025: no company that used to be active is trending down.');
  });
});

describe('matchesText and noMatchText', () => {
  it('lists choices with keys', () => {
    const t = matchesText({ query: 'acme', matches: [{ key: 'acct_1', name: 'Acme Inc' }, { key: 'acme', name: null }] });
    expect(t).toContain('2 companies match “acme”');
    expect(tableAt(t, 'Company')).toEqual(['Company   Key', 'Acme Inc  acct_1', '          acme']);
  });
  it('says none and suggests', () => {
    const t = noMatchText({ query: 'zz', suggestions: [{ key: 'acct_1', name: 'Acme Inc' }] });
    expect(t).toContain('No company matches “zz”.');
    expect(t).toContain('Acme Inc  acct_1');
    expect(noMatchText({ query: 'zz', suggestions: [] })).toContain('Try `top`');
  });
});

describe('two listed companies with one name: the key beside it', () => {
  it('top and quiet', () => {
    const top = topText({
      rows: [row({ key: 'acct_1', name: 'Acme' }), row({ key: 'acct_2', name: 'acme' }), row({ key: 'acct_3', name: 'Globex' })],
      metric: 'key_actions',
      range: d30,
      totalCompanies: 3,
      keyActionsSet: true,
      now: NOW,
    });
    expect(top).toMatch(/^1 +Acme \(acct_1\) +10 /m);
    expect(top).toMatch(/^2 +acme \(acct_2\) +10 /m);
    expect(top).toMatch(/^3 +Globex +10 /m);
    const quiet = quietText({ rows: [falling('k\u0007a', 'Initech', 10, 100), falling('kb', 'Initech', 20, 100)], range: d30, metric: 'key_actions', now: NOW });
    expect(quiet).toMatch(/^1 +Initech \(k a\) /m);
    expect(quiet).toMatch(/^2 +Initech \(kb\) /m);
  });
});
