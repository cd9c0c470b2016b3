/**
 * Breaking things for real: the app as a child process (`node --import tsx
 * src/main.ts`), the real @segment/analytics-node SDK as the load, and the
 * real PostgreSQL server restarted with pg_ctlcluster. Shared by the fault
 * tests and `npm run soak`.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
export { freePort } from '../helpers/net.js';
import { fileURLToPath } from 'node:url';
import { Analytics, FetchHTTPClient, type HTTPClientRequest } from '@segment/analytics-node';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/client.js';
import { companyTotals } from '../helpers/dbq.js';
import { childEnv } from '../helpers/child-env.js';

const execFileAsync = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export const SECRETS = {
  signingSecret: 'fault-signing-secret-7f3a9c1e5b',
  botToken: 'xoxb-fault-1111-2222-abcdefSECRET',
  writeKey: 'wk_fault_4d8e2b7a9c',
};


export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown inside an `until` probe: stop waiting at once. */
export class Fatal extends Error {}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = await probe();
    } catch (err) {
      if (err instanceof Fatal) throw err;
      v = undefined;
    }
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface AppProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** stdout and stderr, as written. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident memory of the process, in MB (Linux /proc). */
  rssMb(): number;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  waitReady(timeoutMs?: number): Promise<void>;
}

/** Start `npm start`'s entry point as a child process with exactly this environment (no .env from the parent). */
export function startApp(env: Record<string, string | undefined>, port: number): AppProcess {
  const clean = childEnv({ NODE_ENV: 'production', ...env, PORT: String(port) }, process.env.HOME ?? '/tmp');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = {
    child,
    port,
    url,
    output: () => out,
    exited,
    rssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
      return m ? Number(m[1]) / 1024 : NaN;
    },
    waitForOutput: (re, timeoutMs = 30_000) =>
      until(`output ${re} from the app`, () => {
        if (child.exitCode !== null) throw new Fatal(`the app exited (${child.exitCode}):\n${out}`);
        return re.test(out);
      }, timeoutMs).then(() => undefined),
    waitReady: (timeoutMs = 40_000) =>
      until('/healthz 200', async () => {
        if (child.exitCode !== null) throw new Fatal(`the app exited (${child.exitCode}):\n${out}`);
        return (await fetch(`${url}/healthz`)).status === 200;
      }, timeoutMs, 150).then(() => undefined),
  };
  return app;
}

export function appEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    SLACK_SIGNING_SECRET: SECRETS.signingSecret,
    SLACK_BOT_TOKEN: SECRETS.botToken,
    INGEST_WRITE_KEYS: SECRETS.writeKey,
    ...extra,
  };
}

/** SIGKILL, and wait for the exit. */
export async function kill(app: AppProcess, signal: NodeJS.Signals = 'SIGKILL') {
  if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill(signal);
  return app.exited;
}

// ---------------------------------------------------------------- PostgreSQL

export const ADMIN_URL = process.env.DATABASE_URL;

function cluster(): string {
  return readdirSync('/etc/postgresql')[0];
}

/** `pg_ctlcluster --skip-systemctl-redirect <version> main <action>`, without blocking the event loop (the load keeps going). */
export async function pgCtl(action: 'restart' | 'start' | 'stop'): Promise<void> {
  await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster(), 'main', action], { timeout: 60_000 });
}

export function pgOnline(): boolean {
  try {
    const out = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
    return /\bonline\b/.test(out);
  } catch {
    return false;
  }
}

/** Make sure the server is up and answering (afterAll of every fault test). */
export async function ensurePgUp(url = ADMIN_URL): Promise<void> {
  if (!url) return;
  if (!pgOnline()) {
    try {
      await pgCtl('start');
    } catch {
      /* already starting */
    }
  }
  await until('PostgreSQL to answer', async () => {
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 60_000, 250);
}

export interface FreshDb {
  url: string;
  drop(): Promise<void>;
}

export async function freshPgDatabase(admin = ADMIN_URL!): Promise<FreshDb> {
  const name = `lm_fault_${randomBytes(5).toString('hex')}`;
  const a = postgres(admin, { max: 1, onnotice: () => {} });
  await a.unsafe(`create database ${name}`);
  await a.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = postgres(admin, { max: 1, onnotice: () => {} });
      await d.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await d.end();
    },
  };
}

// ---------------------------------------------------------------- load

export interface LoadStats {
  /** Events handed to the SDK, per company. */
  sent: Map<string, number>;
  totalSent: number;
  /** HTTP answers the SDK got (status or 'network'), counted. */
  answers: Map<string, number>;
  /** What the network errors were, with their time. */
  networkErrors: string[];
  /** Events the SDK gave up on (it should never, with maxRetries high). */
  failed: number;
}

/**
 * Steady load through the real SDK: `rate` track events a second over
 * `companies` companies, batched by the SDK to /v1/batch. The SDK's HTTP client
 * is wrapped to count the answers it gets.
 */
export function sdkLoad(opts: { url: () => string; writeKey?: string; companies?: number; rate?: number; flushAt?: number; tag?: string }) {
  const companies = opts.companies ?? 20;
  const rate = opts.rate ?? 200;
  const tag = opts.tag ?? randomBytes(3).toString('hex');
  const stats: LoadStats = { sent: new Map(), totalSent: 0, answers: new Map(), failed: 0, networkErrors: [] };
  const inner = new FetchHTTPClient();
  const count = (k: string) => stats.answers.set(k, (stats.answers.get(k) ?? 0) + 1);
  const analytics = new Analytics({
    writeKey: opts.writeKey ?? SECRETS.writeKey,
    host: opts.url(),
    path: '/v1/batch',
    flushAt: opts.flushAt ?? 25,
    flushInterval: 100,
    maxRetries: 1000,
    httpRequestTimeout: 15_000,
    httpClient: {
      async makeRequest(req: HTTPClientRequest) {
        const started = Date.now();
        try {
          const res = await inner.makeRequest(req);
          count(String(res.status));
          if (Date.now() - started > 3_000) stats.networkErrors.push(`${new Date(started).toISOString()} slow: ${res.status} after ${Date.now() - started} ms`);
          return res;
        } catch (err) {
          count('network');
          stats.networkErrors.push(`${new Date(started).toISOString()} +${Date.now() - started}ms ${err instanceof Error ? `${err.name}: ${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err)}`);
          throw err;
        }
      },
    },
  });
  analytics.on('error', () => {
    stats.failed++;
  });
  let n = 0;
  let running = true;
  const tick = 50;
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  const loop = (async () => {
    while (running) {
      for (let i = 0; i < perTick; i++) {
        const company = `co-${tag}-${n % companies}`;
        analytics.track({
          userId: `u-${tag}-${n % (companies * 5)}`,
          event: n % 3 === 0 ? 'Report Exported' : 'Viewed Chart',
          context: { groupId: company },
        });
        stats.sent.set(company, (stats.sent.get(company) ?? 0) + 1);
        stats.totalSent++;
        n++;
      }
      await sleep(tick);
    }
  })();
  return {
    stats,
    tag,
    /** Stop producing, then wait until the SDK has delivered (or given up on) everything. */
    async finish(timeoutMs = 120_000) {
      running = false;
      await loop;
      await analytics.closeAndFlush({ timeout: timeoutMs });
    },
  };
}

export interface Tally {
  sent: number;
  counted: number;
  lost: number;
  doubled: number;
  /** Companies whose count differs from what was sent. */
  wrong: string[];
}

/** Compare what each company counts with what was sent to it. */
export async function tally(database: Database, sent: Map<string, number>, tag: string): Promise<Tally> {
  const totals = new Map((await companyTotals(database.db)).filter((r) => r.company_key.includes(tag)).map((r) => [r.company_key, r.events]));
  let sentAll = 0;
  let counted = 0;
  let lost = 0;
  let doubled = 0;
  const wrong: string[] = [];
  for (const [company, n] of sent) {
    const c = totals.get(company) ?? 0;
    sentAll += n;
    counted += c;
    if (c < n) lost += n - c;
    if (c > n) doubled += c - n;
    if (c !== n) wrong.push(`${company}: sent ${n}, counted ${c}`);
  }
  for (const [company, c] of totals) if (!sent.has(company)) wrong.push(`${company}: never sent, counted ${c}`);
  return { sent: sentAll, counted, lost, doubled, wrong };
}

/** Open a database only to read it (PGlite: only once the app has exited). */
export function openForReading(where: { databaseUrl?: string; pgliteDir?: string }): Promise<Database> {
  return openDatabase({ ...where, migrate: false, max: 2 });
}
