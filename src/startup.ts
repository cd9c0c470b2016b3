/** Start-up steps shared by `npm start` and the command-line tools. */
/** How many times a command-line tool tries the database before it gives up (0.5 + 1 + 2 s of waiting). */
export const CLI_DB_ATTEMPTS = 4;
import type { Config } from './config.js';
import { DatabaseInUseError, openDatabase, type Database } from './db/client.js';
import type { Logger } from './log.js';

/**
 * Open (and migrate) the database, retrying with backoff while it does not answer: for ever
 * (the bot), or `maxAttempts` times (a command-line tool, which must end, and which gives up
 * at once on an embedded database held by another process).
 */
export async function waitForDatabase(config: Config, log: Logger, opts: { signal?: AbortSignal; maxAttempts?: number } = {}): Promise<Database> {
  const where = databaseLabel(config);
  for (let attempt = 1, delay = 500; ; attempt++, delay = Math.min(delay * 2, 15_000)) {
    try {
      const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, migrate: true });
      log.info('database ready; migrations applied', { database: where });
      return database;
    } catch (error) {
      // A tool must end: a database in use is no reason to wait. The bot waits (a tool holds it for seconds).
      if (opts.signal?.aborted || (error instanceof DatabaseInUseError && opts.maxAttempts !== undefined)) throw error;
      if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`could not open ${where} (${attempt} attempts; last: ${why}). Check DATABASE_URL, and that the database is running.`);
      }
      log.warn(`waiting for ${where} (attempt ${attempt}); retrying in ${Math.round(delay / 1000)} s`, { error });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** What the database is, in words fit for a log line or /healthz (no password). */
export function databaseLabel(config: Config): string {
  return config.databaseUrl ? `PostgreSQL at ${safeUrl(config.databaseUrl)}` : `the embedded database in ${config.pgliteDir}`;
}

/** A URL fit for a log line: no password. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'a PostgreSQL URL';
  }
}

