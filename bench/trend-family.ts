/** Quick family evaluation (used by trend-quality). */
import { BOOK_KINDS, RULES, scoreRules, simulateBook, type BookKind, type RuleScore } from './simulate-book.js';

export function evalFamily(opts: { companies: number; seeds: number[]; books?: readonly BookKind[]; rules?: Record<string, Parameters<typeof scoreRules>[1][string]> }) {
  const out: { book: BookKind; seed: number; scores: Record<string, RuleScore> }[] = [];
  for (const book of opts.books ?? BOOK_KINDS) {
    for (const seed of opts.seeds) {
      const b = simulateBook({ companies: opts.companies, seed, book });
      out.push({ book, seed, scores: scoreRules(b, opts.rules ?? RULES) });
    }
  }
  return out;
}
