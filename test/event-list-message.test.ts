/**
 * The renderer of `show NAME events` (src/render/event-list-message.ts), pure: Slack's limits
 * hold for the worst names (every character `&`, 80 characters after the cut), names are cut
 * before they are escaped, the terminal text carries no control characters, and the pages'
 * words ("page 2 of 5 · 183 events").
 */
import { describe, expect, it } from 'vitest';
import { OTHER_EVENTS, OTHER_EVENTS_LABEL } from '../src/ingest/event-names.js';
import { MAX_BLOCKS } from '../src/render/blocks.js';
import { EVENT_LIST_PAGE_SIZE, eventListMessage, eventListText, MAX_EVENT_NAME, type EventListInput } from '../src/render/event-list-message.js';

const company = { key: 'acct_1', name: 'Acme <b> & co' };
const range = { days: 30, label: '30d' };

function input(over: Partial<EventListInput>): EventListInput {
  return { company, range, rows: [], offset: 0, names: 0, other: 0, total: 0, previous: null, next: null, ...over };
}

describe('eventListMessage', () => {
  it('stays inside Block Kit limits with 40 names of nothing but "&", cut before escaping', () => {
    const rows = Array.from({ length: EVENT_LIST_PAGE_SIZE }, (_, i) => ({ name: `${'&'.repeat(300)}${i}`, count: 1_000_000 - i }));
    const m = eventListMessage(input({ rows, offset: 40, names: 183, total: 12_345_678, previous: 'p', next: 'n' }));
    expect(m.blocks.length).toBeLessThan(MAX_BLOCKS);
    const sections = m.blocks.filter((b) => b.type === 'section') as { text: { text: string } }[];
    for (const s of sections) expect(s.text.text.length).toBeLessThan(3000);
    const lines = sections.flatMap((s) => s.text.text.split('\n'));
    expect(lines).toHaveLength(EVENT_LIST_PAGE_SIZE);
    // Cut to MAX_EVENT_NAME characters (the last one "…"), then escaped: 79 "&" -> 79 "&amp;".
    expect(lines[0]).toBe(`41. ${'&amp;'.repeat(MAX_EVENT_NAME - 1)}… · 1,000,000`);
    expect(m.text).toContain('page 2 of 5 · 183 events · 12,345,678 in all');
    expect(JSON.stringify(m.blocks)).toContain('page 2 of 5 · 183 events · 12,345,678 in all');
  });

  it('the header is plain text and the fallback escapes the company name', () => {
    const m = eventListMessage(input({ rows: [{ name: 'A', count: 1 }], names: 1, total: 1 }));
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Events · Acme <b> & co' } });
    expect(m.text.split('\n')[0]).toBe('*Events · Acme &lt;b&gt; &amp; co*');
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it(`"${OTHER_EVENTS_LABEL}" is shown last, unnumbered, with the note; an empty range says so`, () => {
    const m = eventListMessage(input({ rows: [{ name: 'Z', count: 3 }, { name: OTHER_EVENTS, count: 25 }], offset: 200, names: 201, other: 25, total: 500 }));
    expect(m.text).toContain('201. Z · 3\nother events · 25');
    expect(m.text).toContain('page 6 of 6 · 201 events and “other events” · 500 in all');
    expect(m.text).toMatch(/the names past the first 200 are counted together there/);
    expect(eventListMessage(input({})).text).toContain('No events in the last 30 days.');
  });
});

describe('eventListText', () => {
  it('prints every entry in aligned columns, control characters blanked', () => {
    const t = eventListText(
      input({ rows: [{ name: 'Signed \u001b[31mUp\u0007', count: 1200 }, { name: 'Tiny', count: 5 }, { name: OTHER_EVENTS, count: 7 }], names: 2, other: 7, total: 1212 }),
    );
    // eslint-disable-next-line no-control-regex
    expect(t.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(t.split('\n')).toEqual([
      'Acme <b> & co',
      'Key acct_1 · last 30 days · 2 events and “other events” · 1,212 in all',
      '',
      '#  Event            Count',
      '1  Signed  [31mUp   1,200',
      '2  Tiny                 5',
      '   other events         7',
      '',
      '“other events”: this company sends over 200 distinct event names; the names past the first 200 are counted together there.',
      '',
    ]);
  });

  it('says how many are left when it was handed only part of the list', () => {
    const t = eventListText(input({ rows: [{ name: 'A', count: 9 }, { name: 'B', count: 8 }], names: 5, total: 30 }));
    expect(t).toMatch(/\n2  B +8\nand 3 more\n$/);
  });
});
