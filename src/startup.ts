/** Start-up steps shared by `npm start` and the command-line tools. */
import type { Config } from './config.js';
import { DatabaseInUseError, openDatabase, type Database } from './db/client.js';
import { errorText, type Logger } from './log.js';

/** How many times a command-line tool tries the database before it gives up (0.5 + 1 + 2 s of waiting). */
export const CLI_DB_ATTEMPTS = 4;

/** The database refused us for a reason that waiting will not change; the message says what to do. */
export class DatabaseSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseSetupError';
  }
}

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
      const fix = setupProblem(error, config);
      if (fix) throw new DatabaseSetupError(fix);
      // A tool must end: a database in use is no reason to wait. The bot waits (a tool holds it for seconds).
      if (opts.signal?.aborted || (error instanceof DatabaseInUseError && opts.maxAttempts !== undefined)) throw error;
      if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
        const why = errorText(error);
        throw new Error(`could not open ${where} (${attempt} attempts; last: ${why}). Check DATABASE_URL, and that the database is running.`);
      }
      log.warn(`waiting for ${where} (attempt ${attempt}${hostNotFound(error) ? `; host ${hostNotFound(error)} not found: check the host in DATABASE_URL` : ''}); retrying in ${Math.round(delay / 1000)} s`, { error });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** What the database is, in words fit for a log line or /healthz (no password). */
export function databaseLabel(config: Config): string {
  return config.databaseUrl ? `PostgreSQL at ${safeUrl(config.databaseUrl)}` : `the embedded database in ${config.pgliteDir}`;
}

/** The password of DATABASE_URL as written and as decoded, for the log's redactor. */
export function databasePasswords(config: Pick<Config, 'databaseUrl'>): string[] {
  if (!config.databaseUrl) return [];
  const { password } = new URL(config.databaseUrl);
  return password ? [password, decodeURIComponent(password)] : [];
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


/**
 * SQLSTATE classes worth waiting on: the connection (08), resources such as too many
 * connections (53), a server starting or shutting down (57P03, 57P01), system and I/O
 * errors (58), a lock or a serialization failure (55, 40), and internal errors (XX).
 * Any other SQLSTATE (a database or role that does not exist, a password refused, a
 * privilege missing) stays the same however long we wait.
 */
const RETRYABLE_SQLSTATE_CLASSES = new Set(['08', '53', '57', '58', '55', '40', 'XX']);
/**
 * Codes that are not SQLSTATEs and that no wait will change: TLS refused (a certificate, a
 * protocol), and postgres.js's authentication failures. Any other code (network, postgres.js's
 * CONNECTION_CLOSED, CONNECT_TIMEOUT...) is waited on, as before.
 */
const PERMANENT_CODES = /CERT|SSL|TLS|^SASL_|^AUTH_TYPE_NOT_IMPLEMENTED$/;
/** Local files of the embedded database that this user may not create or write. */
const FILE_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOSPC']);

/** The SQLSTATE or system code of an error or of its causes (drizzle wraps the driver's). */
function codeOf(error: unknown): { code: string; message: string } | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: e.message };
  }
  return null;
}

function hostNotFound(error: unknown): string | null {
  const c = codeOf(error);
  return c?.code === 'ENOTFOUND' ? (/ENOTFOUND (\S+)/.exec(c.message)?.[1] ?? 'of DATABASE_URL') : null;
}

/** A word as a POSIX shell argument (quoted only when it needs to be). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_.@%+:,/=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * When retrying cannot help, what is wrong and how to fix it (never the password);
 * null when the error may pass (the server down, starting, or out of connections).
 */
export function setupProblem(error: unknown, config: Pick<Config, 'databaseUrl' | 'pgliteDir'>): string | null {
  const c = codeOf(error);
  if (!c) return null;
  if (!config.databaseUrl) {
    if (!FILE_CODES.has(c.code)) return null;
    return `the embedded database cannot be kept in ${config.pgliteDir} (${c.code}: ${errorText(error)}). Point PGLITE_DIR at a folder this user may create and write, or set DATABASE_URL.`;
  }
  const sqlState = /^[0-9A-Z]{5}$/.test(c.code) ? c.code : null;
  if (sqlState ? RETRYABLE_SQLSTATE_CLASSES.has(sqlState.slice(0, 2)) : !PERMANENT_CODES.test(c.code)) return null;
  const u = parts(config.databaseUrl);
  const at = `${u.host}:${u.port}`;
  const quoted = (what: string) => new RegExp(`${what} "([^"]*)"`).exec(c.message)?.[1];
  const reason = `${c.message}${sqlState ? ` (${sqlState})` : ''}`;
  switch (sqlState) {
    case '3D000': {
      const name = quoted('database') ?? u.database;
      return (
        `the database "${name}" does not exist on PostgreSQL at ${at}. Create it (as a role that may create databases):\n` +
        `  createdb -h ${shellWord(u.host)} -p ${u.port} -U ${shellWord(u.user)} ${shellWord(name)}\n` +
        `or correct the database name at the end of DATABASE_URL.`
      );
    }
    case '28P01':
      return `PostgreSQL at ${at} refused the password of role "${u.user}" (28P01). Check the password in DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE; percent-encode @ : / # in it).`;
    case '28000': {
      const role = quoted('role');
      if (role !== undefined && /does not exist/.test(c.message)) {
        return (
          `the role "${role}" does not exist on PostgreSQL at ${at}. Create it (as a superuser such as postgres):\n` +
          `  createuser -h ${shellWord(u.host)} -p ${u.port} -U postgres --pwprompt ${shellWord(role)}\n` +
          `and give it a database of its own if it needs one (createdb -h ${shellWord(u.host)} -p ${u.port} -U postgres -O ${shellWord(role)} ${shellWord(u.database)}), or correct the user name in DATABASE_URL.`
        );
      }
      return `PostgreSQL at ${at} refused the connection: ${reason}. Allow this host for role "${u.user}" in the server's pg_hba.conf, or check the user and password in DATABASE_URL.`;
    }
    case '42501':
      return (
        `role "${u.user}" may not create the tables in database "${u.database}": ${reason}. Connect as the database's owner, or grant it:\n` +
        `  psql -h ${shellWord(u.host)} -p ${u.port} -U postgres -d ${shellWord(u.database)} -c ${shellWord(`GRANT CREATE ON DATABASE "${u.database}" TO "${u.user}"; GRANT CREATE ON SCHEMA public TO "${u.user}"`)}`
      );
    default:
      return `cannot use PostgreSQL at ${at}: ${errorText(error)}. Retrying will not fix this; check DATABASE_URL and the server.`;
  }
}

/** The user, host, port and database of a PostgreSQL URL (what postgres.js defaults to when absent). */
function parts(url: string): { user: string; host: string; port: string; database: string } {
  const u = new URL(url);
  const user = decodeURIComponent(u.username) || 'postgres';
  return { user, host: u.hostname || 'localhost', port: u.port || '5432', database: decodeURIComponent(u.pathname.slice(1)) || user };
}
