/**
 * Group-key health: one company split under several keys or spellings, and keys
 * that look like display names rather than ids. Pure.
 */
import type { SplitCompany } from './types.js';

/** Legal-form suffixes set aside when comparing names ("Acme Inc" = "ACME, Ltd."). */
const SUFFIXES = new Set([
  'inc', 'incorporated', 'ltd', 'limited', 'llc', 'llp', 'lp', 'gmbh', 'ag', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv',
  'plc', 'corp', 'corporation', 'co', 'company', 'pty', 'kk', 'ab', 'oy', 'as', 'aps', 'kg', 'se', 'the',
]);

/** A name with case, punctuation, accents and legal suffixes set aside. '' when nothing is left. */
export function normaliseName(name: string): string {
  const words = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  while (words.length > 1 && SUFFIXES.has(words[words.length - 1])) words.pop();
  while (words.length > 1 && words[0] === 'the') words.shift();
  return words.join(' ');
}

/** A key that reads like a display name ("Acme Inc", "acme corp") rather than an id ("acct_123"). */
export function looksLikeName(key: string, name: string | null): boolean {
  if (/\s/.test(key.trim())) return true;
  // A capitalised word with no digits or id punctuation ("Acme", "Globex").
  if (/^[A-Z][a-z]/.test(key) && !/[\d_:\-./]/.test(key)) return true;
  if (name && key.trim().toLowerCase() === name.trim().toLowerCase() && /[a-z]/i.test(key) && !/\d/.test(key)) return true;
  return false;
}

/** Companies whose names (or name-like keys) are the same once normalised, each group with its keys. */
export function findSplits(companies: { key: string; name: string | null }[]): SplitCompany[] {
  const groups = new Map<string, { key: string; name: string | null }[]>();
  for (const c of companies) {
    // A company with no name is compared by its key when the key reads like a word, not an id.
    const label = c.name ?? (/\d/.test(c.key) ? null : c.key);
    if (!label) continue;
    const norm = normaliseName(label);
    if (!norm) continue;
    const list = groups.get(norm) ?? [];
    list.push(c);
    groups.set(norm, list);
  }
  return [...groups]
    .filter(([, list]) => list.length > 1)
    .map(([reason, list]) => ({ reason, companies: list.sort((a, b) => a.key.localeCompare(b.key)) }))
    .sort((a, b) => b.companies.length - a.companies.length || a.reason.localeCompare(b.reason));
}
