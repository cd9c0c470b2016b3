/**
 * The parse of `show NAME events [range]` (issue 16 point 4): a table of texts and what they
 * mean, the ways a company literally named "... events" stays reachable, and the errors, each
 * naming its fix.
 */
import { describe, expect, it } from 'vitest';
import { parseGroupsCommand } from '../src/domain/command.js';
import type { GroupsCommand } from '../src/domain/types.js';

const on = { keyActionsSet: true };
const d30 = { days: 30, label: '30d' };

describe('show NAME events [range]', () => {
  const table: [string, GroupsCommand][] = [
    ['show Acme events', { kind: 'events', query: 'Acme', range: d30 }],
    ['SHOW acme EVENTS', { kind: 'events', query: 'acme', range: d30 }],
    ['show Acme Inc events 90d', { kind: 'events', query: 'Acme Inc', range: { days: 90, label: '90d' } }],
    ['show   Acme    Inc   events   4w ', { kind: 'events', query: 'Acme Inc', range: { days: 28, label: '4w' } }],
    ['show acct_123 events 1d', { kind: 'events', query: 'acct_123', range: { days: 1, label: '1d' } }],
    ['show Acme events 365d', { kind: 'events', query: 'Acme', range: { days: 365, label: '365d' } }],
    ['show Acme events 52w', { kind: 'events', query: 'Acme', range: { days: 364, label: '52w' } }],
    ['show Acme events 90days', { kind: 'events', query: 'Acme', range: { days: 90, label: '90d' } }],
    ['show Acme events 4 weeks', { kind: 'events', query: 'Acme', range: { days: 28, label: '4w' } }],
    ['show Acme events 30 days', { kind: 'events', query: 'Acme', range: d30 }],
    ['show <!channel> & co events', { kind: 'events', query: '<!channel> & co', range: d30 }],
    // A company literally named "... events": quoted, or by its key, or with events twice.
    ['show "Acme events"', { kind: 'show', query: 'Acme events', range: d30 }],
    ['show “Acme events”', { kind: 'show', query: 'Acme events', range: d30 }],
    ['show "Acme events" events', { kind: 'events', query: 'Acme events', range: d30 }],
    ['show "Acme events" events 7d', { kind: 'events', query: 'Acme events', range: { days: 7, label: '7d' } }],
    ['show Acme events events', { kind: 'events', query: 'Acme events', range: d30 }],
    ['show acct_events', { kind: 'show', query: 'acct_events', range: d30 }],
    // `events` alone is a name; words after `events` that are no range keep the text a name.
    ['show events', { kind: 'show', query: 'events', range: d30 }],
    ['show Events', { kind: 'show', query: 'Events', range: d30 }],
    ['show Acme events planner', { kind: 'show', query: 'Acme events planner', range: d30 }],
    ['show Acme events 4 apples', { kind: 'show', query: 'Acme events 4 apples', range: d30 }],
    ['show Acme eventsx', { kind: 'show', query: 'Acme eventsx', range: d30 }],
    ['show Acme', { kind: 'show', query: 'Acme', range: d30 }],
    ['show "Acme"', { kind: 'show', query: 'Acme', range: d30 }],
  ];
  it.each(table)('%j', (text, expected) => expect(parseGroupsCommand(text, on)).toEqual(expected));

  const errors: [string, RegExp][] = [
    ['show Acme events 400d', /The range “400d” is out of bounds: use 1d to 365d, or 1w to 52w\./],
    ['show Acme events 0d', /out of bounds: use 1d to 365d/],
    ['show Acme events 53w', /The range “53w” is out of bounds: use 1w to 52w, or 1d to 365d\./],
    ['show Acme events 60 weeks', /The range “60 weeks” is out of bounds/],
    ['show Acme events 30', /“30” needs a unit: 30d or 30w, for example `show NAME events 30d`\./],
    ['show Acme events 30x', /“30x” is not a range: use Nd \(1 to 365\) or Nw \(1 to 52\), for example `show NAME events 90d`\./],
    ['show "" events', /`show NAME events` needs a company name or key before `events`/],
    ['show ""', /`show` needs a company name or key, for example `show Acme`, or `show Acme events 90d` for its events\./],
  ];
  it.each(errors)('%j: the help, naming the problem and the fix', (text, problem) => {
    const cmd = parseGroupsCommand(text, on);
    expect(cmd.kind).toBe('help');
    expect(cmd.kind === 'help' && cmd.problem).toMatch(problem);
  });
});
