/**
 * How many single-character edits (insert, delete, replace, or swap two neighbours)
 * turn one word into another: the optimal string alignment distance. "tpo" is one
 * swap from "top", "Acne" one replacement from "Acme". Pure.
 */

/** Longer strings are not compared character by character (the cost grows with the product of lengths). */
const MAX_COMPARED = 200;

/**
 * The distance from `a` to `b`, or any number above `max` as soon as it is sure to
 * exceed it (so a search over many names stops early on the far ones).
 */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  const gap = Math.abs(a.length - b.length);
  if (gap > max) return max + 1;
  if (a.length > MAX_COMPARED || b.length > MAX_COMPARED) return gap + MAX_COMPARED;
  // Three rows of the table (two back for a swap), reused across calls: no allocation per pair.
  const n = b.length;
  let before = rows[0];
  let prev = rows[1];
  let cur = rows[2];
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = prev[j - 1] + (ai === bj ? 0 : 1);
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj && before[j - 2] + 1 < d) d = before[j - 2] + 1;
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    const t = before;
    before = prev;
    prev = cur;
    cur = t;
  }
  return prev[n];
}

const rows = [0, 1, 2].map(() => new Int32Array(MAX_COMPARED + 1));
