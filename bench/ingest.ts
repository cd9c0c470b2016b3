/**
 * Ingestion benchmark: the real server (a child process, so its peak RSS is its
 * own) on a fresh PostgreSQL database, fed a synthetic Segment workload through
 * POST /v1/batch by a few concurrent senders; beside it, psql \copy of the same
 * rows as CSV into a plain table (the floor). After each run the stored totals
 * are checked against what was sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import {
  backendCpu,
  compareStoredTotals,
  cpuBetween,
  eventNamer,
  eventRollupText,
  fmt,
  freePort,
  freshDatabase,
  median,
  noTotals,
  prng,
  table,
  totalsText,
  weightedCompanyPicker,
  type CompanyTotals,
} from './common.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY_MS = 86_400_000;
const GAP_MS = 30 * 60 * 1000;
const WRITE_KEY = 'wk_bench_local';
const KEY_ACTIONS = ['Created Report', 'Invited User'];

export interface IngestOptions {
  companies: number;
  peoplePerCompany: number;
  activityEvents: number;
  batchSize: number;
  senders: number;
  runs: number;
  now: Date;
}

type Expected = CompanyTotals;

interface Workload {
  batches: Buffer[];
  totalEvents: number;
  setupBatches: number;
  csvPath: string;
  dir: string;
  expected: Map<string, Expected>;
  bytes: number;
}

type Json = Record<string, unknown>;

/** identify + group for everyone first, then sessions of track/page over the last 90 days, in time order. */
export function buildWorkload(o: IngestOptions): Workload {
  const rnd = prng(20260501);
  const now = o.now.getTime();
  const setupAt = new Date(now - 91 * DAY_MS).toISOString();
  let seq = 0;
  const csv: string[] = [];
  const q = (s: string | null) => (s === null ? '' : `"${s.replace(/"/g, '""')}"`);
  const record = (e: Json, company: string | null) => {
    csv.push([q(e.messageId as string), e.type, q(e.userId as string), q(company), q((e.event as string) ?? null), e.timestamp, q(JSON.stringify(e.properties ?? e.traits ?? {}))].join(','));
  };

  const setup: Json[] = [];
  for (let c = 0; c < o.companies; c++) {
    const key = `co_${c}`;
    const name = `Company ${c} ${['Inc', 'Ltd', 'GmbH', 'SA'][c % 4]}`;
    for (let j = 0; j < o.peoplePerCompany; j++) {
      const userId = `u_${c}_${j}`;
      setup.push({
        type: 'identify',
        userId,
        messageId: `m-${seq++}`,
        timestamp: setupAt,
        traits: { name: `Person ${c}.${j}`, email: `p${j}@co${c}.example`, company: { id: key, name } },
      });
    }
    setup.push({
      type: 'group',
      userId: `u_${c}_0`,
      groupId: key,
      messageId: `m-${seq++}`,
      timestamp: setupAt,
      traits: { name, plan: ['free', 'team', 'business'][c % 3], employees: 10 + (c % 500) },
    });
  }
  shuffle(setup, rnd);
  for (const e of setup) record(e, (e.groupId as string) ?? ((e.traits as Json).company as Json).id as string);

  const pick = weightedCompanyPicker(o.companies, rnd);
  // Each company's own 20 to 80 names; one company in 500 also sends ids in a third of its track names.
  const names = eventNamer(20260501, { company: (c) => c % 500 === 7, share: 1 / 3 });
  const activity: { ms: number; e: Json; c: number; p: string; name: string; key: boolean }[] = [];
  const start = now - 90 * DAY_MS;
  while (activity.length < o.activityEvents) {
    const c = pick();
    const userId = `u_${c}_${Math.floor(rnd() * o.peoplePerCompany)}`;
    let t = start + rnd() * (now - start - 3 * 3600_000);
    const n = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < n && activity.length < o.activityEvents; i++) {
      t += 10_000 + Math.floor(rnd() * 290_000);
      const isTrack = rnd() < 0.8;
      const u = rnd();
      const name = isTrack ? names.track(c, u) : names.page(c, u);
      const e: Json = isTrack
        ? { type: 'track', userId, event: name, properties: { plan: 'team', count: Math.floor(rnd() * 10) } }
        : { type: 'page', userId, name, properties: { path: `/app/${Math.floor(rnd() * 50)}` } };
      if (rnd() < 0.5) e.context = { groupId: `co_${c}` };
      activity.push({ ms: Math.floor(t), e, c, p: userId, name, key: isTrack && KEY_ACTIONS.includes(name) });
    }
  }
  activity.sort((a, b) => a.ms - b.ms);
  for (const a of activity) {
    a.e.messageId = `m-${seq++}`;
    a.e.timestamp = new Date(a.ms).toISOString();
    record(a.e, `co_${a.c}`);
  }

  // What the stored totals must be.
  const expected = new Map<string, Expected>();
  const perPerson = new Map<string, { c: string; times: number[] }>();
  for (const a of activity) {
    const key = `co_${a.c}`;
    const x = expected.get(key) ?? noTotals();
    x.events++;
    if (a.key) x.keyActions++;
    x.names.set(a.name, (x.names.get(a.name) ?? 0) + 1);
    expected.set(key, x);
    const p = perPerson.get(a.p) ?? { c: key, times: [] };
    p.times.push(a.ms);
    perPerson.set(a.p, p);
  }
  for (const { c, times } of perPerson.values()) {
    const x = expected.get(c)!;
    x.people++;
    times.sort((a, b) => a - b);
    let end = -Infinity;
    for (const t of times) {
      if (t - end > GAP_MS) x.sessions++;
      end = t;
    }
    x.personDays += new Set(times.map((t) => Math.floor(t / DAY_MS))).size;
  }

  const toBatches = (events: Json[]) => {
    const out: Buffer[] = [];
    for (let i = 0; i < events.length; i += o.batchSize) out.push(Buffer.from(JSON.stringify({ batch: events.slice(i, i + o.batchSize) })));
    return out;
  };
  const setupBatches = toBatches(setup);
  const batches = [...setupBatches, ...toBatches(activity.map((a) => a.e))];
  const dir = mkdtempSync(join(tmpdir(), 'lm-bench-'));
  const csvPath = join(dir, 'events.csv');
  writeFileSync(csvPath, csv.join('\n') + '\n');
  return {
    batches,
    totalEvents: setup.length + activity.length,
    setupBatches: setupBatches.length,
    csvPath,
    dir,
    expected,
    bytes: batches.reduce((s, b) => s + b.length, 0),
  };
}

function shuffle<T>(xs: T[], rnd: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

export interface Server {
  child: ChildProcess;
  port: number;
  output: string[];
  peakRssKb(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The node flags `npm start` runs the bot with (package.json: its heap limit, tsx), so the bench measures that process. */
const START_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /\bnode\s+(.*?)\s*src\/main\.ts/.exec(start);
  if (!m) throw new Error(`package.json's start script does not run node ... src/main.ts: ${start}`);
  return m[1].split(/\s+/).filter(Boolean);
})();

const children = new Set<ChildProcess>();
/** Kill any server still running (the bench's own children, by pid). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

/** `npm start`'s entry point as its own process, on a free port of 127.0.0.1. */
export async function startServerProcess(databaseUrl: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    SLACK_SIGNING_SECRET: 'bench-signing-secret',
    SLACK_BOT_TOKEN: 'xoxb-bench-0000',
    // Nothing leaves this machine.
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    INGEST_WRITE_KEYS: WRITE_KEY,
    KEY_ACTIONS: KEY_ACTIONS.join(','),
    ...extraEnv,
  };
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  // BENCH_NODE_FLAGS: extra node flags after npm start's, e.g. --max-old-space-size=4096 to see the process without its heap limit.
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...profile, ...START_FLAGS, ...extra, 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${output.join('')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not answer /healthz within 60 s: ${output.join('')}`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    port,
    output,
    peakRssKb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    },
    cpuSeconds: () => {
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
      children.delete(child);
    },
  };
}

function postBatch(agent: Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/batch',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Send batches[from, to) with `senders` concurrent connections; a non-200 is sent again (messageId makes that safe). */
async function send(port: number, batches: Buffer[], senders: number): Promise<{ retries: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: senders });
  let next = 0;
  let retries = 0;
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++];
      for (let attempt = 1; ; attempt++) {
        const status = await postBatch(agent, port, body).catch(() => 0);
        if (status === 200) break;
        if (attempt >= 5) throw new Error(`a batch failed 5 times (last status ${status})`);
        retries++;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: senders }, worker));
  agent.destroy();
  return { retries };
}

interface CheckResult {
  ok: boolean;
  lines: string[];
}

async function countCheck(url: string, w: Workload): Promise<CheckResult> {
  const { differ, activeCompanies, sum, gotSum, counts, events } = await compareStoredTotals(url, w.expected);
  const ok = differ === 0 && counts.messages === w.totalEvents && events.differ === 0 && events.sum === sum.events;
  return {
    ok,
    lines: [
      `count check: ${ok ? 'exact' : 'MISMATCH'}: messages ${fmt(counts.messages)}/${fmt(w.totalEvents)}, companies ${fmt(counts.companies)}, ` +
        `companies with activity ${fmt(activeCompanies)}/${fmt(w.expected.size)} (${fmt(differ)} differ), people ${fmt(counts.people)}`,
      `  sent:   ${totalsText(sum, 'active people')}`,
      `  stored: ${totalsText(gotSum, 'active people')}`,
      `  ${eventRollupText(events)}`,
    ],
  };
}

/** psql \copy of the same rows into a plain table: the floor. */
async function copyFloor(url: string, w: Workload): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql.unsafe(`create table bench_raw (message_id text, type text, user_id text, company_key text, name text, ts timestamptz, props text)`);
  await sql.end();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy bench_raw from '${w.csvPath}' with (format csv)`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b) => (err += b));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy failed: ${err}`))));
  });
  return (performance.now() - t0) / 1000;
}

export interface IngestRun {
  seconds: number;
  eventsPerSec: number;
  activityPerSec: number;
  copySeconds: number;
  copyRowsPerSec: number;
  peakRssMb: number;
  /** CPU seconds the server process used while sending (of 2 cores). */
  serverCpu: number;
  /** CPU seconds of the database's backends over the run (bench/common.ts backendCpu). */
  postgresCpu: number;
  retries: number;
  check: CheckResult;
}

export async function runIngest(o: IngestOptions, log: (s: string) => void = console.log): Promise<IngestRun[]> {
  const tBuild = performance.now();
  const w = buildWorkload(o);
  log(
    `ingestion: ${fmt(w.totalEvents)} events (${fmt(w.totalEvents - o.activityEvents)} identify/group, then ${fmt(o.activityEvents)} track/page over 90 days), ` +
      `${fmt(o.companies)} companies, ${fmt(o.companies * o.peoplePerCompany)} people; ${fmt(w.batches.length)} batches of ${o.batchSize} ` +
      `(${fmt(w.bytes / w.batches.length / 1024)} KB each), ${o.senders} concurrent senders; built in ${fmt((performance.now() - tBuild) / 1000, 1)} s`,
  );
  const runs: IngestRun[] = [];
  try {
    for (let i = 1; i <= o.runs; i++) {
      const db = await freshDatabase('lm_bench_ingest');
      let server: Server | null = null;
      try {
        server = await startServerProcess(db.url);
        const cpu0 = server.cpuSeconds();
        const pg0 = await backendCpu(db.name);
        const t0 = performance.now();
        const a = await send(server.port, w.batches.slice(0, w.setupBatches), o.senders);
        const t1 = performance.now();
        const b = await send(server.port, w.batches.slice(w.setupBatches), o.senders);
        const t2 = performance.now();
        const peakRssMb = server.peakRssKb() / 1024;
        const serverCpu = server.cpuSeconds() - cpu0;
        const postgresCpu = cpuBetween(pg0, await backendCpu(db.name));
        await server.stop();
        server = null;
        const check = await countCheck(db.url, w);
        const copySeconds = await copyFloor(db.url, w);
        const seconds = (t2 - t0) / 1000;
        const run: IngestRun = {
          seconds,
          eventsPerSec: w.totalEvents / seconds,
          activityPerSec: o.activityEvents / ((t2 - t1) / 1000),
          copySeconds,
          copyRowsPerSec: w.totalEvents / copySeconds,
          peakRssMb,
          serverCpu,
          postgresCpu,
          retries: a.retries + b.retries,
          check,
        };
        runs.push(run);
        log(
          `  run ${i}: ${fmt(run.eventsPerSec)} events/s (${fmt(seconds, 1)} s; track/page phase ${fmt(run.activityPerSec)}/s), ` +
            `COPY floor ${fmt(run.copyRowsPerSec)} rows/s, ratio ${(run.eventsPerSec / run.copyRowsPerSec).toFixed(3)}, ` +
            `server peak RSS ${fmt(peakRssMb)} MB, server CPU ${fmt(serverCpu, 1)} s, PostgreSQL CPU ${fmt(postgresCpu, 1)} s, resent batches ${run.retries}`,
        );
        for (const l of check.lines) log(`    ${l}`);
      } finally {
        if (server) await server.stop().catch(() => {});
        await db.drop();
      }
    }
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
  const ratio = median(runs.map((r) => r.eventsPerSec / r.copyRowsPerSec));
  log('');
  log(
    table([
      ['ingestion (median of ' + runs.length + ')', 'value', 'goal'],
      ['end to end, events/s', fmt(median(runs.map((r) => r.eventsPerSec))), ''],
      ['  track/page phase, events/s', fmt(median(runs.map((r) => r.activityPerSec))), ''],
      ['psql \\copy floor, rows/s', fmt(median(runs.map((r) => r.copyRowsPerSec))), ''],
      ['ratio to the floor', ratio.toFixed(3), '>= 0.060'],
      ['server peak RSS, MB', fmt(median(runs.map((r) => r.peakRssMb))), '< 300'],
      ['CPU s: server / PostgreSQL', `${fmt(median(runs.map((r) => r.serverCpu)), 1)} / ${fmt(median(runs.map((r) => r.postgresCpu)), 1)}`, ''],
      ['stored totals = sent', runs.every((r) => r.check.ok) ? 'yes, every run' : 'NO', 'yes'],
    ]),
  );
  return runs;
}
