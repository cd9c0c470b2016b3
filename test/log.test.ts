/**
 * Database errors in the log: PostgreSQL's reason (message, SQLSTATE code, constraint)
 * is kept under drizzle's "Failed query", and the query's parameters never are
 * (they can hold write keys, traits, emails). Real errors from the real driver.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, errorText } from '../src/log.js';
import { testDatabase, type TestDatabase } from './harness.js';

const SECRET = 'person-4242@private.example';

describe('database errors in the log', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase();
    await t.database.db.execute(sql`create table log_probe (k text primary key, n int not null)`);
    await t.database.db.execute(sql`insert into log_probe values (${SECRET}, 1)`);
  });
  afterAll(() => t.drop());

  async function logged(query: ReturnType<typeof sql>) {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const error = await t.database.db.execute(query).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error, 'the query should fail').toBeInstanceOf(Error);
    log.error('a query failed', { error });
    expect(lines).toHaveLength(1);
    return { line: lines[0], entry: JSON.parse(lines[0]) as { error: Record<string, any> }, text: errorText(error) };
  }

  it('a unique violation: the constraint and code, never the key value nor the params', async () => {
    const { line, entry, text } = await logged(sql`insert into log_probe values (${SECRET}, ${2})`);
    expect(entry.error.message).toBe('Failed query: insert into log_probe values ($1, $2)');
    expect(entry.error.cause).toMatchObject({ code: '23505', constraint: 'log_probe_pkey' });
    expect(entry.error.cause.message).toContain('duplicate key value violates unique constraint');
    expect(text).toContain('(23505)');
    for (const out of [line, text]) {
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain('params:');
    }
  });

  it('a value the type refuses: the reason, with the quoted value left out', async () => {
    const { line, entry, text } = await logged(sql`select ${SECRET}::int as n`);
    expect(entry.error.cause.code).toBe('22P02');
    expect(entry.error.cause.message).toMatch(/^invalid input syntax for type integer/);
    expect(text).toContain('22P02');
    expect(line).not.toContain(SECRET);
    expect(text).not.toContain(SECRET);
  });

  it('a missing table: PostgreSQL’s message whole (names of our own objects are safe)', async () => {
    const { line, entry, text } = await logged(sql`select * from no_such_table where k = ${SECRET}`);
    expect(entry.error.cause).toMatchObject({ code: '42P01', message: 'relation "no_such_table" does not exist' });
    expect(text).toBe('Failed query: select * from no_such_table where k = $1: relation "no_such_table" does not exist (42P01)');
    expect(line).not.toContain(SECRET);
  });

  it('a not-null violation: the column, never the failing row', async () => {
    const { line, entry } = await logged(sql`insert into log_probe values (${`${SECRET}-2`}, ${null})`);
    expect(entry.error.cause).toMatchObject({ code: '23502', column: 'n' });
    expect(entry.error.cause.detail).toBeUndefined();
    expect(line).not.toContain(SECRET);
  });

  it('any message that carries drizzle’s params tail loses it, wherever it is', () => {
    const wrapped = new Error(`could not open it (last: Failed query: select 1\nparams: ${SECRET})`);
    expect(errorText(wrapped)).toBe('could not open it (last: Failed query: select 1 [params not logged]');
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).warn('x', { error: wrapped });
    expect(lines[0]).not.toContain(SECRET);
  });
});
