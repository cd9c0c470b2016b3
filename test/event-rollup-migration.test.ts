/**
 * Migrations 0010 and 0011.
 *
 * 0010 (company_event_days as one row per company-day, its names in arrays): the rows
 * an install wrote under 0009 (one row per company, day and name) carry over, counts exact,
 * and the reads see them through the view company_event_counts.
 *
 * 0011 (the bucket of names past the bound moves from "other events" to OTHER_EVENTS, which no
 * sent name can equal): a company's rows under "other events" move unless the company holds
 * that name itself, in which case they are that event's.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { migrateDatabase, openDatabase, rows, type Database } from '../src/db/client.js';
import { OTHER_EVENTS } from '../src/ingest/event-names.js';
import { ADMIN_URL, withDatabase } from './harness.js';

const FOLDER = join(import.meta.dirname, '..', 'drizzle');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A database with no migration applied, of the kind the tests run on. */
async function emptyDatabase(): Promise<Database> {
  const adminUrl = ADMIN_URL;
  if (!adminUrl) {
    const database = await openDatabase({ pgliteDir: 'memory://', migrate: false });
    cleanups.push(() => database.close());
    return database;
  }
  const name = `lm_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const database = await openDatabase({ databaseUrl: withDatabase(adminUrl, name), migrate: false });
  cleanups.push(async () => {
    await database.close().catch(() => {});
    const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await a.unsafe(`drop database if exists ${name} with (force)`);
    await a.end();
  });
  return database;
}

/** The migrations folder cut after the migration tagged `last`. */
function foldersUpTo(last: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lm-migrations-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  cpSync(FOLDER, dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === last);
  expect(at).toBeGreaterThanOrEqual(0);
  journal.entries = journal.entries.slice(0, at + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

it('rows written under 0009 carry over into one row per company-day, counts and names exact', async () => {
  const database = await emptyDatabase();
  const { db } = database;
  await migrateDatabase(database, foldersUpTo('0009_company_event_days'));
  await db.execute(sql`insert into company_event_days (company_key, day, event, count) values
    ('acme', '2026-11-01', 'Dashboard Shared', 4), ('acme', '2026-11-01', 'Invite Sent', 2),
    ('acme', '2026-11-02', 'Dashboard Shared', 7), ('acme', '2026-11-02', 'other events', 3),
    ('globex', '2026-11-01', 'page', 1)`);
  await db.execute(sql`insert into company_event_names (company_key, event) values
    ('acme', 'Dashboard Shared'), ('acme', 'Invite Sent'), ('globex', 'page')`);

  await migrateDatabase(database);

  expect(await rows(db, sql`select company_key, day::text, cardinality(events) as n from company_event_days order by 1, 2`)).toEqual([
    { company_key: 'acme', day: '2026-11-01', n: 2 },
    { company_key: 'acme', day: '2026-11-02', n: 2 },
    { company_key: 'globex', day: '2026-11-01', n: 1 },
  ]);
  expect(await rows(db, sql`select company_key, day::text, event, count from company_event_counts order by 1, 2, 3`)).toEqual([
    { company_key: 'acme', day: '2026-11-01', event: 'Dashboard Shared', count: 4 },
    { company_key: 'acme', day: '2026-11-01', event: 'Invite Sent', count: 2 },
    { company_key: 'acme', day: '2026-11-02', event: OTHER_EVENTS, count: 3 },
    { company_key: 'acme', day: '2026-11-02', event: 'Dashboard Shared', count: 7 },
    { company_key: 'globex', day: '2026-11-01', event: 'page', count: 1 },
  ]);
  expect(await rows(db, sql`select company_key, names from company_event_names order by 1`)).toEqual([
    { company_key: 'acme', names: ['Dashboard Shared', 'Invite Sent'] },
    { company_key: 'globex', names: ['page'] },
  ]);
});

it('0011: "other events" moves to the bucket where it was the bucket, and stays where a company sent that event', async () => {
  const database = await emptyDatabase();
  const { db } = database;
  await migrateDatabase(database, foldersUpTo('0010_company_event_arrays'));
  await db.execute(sql`insert into company_event_days (company_key, day, events, counts) values
    ('wide', '2026-11-01', array['A', 'other events'], array[2, 9]),
    ('wide', '2026-11-02', array['A'], array[1]),
    ('sent', '2026-11-01', array['other events', 'B'], array[4, 1])`);
  await db.execute(sql`insert into company_event_names (company_key, names) values ('wide', array['A']), ('sent', array['other events', 'B'])`);

  await migrateDatabase(database);

  expect(await rows(db, sql`select company_key, day::text, event, count from company_event_counts order by 1, 2, 3`)).toEqual([
    { company_key: 'sent', day: '2026-11-01', event: 'B', count: 1 },
    { company_key: 'sent', day: '2026-11-01', event: 'other events', count: 4 },
    { company_key: 'wide', day: '2026-11-01', event: OTHER_EVENTS, count: 9 },
    { company_key: 'wide', day: '2026-11-01', event: 'A', count: 2 },
    { company_key: 'wide', day: '2026-11-02', event: 'A', count: 1 },
  ]);
});
