/**
 * Shared by the bench parts: the local PostgreSQL (only 127.0.0.1), fresh
 * databases that are dropped afterwards, a deterministic PRNG, small tables.
 */
import { randomBytes } from 'node:crypto';
export { freePort } from '../test/helpers/net.js';
import postgres from 'postgres';
import { mulberry32 } from './simulate-book.js';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The bench only talks to this machine. */
export function assertLocal(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new Error(`the bench only talks to 127.0.0.1; refusing ${host}`);
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const created = new Set<string>();

/** A fresh database on the local server; dropped by drop() or by dropAll() at exit. */
export async function freshDatabase(prefix: string): Promise<BenchDatabase> {
  assertLocal(ADMIN_URL);
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  created.add(name);
  return { name, url: withDatabase(ADMIN_URL, name), drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    created.delete(name);
  } finally {
    await admin.end();
  }
}

export async function dropAll(): Promise<void> {
  for (const name of [...created]) await dropDatabase(name).catch(() => {});
}


/** mulberry32 (bench/simulate-book.ts): the same workload on every run. */
export const prng = mulberry32;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n');
}

export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : dflt;
}

export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** Companies differ in size, a few big and many small: a picker of company indexes weighted so. */
export function weightedCompanyPicker(companies: number, rnd: () => number): () => number {
  const weights = Array.from({ length: companies }, () => 0.3 + rnd() ** 2 * 3);
  const cum: number[] = [];
  weights.reduce((s, w, i) => (cum[i] = s + w), 0);
  return () => {
    const x = rnd() * cum[cum.length - 1];
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A company's totals as a bench generated them, to compare with what was stored. */
export interface CompanyTotals {
  events: number;
  keyActions: number;
  sessions: number;
  personDays: number;
  people: number;
}

/**
 * The stored per-company totals (company_days, company_people) against the generated ones:
 * how many companies differ, both sums, and the table counts.
 */
export async function compareStoredTotals(url: string, expected: Map<string, CompanyTotals>) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const got = await sql<{ c: string; events: number; key_actions: number; sessions: number; person_days: number; people: number }[]>`
      select d.company_key as c, d.events, d.key_actions, d.sessions, d.person_days, coalesce(p.people, 0)::int as people
      from (select company_key, sum(events)::int as events, sum(key_actions)::int as key_actions, sum(sessions)::int as sessions,
                   sum(people)::int as person_days from company_days group by company_key) d
      left join (select company_key, count(*)::int as people from company_people group by company_key) p using (company_key)`;
    const [counts] = await sql<{ companies: number; named: number; people: number; messages: number }[]>`
      select (select count(*) from companies where company_key <> '')::int as companies,
             (select count(*) from companies where name is not null)::int as named,
             (select count(*) from people)::int as people, (select count(*) from messages)::int as messages`;
    const byKey = new Map(got.map((r) => [r.c, r]));
    let differ = Math.abs(byKey.size - expected.size);
    const sum: CompanyTotals = { events: 0, keyActions: 0, sessions: 0, personDays: 0, people: 0 };
    const gotSum: CompanyTotals = { events: 0, keyActions: 0, sessions: 0, personDays: 0, people: 0 };
    for (const [c, x] of expected) {
      const r = byKey.get(c);
      sum.events += x.events;
      sum.keyActions += x.keyActions;
      sum.sessions += x.sessions;
      sum.personDays += x.personDays;
      sum.people += x.people;
      if (!r || r.events !== x.events || r.key_actions !== x.keyActions || r.sessions !== x.sessions || r.person_days !== x.personDays || r.people !== x.people) differ++;
    }
    for (const r of got) {
      gotSum.events += r.events;
      gotSum.keyActions += r.key_actions;
      gotSum.sessions += r.sessions;
      gotSum.personDays += r.person_days;
      gotSum.people += r.people;
    }
    return { differ, activeCompanies: byKey.size, sum, gotSum, counts };
  } finally {
    await sql.end();
  }
}

/** `events …, key actions …, sessions …, person-days …, people …` of a CompanyTotals. */
export const totalsText = (t: CompanyTotals, people = 'people'): string =>
  `events ${fmt(t.events)}, key actions ${fmt(t.keyActions)}, sessions ${fmt(t.sessions)}, person-days ${fmt(t.personDays)}, ${people} ${fmt(t.people)}`;
