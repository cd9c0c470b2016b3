/**
 * The digest's falling list with owners: each company ends with its owner as a
 * mention (the one mention the bot writes itself, through `mention`); companies with
 * no owner in Slack come last, under "No owner", with the command that sets one.
 */
import type { Owner } from '../domain/types.js';
import type { CompanyRow, Metric } from '../domain/types.js';
import { esc, fallingLine, showButton, type ListItem } from './blocks.js';
import { mention } from './owner-text.js';

export const NO_OWNER_HEADING = '*No owner* · set one with `/groups owner NAME @person`, so the next fall reaches someone';

/** The digest's list items: owned companies first (each with its owner), then the "No owner" group. */
export function fallingItemsWithOwners(
  rows: CompanyRow[],
  metric: Metric,
  owners: Map<string, Owner>,
  shared: ReadonlySet<string> = new Set(),
  /** Lines under a company (its "fell most:" line), "\n" first, already escaped. */
  below: (key: string) => string = () => '',
): ListItem[] {
  const owned: { row: CompanyRow; userId: string }[] = [];
  const orphans: { row: CompanyRow; note: string }[] = [];
  for (const row of rows) {
    const o = owners.get(row.key);
    if (o?.kind === 'user') owned.push({ row, userId: o.userId });
    else orphans.push({ row, note: o?.kind === 'unresolved' ? ` · owner ${esc(o.text, 120)} is not in Slack` : '' });
  }
  const items: ListItem[] = [];
  let rank = 0;
  for (const { row, userId } of owned) {
    rank++;
    items.push({ line: `${fallingLine(row, metric, rank, shared)} · owner ${mention(userId)}${below(row.key)}`, button: showButton(row.key, rank - 1, 'Open') });
  }
  if (orphans.length > 0) {
    items.push({ line: NO_OWNER_HEADING });
    for (const { row, note } of orphans) {
      rank++;
      items.push({ line: `${fallingLine(row, metric, rank, shared)}${note}${below(row.key)}`, button: showButton(row.key, rank - 1, 'Open') });
    }
  }
  return items;
}

/** The same in the terminal: one line per owner, then the ownerless (names through `clean`). */
export function digestOwnerLines(rows: CompanyRow[], owners: Map<string, Owner>, clean: (s: string) => string): string[] {
  const byOwner = new Map<string, string[]>();
  const none: string[] = [];
  for (const row of rows) {
    const o = owners.get(row.key);
    const name = clean(row.name ?? row.key);
    if (o?.kind === 'user') byOwner.set(o.userId, [...(byOwner.get(o.userId) ?? []), name]);
    else none.push(o?.kind === 'unresolved' ? `${name} (${clean(o.text)} is not in Slack)` : name);
  }
  const lines = [...byOwner].map(([user, names]) => `Owner <@${user}>: ${names.join(', ')}`);
  if (none.length > 0) lines.push(`No owner: ${none.join(', ')} · set one with /groups owner NAME @person`);
  return lines;
}
