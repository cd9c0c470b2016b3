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

function errorFields(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return { name: v.name, message: v.message, ...(code !== undefined ? { code } : {}) };
  }
  return v;
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
  const join = (args: unknown[]) => args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
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
