/**
 * How an ingestion transaction sends its statements: in a few groups, each
 * group in one round trip where the driver allows it.
 *
 * On postgres.js, drizzle's `execute` sends every statement with parameters
 * twice over (Parse/Describe, wait for the parameter types, then Bind/Execute),
 * and one statement at a time. Here a group of statements goes out back to back
 * as named prepared statements (described once per connection): PostgreSQL runs
 * them in order, each with its own snapshot, exactly as if each had been awaited
 * before the next was sent, and the group costs one round trip. A failing
 * statement fails the ones after it (the transaction is aborted), so the group
 * fails with the first error and the whole transaction rolls back.
 *
 * Plans: the transaction sets plan_cache_mode = force_custom_plan first, so a
 * prepared statement is still planned for each execution, as an unnamed one is;
 * a generic plan made while a table was still small (a seq scan of people, say)
 * would otherwise be kept as the table grows.
 *
 * PGlite (one connection in-process) runs the same statements one after another.
 */
import { is, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import { rows, type Db } from '../db/client.js';

type Unsafe = (text: string, params: unknown[], options: { prepare: boolean }) => Promise<unknown>;

export interface StatementRunner {
  /** Runs the statements in order (a null is skipped and gives no rows); the rows of each. */
  all(statements: readonly (SQL | null)[]): Promise<unknown[][]>;
  /**
   * The transaction's last statements, whose answers it does not need. On postgres.js they
   * are sent and not waited for, so the transaction callback returns at once and COMMIT
   * follows them in the same round trip. Resolves (at once there) to `written`, their
   * outcome, which the caller must await after the transaction has committed: if one of
   * them failed, the transaction was aborted and that COMMIT ended it as a rollback, so
   * nothing was stored. PGlite runs them before resolving.
   */
  last(statements: readonly (SQL | null)[]): Promise<{ written: Promise<void> }>;
}

const dialect = new PgDialect();

/** The runner for one transaction; on postgres.js its first group starts with the plan setting. */
export function statementRunner(tx: Db): StatementRunner {
  const session = tx._.session;
  if (!is(session, PostgresJsSession)) {
    const all = async (statements: readonly (SQL | null)[]) => {
      const out: unknown[][] = [];
      for (const s of statements) out.push(s === null ? [] : await rows<unknown>(tx, s));
      return out;
    };
    return {
      all,
      async last(statements) {
        await all(statements);
        return { written: Promise.resolve() };
      },
    };
  }
  const client = (session as unknown as { client: { unsafe: Unsafe } }).client;
  let first = true;
  const send = (s: SQL): Promise<unknown[]> => {
    const q = dialect.sqlToQuery(s);
    return client.unsafe(q.sql, q.params, { prepare: true }) as Promise<unknown[]>;
  };
  const all = (statements: readonly (SQL | null)[]): Promise<unknown[][]> => {
    const pending: Promise<unknown[]>[] = [];
    if (first) {
      first = false;
      pending.push(send(sql`set local plan_cache_mode = force_custom_plan`));
    }
    const skip = pending.length;
    for (const s of statements) pending.push(s === null ? Promise.resolve([]) : send(s));
    // All are sent before any answer is read; Promise.all settles every one of them.
    return Promise.all(pending).then((results) => results.slice(skip));
  };
  return {
    all,
    async last(statements) {
      const written = all(statements).then(() => undefined);
      // Handled here so that a failure is never an unhandled rejection; the caller awaits it.
      written.catch(() => {});
      return { written };
    },
  };
}
