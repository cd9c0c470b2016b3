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
