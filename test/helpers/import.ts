/**
 * Importing in tests: history files written from the vendors' documented formats, the
 * importer run in-process against a test database, and the rollups read back row by row.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../../src/db/client.js';
import { runImport, type ImportOptions } from '../../src/import/run.js';
import { databaseSink, type ImportSink } from '../../src/import/sink.js';
import { listInputs } from '../../src/import/source.js';

export const DAY = 86_400_000;

/** A time `days` ago at hh:mm UTC. */
export function ago(now: Date, days: number, hh = 10, mm = 0): Date {
  const d = new Date(Math.floor(now.getTime() / DAY) * DAY - days * DAY);
  d.setUTCHours(hh, mm, 0, 0);
  return d;
}

export function write(path: string, content: string | Uint8Array): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

export const jsonl = (records: unknown[]) => `${records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;
export const gz = (text: string) => gzipSync(Buffer.from(text));
export const zip = (entries: Record<string, Uint8Array>) => zipSync(entries);

export async function importPaths(
  db: Db,
  paths: string[],
  opts: Partial<ImportOptions> & { keyActions?: string[]; sink?: ImportSink } = {},
) {
  const inputs = await listInputs(paths);
  const sink = opts.sink ?? databaseSink(db, new Set(opts.keyActions ?? []));
  return runImport(
    {
      inputs,
      format: null,
      formatOptions: { groupProperty: 'company_id', groupType: 'company', map: {} },
      maxErrors: 100,
      dryRun: false,
      groupKeyPath: null,
      liveSource: 'test-source',
      now: new Date(),
      target: 'test',
      ...opts,
    },
    sink,
  );
}

export const ROLLUP_TABLES = ['companies', 'company_days', 'company_people', 'company_person_days', 'people', 'person_sessions', 'company_summary'] as const;

/** Every row of every rollup table, as sorted JSON text: two databases with one history compare equal. */
export async function rollupRows(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of ROLLUP_TABLES) {
    const r = await rows<{ r: string }>(db, sql.raw(`select to_jsonb(t)::text as r from ${t} t order by 1`));
    out[t] = r.map((x) => x.r).sort();
  }
  return out;
}

export { join };
