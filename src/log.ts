/**
 * A small structured logger (one JSON line per entry on stderr), with a redactor
 * that every line passes through: secrets the process knows are never printed,
 * whatever a library or an error message carries.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const secrets = new Set<string>();

/** Register values that must never reach a log line (tokens, signing secret, write keys). */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const v of values) if (v && v.length >= 4) secrets.add(v);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  // Token shapes we may not have been told about.
  return out.replace(/\b(xox[abposr]|xapp)-[A-Za-z0-9-]{6,}/g, '$1-[redacted]');
}

/**
 * An error as log fields: its name, message and code, and its cause (PostgreSQL's
 * reason under drizzle's "Failed query"), but never a query's parameters, which
 * can hold write keys, traits or emails. See describeError.
 */
function errorFields(v: unknown): unknown {
  return v instanceof Error ? describeError(v) : v;
}

/** SQLSTATE classes whose message or detail quote the values of a row or a parameter. */
const VALUE_QUOTING_CLASSES = new Set(['22', '23']);
/** The longest query text kept in a log line (the statement, never its parameters). */
const MAX_QUERY_CHARS = 300;

interface ErrorDescription {
  name: string;
  message: string;
  code?: unknown;
  detail?: string;
  hint?: string;
  constraint?: string;
  table?: string;
  column?: string;
  cause?: ErrorDescription | string;
}

/**
 * The safe description of an error, with its causes (three deep). drizzle wraps a
 * driver's error as DrizzleQueryError("Failed query: SQL\nparams: …", cause): the
 * statement is kept, the params dropped, and the driver's error (postgres.js or
 * PGlite) kept as the cause, with its SQLSTATE code, constraint, table and column.
 * For data and constraint errors (classes 22 and 23) PostgreSQL's detail and quoted
 * values echo the data, so those are left out.
 */
export function describeError(error: Error, depth = 0): ErrorDescription {
  const e = error as Error & Record<string, unknown>;
  const code = e.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && ('severity' in e || 'routine' in e) ? code : undefined;
  const quotesValues = sqlState !== undefined && VALUE_QUOTING_CLASSES.has(sqlState.slice(0, 2));
  let message: string;
  if (isDrizzleQueryError(e)) {
    const query = String(e.query).replace(/\s+/g, ' ').trim();
    message = `Failed query: ${query.length > MAX_QUERY_CHARS ? `${query.slice(0, MAX_QUERY_CHARS)}…` : query}`;
  } else {
    message = withoutParams(e.message);
    // "invalid input syntax for type json: "…"", "value too long …": the quoted part is the data.
    if (quotesValues) message = message.replace(/"[^"]*"/g, '"…"');
  }
  const out: ErrorDescription = { name: e.name, message };
  if (code !== undefined) out.code = code;
  if (sqlState) {
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
    const detail = quotesValues ? undefined : str(e.detail);
    const fields: Partial<ErrorDescription> = {
      detail,
      hint: str(e.hint),
      constraint: str(e.constraint_name) ?? str(e.constraint),
      table: str(e.table_name) ?? str(e.table),
      column: str(e.column_name) ?? str(e.column),
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  const cause = e.cause;
  if (cause !== undefined && depth < 3) out.cause = cause instanceof Error ? describeError(cause, depth + 1) : withoutParams(String(cause));
  return out;
}

/** One line for a person: the message, then each cause's, with SQLSTATE codes; never a query's parameters. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return withoutParams(String(error));
  const parts: string[] = [];
  for (let d: ErrorDescription | string | undefined = describeError(error); d !== undefined; d = typeof d === 'string' ? undefined : d.cause) {
    if (typeof d === 'string') parts.push(d);
    else parts.push(`${d.message}${typeof d.code === 'string' && /^[0-9A-Z]{5}$/.test(d.code) ? ` (${d.code})` : ''}${d.detail ? `. ${d.detail}` : ''}`);
  }
  return parts.join(': ');
}

function isDrizzleQueryError(e: Error & Record<string, unknown>): boolean {
  return typeof e.query === 'string' && 'params' in e && e.message.startsWith('Failed query:');
}

/** drizzle's "params: …" tail (the last line of defence: anything after it goes too). */
function withoutParams(message: string): string {
  const at = message.search(/\nparams: /);
  return at === -1 ? message : `${message.slice(0, at)} [params not logged]`;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void; name?: string } = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const entry: Record<string, unknown> = { t: new Date().toISOString(), level, msg };
    if (opts.name) entry.name = opts.name;
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = errorFields(v);
    write(redact(JSON.stringify(entry)));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Bolt's Logger interface on top of ours. */
export function boltLogger(log: Logger) {
  let level = 'info';
  const join = (args: unknown[]) => args.map((a) => (a instanceof Error ? `${a.name}: ${errorText(a)}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    debug: (...a: unknown[]) => log.debug(join(a), { from: 'bolt' }),
    info: (...a: unknown[]) => log.info(join(a), { from: 'bolt' }),
    warn: (...a: unknown[]) => log.warn(join(a), { from: 'bolt' }),
    error: (...a: unknown[]) => log.error(join(a), { from: 'bolt' }),
    setLevel: (l: string) => {
      level = l;
    },
    getLevel: () => level as never,
    setName: () => {},
  };
}
