/**
 * One database handle for both drivers: postgres.js when DATABASE_URL is set,
 * the embedded PGlite otherwise. Queries are written once against drizzle's
 * PgDatabase and read rows through `rows()`, which evens out the two drivers'
 * result shapes.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** postgres.js client (postgres kind only): for COPY-free bulk work and locks. */
  client?: import('postgres').Sql;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Run a query and return its rows, whichever driver is underneath. */
export async function rows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export interface OpenOptions {
  databaseUrl?: string;
  pgliteDir?: string;
  /** Pool size for postgres.js. */
  max?: number;
  /** Apply pending migrations (npm start, tests, demo). */
  migrate?: boolean;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const database = opts.databaseUrl ? await openPostgres(opts.databaseUrl, opts.max ?? 10) : await openPglite(opts.pgliteDir);
  if (opts.migrate ?? true) {
    try {
      await migrateDatabase(database);
    } catch (error) {
      await database.close().catch(() => {}); // a retry must not find our own connection (or lock) still open
      throw error;
    }
  }
  return database;
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const client = postgres(url, {
    max,
    onnotice: () => {},
    // Fail fast when the server is down, so ingestion answers 503 and the client retries.
    connect_timeout: 5,
    // postgres.js waits up to 20 s between reconnects after failures (3^n/100 s) and queues
    // queries behind that wait; a short cap keeps answers to clients a quick 503 during an
    // outage and reconnects within a second once the server is back.
    backoff: (attempt: number) => Math.min(0.05 * attempt, 1),
    idle_timeout: 30,
    connection: { application_name: 'leadmaps-groups' },
  });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    client,
    ping: () => pingWith(db),
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * The embedded database is one process's files: a second process opening them (the bot and
 * `npm run groups` at once) reads stale pages and can corrupt them. So whoever opens a
 * directory holds a lock file with its pid; a lock whose process is gone is taken over.
 */
export class DatabaseInUseError extends Error {}

const LOCK_FILE = 'leadmaps.lock';

function lockPglite(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const mine = String(process.pid);
  // The lock appears with its content already in it: written aside, then hard-linked into place.
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, mine);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, path);
        return () => {
          try {
            if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
          } catch {
            /* already gone */
          }
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const pid = Number(readText(path));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new DatabaseInUseError(
          `the embedded database in ${dir} is in use by process ${pid} (npm start?). Only one process can open it: ` +
            `stop that process first, or set DATABASE_URL so that the bot and the command-line tools share PostgreSQL ` +
            `(if process ${pid} is not the bot, delete ${path}).`,
        );
      }
      if (!(Number.isInteger(pid) && pid > 0)) continue; // unreadable: gone since, or another process's; look again
      // Its process is gone: move it aside (atomic; of two processes doing so, one gets it), then check
      // that what was moved is the dead lock seen, not a live one taken in between.
      const aside = `${tmp}.stale`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      if (readText(aside) !== String(pid)) {
        try {
          linkSync(aside, path); // put a live lock back
        } catch {
          /* another process holds the lock now */
        }
      }
      unlinkSync(aside);
    }
    throw new DatabaseInUseError(`could not lock the embedded database in ${dir}; try again`);
  } finally {
    unlinkSync(tmp);
  }
}

/** The live process holding the embedded database in `dir`, if any (its lock file). */
export function embeddedDatabaseHolder(dir: string): number | null {
  const pid = Number(readText(join(dir, LOCK_FILE)));
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openPglite(dir: string | undefined): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const onDisk = Boolean(dir && !dir.startsWith('memory://'));
  if (onDisk) mkdirSync(dir!, { recursive: true });
  const unlock = onDisk ? lockPglite(dir!) : () => {};
  let client: InstanceType<typeof PGlite>;
  try {
    client = new PGlite(dir ?? 'memory://');
    await client.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    ping: () => pingWith(db),
    close: async () => {
      try {
        await client.close();
      } finally {
        unlock();
      }
    },
  };
}

async function pingWith(db: Db): Promise<boolean> {
  try {
    await rows(db, sql`select 1 as ok`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Apply drizzle-kit's migrations (those of `migrationsFolder`: a test may stop at an older one).
 * Under an advisory lock so that several processes starting together on one database do not race.
 */
export async function migrateDatabase(database: Database, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  const config = { migrationsFolder, migrationsSchema: 'drizzle' };
  if (database.kind === 'pglite') {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(database.db as never, config);
    return;
  }
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const client = database.client!;
  // A session lock on one reserved connection; other starters wait on it, then find nothing pending.
  const lockConn = await client.reserve();
  try {
    await lockConn`select pg_advisory_lock(727274001)`;
    await migrate(database.db as never, config);
  } finally {
    await lockConn`select pg_advisory_unlock(727274001)`.catch(() => {});
    lockConn.release();
  }
}
