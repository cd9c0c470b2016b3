import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACTION_ID_PATTERN, encodeAction, parseAction, parseSlackAction, type GroupsAction } from '../src/render/action-ids.js';

describe('encodeAction', () => {
  it.each([
    [['show', 0], 'groups:show:0'],
    [['show', 14], 'groups:show:14'],
    [['back'], 'groups:back'],
    [['page', 2], 'groups:page:2'],
    [['range'], 'groups:range'],
    [['metric', 1], 'groups:metric:1'],
    [['show', -1], 'groups:show:0'],
    [['show', 1.5], 'groups:show:0'],
  ] as const)('%j -> %s', (args, id) => {
    expect(encodeAction(...(args as unknown as Parameters<typeof encodeAction>))).toBe(id);
  });

  it('gives distinct ids to the buttons of one list', () => {
    const ids = Array.from({ length: 50 }, (_, i) => encodeAction('show', i));
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(id).toMatch(ACTION_ID_PATTERN);
  });
});

describe('parseAction', () => {
  const table: [string, string | undefined, GroupsAction | null][] = [
    ['groups:show:3', 'acct_123', { kind: 'show', key: 'acct_123' }],
    ['groups:show', 'Acme Inc', { kind: 'show', key: 'Acme Inc' }],
    ['groups:show:3', '<!channel>', { kind: 'show', key: '<!channel>' }],
    ['groups:show:3', '', null],
    ['groups:show:3', undefined, null],
    ['groups:show:3', 'x'.repeat(2001), null],
    ['groups:back', 'top 30d', { kind: 'back', to: 'top 30d' }],
    ['groups:back', '', { kind: 'back', to: null }],
    ['groups:back', undefined, { kind: 'back', to: null }],
    ['groups:page:1', '2', { kind: 'page', page: 2 }],
    ['groups:page', '0', null],
    ['groups:page', '-1', null],
    ['groups:page', 'two', null],
    ['groups:range', '7d', { kind: 'range', range: { days: 7, label: '7d' } }],
    ['groups:range', '4w', { kind: 'range', range: { days: 28, label: '4w' } }],
    ['groups:range', '400d', null],
    ['groups:range', 'soon', null],
    ['groups:metric', 'sessions', { kind: 'metric', metric: 'sessions' }],
    ['groups:metric', 'revenue', null],
    ['groups:unknown', 'x', null],
    ['groups:show:abc', 'x', null],
    ['other_app:show:1', 'x', null],
    ['groups:show:1:extra', 'x', null],
    ['', '', null],
  ];
  it.each(table)('%j %j', (id, value, expected) => expect(parseAction(id, value)).toEqual(expected));

  it('round-trips every kind', () => {
    expect(parseAction(encodeAction('show', 7), 'acct_9')).toEqual({ kind: 'show', key: 'acct_9' });
    expect(parseAction(encodeAction('metric'), 'people')).toEqual({ kind: 'metric', metric: 'people' });
    expect(parseAction(encodeAction('page', 1), '3')).toEqual({ kind: 'page', page: 3 });
  });

  it('never throws, whatever Slack sends back', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (id, value) => {
        parseAction(id, value);
        parseAction(`groups:show:${id}`, value);
      }),
    );
  });
});

describe('parseSlackAction', () => {
  const select = (action_id: string, value: unknown) => ({
    type: 'static_select',
    action_id,
    block_id: 'b',
    selected_option: { text: { type: 'plain_text', text: 'x' }, value },
    action_ts: '1.2',
  });
  const table: [string, unknown, GroupsAction | null][] = [
    ['a button', { type: 'button', action_id: 'groups:show:2', value: 'acct_1', block_id: 'b' }, { kind: 'show', key: 'acct_1' }],
    ['a button without a type', { action_id: 'groups:page:1', value: '3' }, { kind: 'page', page: 3 }],
    ['a button without a value', { type: 'button', action_id: 'groups:back:0' }, { kind: 'back', to: null }],
    ['the range select', select('groups:range', '7d'), { kind: 'range', range: { days: 7, label: '7d' } }],
    ['the metric select', select('groups:metric', 'sessions'), { kind: 'metric', metric: 'sessions' }],
    ['a select with an unknown metric', select('groups:metric', 'revenue'), null],
    ['a select whose value is not a string', select('groups:range', 7), null],
    ['a select with no choice', { type: 'static_select', action_id: 'groups:range' }, null],
    ['a select of another app', select('other:range', '7d'), null],
    ['not an object', 'groups:show:1', null],
    ['null', null, null],
    ['no action id', { type: 'button', value: 'x' }, null],
  ];
  it.each(table)('%s', (_, action, expected) => expect(parseSlackAction(action)).toEqual(expected));

  it('never throws, whatever Slack sends back', () => {
    fc.assert(fc.property(fc.anything(), (a) => void parseSlackAction(a)));
    fc.assert(fc.property(fc.string(), fc.anything(), (id, v) => void parseSlackAction({ type: 'static_select', action_id: id, selected_option: { value: v } })));
  });
});
