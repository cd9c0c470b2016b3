/**
 * Helpers to send many rows in one parameter, the same way on postgres.js and
 * PGlite: rows travel as one JSON document and come back as a relation through
 * jsonb_to_recordset. One round trip per statement, whatever the batch size.
 */
import { sql, type SQL } from 'drizzle-orm';

/** `jsonb_to_recordset($1) AS name(col type, ...)`: `columns` is the SQL column list. */
export function recordset(rows: readonly object[], alias: string, columns: string): SQL {
  return sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS ${sql.raw(alias)}(${sql.raw(columns)})`;
}

/** The SQLSTATE of a database error, looking through drizzle's wrapper. */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Deadlock or serialization failure: the transaction did nothing and can run again. */
export function isRetryable(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40P01' || code === '40001';
}

export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 20));
    }
  }
}

/**
 * Whether PostgreSQL text can hold `s`. It cannot hold NUL (U+0000): a parameter with
 * one fails the whole statement; nor, inside the JSON documents that carry many values in
 * one parameter, a lone surrogate (jsonb refuses `\ud800`). Nothing stored holds either
 * (ingestion refuses ids with them and strips NUL from names and traits), so a lookup or
 * search for such text matches nothing, and the queries that take text from a user (a
 * command, a button's value, a view's metadata) answer so without asking the database.
 */
export function storable(s: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
