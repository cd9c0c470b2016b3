/**
 * What tests need, seeded explicitly: a database of their own (a fresh
 * PostgreSQL database when DATABASE_URL is set, dropped afterwards; else an
 * in-memory PGlite), the real server on a free port, and helpers to talk to it.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { createLogger, type Logger } from '../src/log.js';
import { startBot, type BotOptions } from '../src/compose.js';
import type { RunningServer } from '../src/server.js';

export const ADMIN_URL = process.env.DATABASE_URL;
export const usingPostgres = Boolean(ADMIN_URL);

export interface TestDatabase {
  database: Database;
  url: string | undefined;
  drop(): Promise<void>;
}

/** A fresh, migrated database of the kind `npm test` was started with. */
export async function testDatabase(): Promise<TestDatabase> {
  if (!ADMIN_URL) {
    const database = await openDatabase({ pgliteDir: 'memory://' });
    return { database, url: undefined, drop: () => database.close() };
  }
  const name = `lm_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabase(ADMIN_URL, name);
  const database = await openDatabase({ databaseUrl: url });
  return {
    database,
    url,
    drop: async () => {
      await database.close().catch(() => {});
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export const WRITE_KEY = 'wk_test_123';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-0000-token';

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    INGEST_WRITE_KEYS: WRITE_KEY,
    PORT: '0',
    ...env,
  });
}

export interface TestApp {
  url: string;
  config: Config;
  database: Database;
  server: RunningServer;
  logs: string[];
  stop(): Promise<void>;
}

/** The real server, on a free port, against a database of the test's own. */
export async function startTestApp(opts: {
  env?: Record<string, string | undefined>;
  database?: Database;
  bot?: Partial<Omit<BotOptions, 'config' | 'database' | 'log'>>;
} = {}): Promise<TestApp & { dropDatabase(): Promise<void> }> {
  const owned = opts.database ? null : await testDatabase();
  const database = opts.database ?? owned!.database;
  const config = testConfig(opts.env);
  const logs: string[] = [];
  const log: Logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const server = await startBot({ config, database, log, port: 0, ...opts.bot });
  return {
    url: `http://127.0.0.1:${server.port}`,
    config,
    database,
    server,
    logs,
    stop: () => server.stop(),
    dropDatabase: async () => {
      if (owned) await owned.drop();
    },
  };
}

export function basic(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json: json as { success?: boolean; error?: string } | null, text };
}

/** Send the product brief's worked example through the ingestion API; every batch must be stored. */
export async function loadWorkedExample(appUrl: string, now = new Date()): Promise<void> {
  const { workedExampleBatches } = await import('../src/demo/example.js');
  for (const body of workedExampleBatches(now)) {
    const r = await post(`${appUrl}/v1/batch`, body);
    if (r.status !== 200) throw new Error(`the worked example was refused: ${r.status} ${r.text}`);
  }
}
