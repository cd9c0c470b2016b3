/**
 * Configuration, parsed once from the environment (and `.env`) with zod.
 * Nothing else in the code reads process.env: the composition root builds a
 * Config and hands it down, so tests build handlers with explicit config.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { validate as validateCron } from 'node-cron';

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const optional = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** The log levels, least to most severe (LOG_LEVEL). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const schema = z.object({
  DATABASE_URL: z.preprocess(
    optional,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL such as postgres://user@host:5432/db')
      .refine(
        parsesAsUrl,
        'a PostgreSQL URL such as postgres://user:password@host:5432/db, with a valid port; percent-encode @ : / # ? in the user name and password (# as %23)',
      )
      .optional(),
  ),
  PGLITE_DIR: z.preprocess(optional, z.string().default('./.data/pglite')),
  PORT: z.preprocess(
    optional,
    z.coerce.number({ error: 'a port number from 0 to 65535' }).int('a whole port number').min(0).max(65535).default(3000),
  ),
  SLACK_SIGNING_SECRET: z.preprocess(optional, z.string().optional()),
  SLACK_BOT_TOKEN: z.preprocess(
    optional,
    z.string().startsWith('xoxb-', 'a bot token that starts with xoxb-').optional(),
  ),
  SLACK_APP_TOKEN: z.preprocess(
    optional,
    z.string().startsWith('xapp-', 'an app-level token that starts with xapp-').optional(),
  ),
  SLACK_API_URL: z.preprocess(
    optional,
    z
      .url({ error: 'an http(s) URL such as https://slack.com/api/' })
      .refine((u) => /^https?:\/\//.test(u), 'an http(s) URL such as https://slack.com/api/')
      .transform((u) => (u.endsWith('/') ? u : `${u}/`))
      .default('https://slack.com/api/'),
  ),
  INGEST_WRITE_KEYS: z.preprocess(optional, z.string().optional()).transform(list),
  KEY_ACTIONS: z.preprocess(optional, z.string().optional()).transform(list),
  DIGEST_CHANNEL: z.preprocess(
    optional,
    z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, 'a channel id such as C0123456789 (not a #name)')
      .optional(),
  ),
  DIGEST_CRON: z.preprocess(
    optional,
    z
      .string()
      .refine((e) => validateCron(e), 'a node-cron expression such as "0 9 * * 1" (minute hour day month weekday, optional seconds first)')
      .default('0 9 * * 1'),
  ),
  DIGEST_TZ: z.preprocess(
    optional,
    z
      .string()
      .refine(isTimeZone, 'an IANA time zone such as UTC or Europe/Paris')
      .default('UTC'),
  ),
  PUBLIC_URL: z.preprocess(
    optional,
    z
      .url({ error: 'the bot\'s public base URL, such as https://groups.example.com', abort: true })
      .refine((u) => /^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(u), 'the bot\'s public base URL, such as https://groups.example.com (no query or #fragment)')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
  ),
  OWNER_TRAIT: z.preprocess(
    optional,
    z
      .string()
      .regex(/^[A-Za-z0-9_$-]{1,100}$/, 'a trait name such as owner_email (letters, digits, _ $ -)')
      .default('owner_email'),
  ),
  ALERT_CRON: z.preprocess(
    optional,
    z
      .string()
      .refine((e) => validateCron(e), 'a node-cron expression such as "0 9 * * 1-5" (minute hour day month weekday, optional seconds first)')
      .default('0 9 * * 1-5'),
  ),
  GROUP_KEY_PATH: z.preprocess(
    optional,
    z
      .string()
      .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path such as properties.account_id')
      .optional(),
  ),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof v === 'string' ? optional(v.trim()) : v),
    z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
});

function parsesAsUrl(url: string): boolean {
  try {
    const u = new URL(url);
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export interface Config {
  databaseUrl: string | undefined;
  pgliteDir: string;
  port: number;
  slack: {
    signingSecret: string | undefined;
    botToken: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
  };
  writeKeys: string[];
  keyActions: string[];
  digest: { channel: string | undefined; cron: string; tz: string };
  groupKeyPath: string[] | null;
  /** PUBLIC_URL without a trailing slash: replies carry chart images served by the bot. */
  publicUrl: string | undefined;
  /** OWNER_TRAIT: the company trait naming its owner (an email or a Slack user id). */
  ownerTrait: string;
  /** ALERT_CRON: when direct alerts to owners and watchers are checked (in DIGEST_TZ). */
  alerts: { cron: string };
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  public readonly problems: string[];
  constructor(problems: string[]) {
    const unique = [...new Set(problems)]; // one check failing twice (a URL that is neither) is one problem
    super(`Configuration is not valid:\n${unique.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = unique;
    this.name = 'ConfigError';
  }
}

/** Every environment variable the product reads. */
export const CONFIG_VARIABLES = Object.keys(schema.shape) as readonly string[];

/** Parse an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      // Never echo the value: it may be a secret.
      return `${name}: expected ${issue.message.replace(/^Invalid input: /, '')}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    pgliteDir: e.PGLITE_DIR,
    port: e.PORT,
    slack: {
      signingSecret: e.SLACK_SIGNING_SECRET,
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
    },
    writeKeys: e.INGEST_WRITE_KEYS,
    keyActions: e.KEY_ACTIONS,
    digest: { channel: e.DIGEST_CHANNEL, cron: e.DIGEST_CRON, tz: e.DIGEST_TZ },
    groupKeyPath: e.GROUP_KEY_PATH ? e.GROUP_KEY_PATH.split('.') : null,
    publicUrl: e.PUBLIC_URL,
    ownerTrait: e.OWNER_TRAIT,
    alerts: { cron: e.ALERT_CRON },
    logLevel: e.LOG_LEVEL,
  };
}

/** The Slack settings `npm start` cannot run without, by variable name. */
export function missingSlackSettings(config: Config): string[] {
  const missing: string[] = [];
  if (!config.slack.botToken) missing.push('SLACK_BOT_TOKEN');
  // Socket Mode authenticates with the app token; HTTP mode verifies with the signing secret.
  // Bolt wants the signing secret in HTTP mode only.
  if (!config.slack.appToken && !config.slack.signingSecret) missing.push('SLACK_SIGNING_SECRET');
  return missing;
}

/** Read `.env` into process.env (variables already set win), if the file exists. */
export function readDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
