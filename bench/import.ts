/**
 * History import benchmark: a realistic history written as Segment archive
 * files (segment-logs/<source-id>/<received-day-ms>/*.gz, gzipped NDJSON of
 * full messages), imported into a fresh PostgreSQL database by `npm run import`
 * itself (src/cli/import.ts, run in a child process by bench/import-child.ts so
 * that its peak RSS is its own); beside it, psql \copy of the same rows (id,
 * person, company, event, time) into a plain table: the floor, and the ratio
 * between the two in the same run. After each run the stored totals are checked
 * against the generated ones.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import postgres from 'postgres';
import {
  backendCpuSampler, fmt, freshDatabase, median, prng, table, weightedCompanyPicker, compareStoredTotals, totalsText, eventNamer, eventRollupText, noTotals, type CompanyTotals,
} from './common.js';
import { HISTORY_SLICE } from '../src/import/sink.js';
import { listInputs } from '../src/import/source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY_MS = 86_400_000;
const GAP_MS = 30 * 60 * 1000;
const SOURCE_ID = 'Zq3wBn7uKp';
const KEY_ACTIONS = ['Created Report', 'Invited User'];

export interface ImportBenchOptions {
  companies: number;
  peoplePerCompany: number;
  days: number;
  /** Track and page events (identify and group calls come on top). */
  activityEvents: number;
  /**
   * Copies of the archive, each copy's message ids prefixed (`--copies`, default 1): 10 copies
   * of the default history are 10.4 million messages, the same people and companies, each day
   * 10 times as large, for the import's memory at scale (issue 11: under 300 MB at 10 million).
   */
  copies?: number;
  runs: number;
  now: Date;
}

type Expected = CompanyTotals;

interface History {
  dir: string;
  /** What the import reads: dir/segment-logs (the CSV for the floor lies beside it). */
  archiveDir: string;
  csvPath: string;
  /** Rows of the CSV (the floor's rows): the messages of one copy. */
  csvLines: number;
  lines: number;
  gzBytes: number;
  rawBytes: number;
  files: number;
  expected: Map<string, Expected>;
  people: number;
  companies: number;
}

type Json = Record<string, unknown>;

/**
 * Every person works at one company and comes in sessions of 5 to 40 events, each a few
 * seconds to 3 minutes apart; everyone has at least one session; companies differ in size.
 * Before a person's first event: an identify (name, email) and a group call (the company's
 * name and traits). Half of the events carry context.groupId.
 */
export function buildHistory(o: ImportBenchOptions): History {
  const rnd = prng(20261130);
  const end = Math.floor(o.now.getTime() / DAY_MS) * DAY_MS;
  const start = end - o.days * DAY_MS;
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
    return s;
  };
  const people = o.companies * o.peoplePerCompany;
  const pickCompany = weightedCompanyPicker(o.companies, rnd);

  // Each company's own 20 to 80 names; one company in 500 also sends ids in 80 % of its track names (so the biggest of them pass the bound).
  const names = eventNamer(20261130, { company: (c) => c % 500 === 7, share: 0.8 });
  // Activity: one session for everyone, then sessions of people at weighted companies.
  type Act = { ms: number; person: number; track: boolean; name: string; ctx: boolean };
  const acts: Act[] = [];
  const session = (person: number) => {
    const c = Math.floor(person / o.peoplePerCompany);
    let t = start + Math.floor(rnd() * (end - start - 3 * 3600_000));
    const n = 5 + Math.floor(rnd() * 36);
    for (let i = 0; i < n; i++) {
      t += 5_000 + Math.floor(rnd() * 175_000);
      const track = rnd() < 0.8;
      const u = rnd();
      acts.push({ ms: t, person, track, name: track ? names.track(c, u) : names.page(c, u), ctx: rnd() < 0.5 });
    }
  };
  for (let p = 0; p < people; p++) session(p);
  while (acts.length < o.activityEvents) session(pickCompany() * o.peoplePerCompany + Math.floor(rnd() * o.peoplePerCompany));

  const companyOf = (p: number) => Math.floor(p / o.peoplePerCompany);
  const userId = (p: number) => `usr_${p.toString(36).padStart(4, '0')}${hex(6)}`;
  const ids = Array.from({ length: people }, (_, p) => userId(p));
  const anon = Array.from({ length: people }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`);
  const companyKey = (c: number) => `acct_${c.toString(36).padStart(3, '0')}`;
  const companyName = (c: number) => `Company ${c} ${['Inc', 'Ltd', 'GmbH', 'SA'][c % 4]}`;

  // What the stored totals must be.
  const expected = new Map<string, Expected>();
  const times: number[][] = Array.from({ length: people }, () => []);
  for (const a of acts) times[a.person].push(a.ms);
  for (let p = 0; p < people; p++) {
    const ts = times[p].sort((a, b) => a - b);
    if (ts.length === 0) continue;
    const key = companyKey(companyOf(p));
    const x = expected.get(key) ?? noTotals();
    x.people++;
    x.events += ts.length;
    let last = -Infinity;
    for (const t of ts) {
      if (t - last > GAP_MS) x.sessions++;
      last = t;
    }
    x.personDays += new Set(ts.map((t) => Math.floor(t / DAY_MS))).size;
    expected.set(key, x);
  }
  for (const a of acts) {
    const x = expected.get(companyKey(companyOf(a.person)))!;
    if (a.track && KEY_ACTIONS.includes(a.name)) x.keyActions++;
    x.names.set(a.name, (x.names.get(a.name) ?? 0) + 1);
  }

  // The messages, as Segment archives them, each with its received time.
  const lib = { name: 'analytics-node', version: '2.1.0' };
  type Line = { received: number; text: string; csv: string };
  const lines: Line[] = [];
  let seq = 0;
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const add = (msg: Json, ms: number, person: number, event: string) => {
    const messageId = `api-${(seq++).toString(36)}-${hex(20)}`;
    const received = ms + 300 + Math.floor(rnd() * 2700);
    const ts = new Date(ms).toISOString();
    const full = {
      ...msg,
      messageId,
      userId: ids[person],
      anonymousId: anon[person],
      timestamp: ts,
      originalTimestamp: ts,
      sentAt: new Date(received - 250).toISOString(),
      receivedAt: new Date(received).toISOString(),
      integrations: {},
      version: 2,
      channel: 'server',
    };
    lines.push({ received, text: JSON.stringify(full), csv: [q(messageId), q(ids[person]), q(companyKey(companyOf(person))), q(event), ts].join(',') });
  };
  for (let p = 0; p < people; p++) {
    const first = times[p][0];
    const c = companyOf(p);
    add({ type: 'identify', traits: { name: `Person ${p}`, email: `person${p}@${companyKey(c)}.example`, title: ['Engineer', 'PM', 'Designer'][p % 3] }, context: { library: lib } }, first - 2000, p, 'identify');
    add(
      { type: 'group', groupId: companyKey(c), traits: { name: companyName(c), plan: ['free', 'team', 'business'][c % 3], employees: 10 + (c % 500) }, context: { library: lib } },
      first - 1000,
      p,
      'group',
    );
  }
  for (const a of acts) {
    const c = companyOf(a.person);
    const context: Json = { library: lib, ip: `203.0.113.${a.person % 250}` };
    if (a.ctx) context.groupId = companyKey(c);
    const msg: Json = a.track
      ? { type: 'track', event: a.name, properties: { plan: ['free', 'team', 'business'][c % 3], count: a.ms % 10 }, context }
      : { type: 'page', name: a.name, properties: { path: `/app/${slug(a.name)}`, url: `https://app.example.com/app/${slug(a.name)}` }, context };
    add(msg, a.ms, a.person, a.name);
  }

  // segment-logs/<source-id>/<received day, epoch ms>/<file>.gz: two files a day (by received half-day).
  lines.sort((a, b) => a.received - b.received);
  const dir = mkdtempSync(join(tmpdir(), 'lm-bench-import-'));
  const byFile = new Map<string, string[]>();
  for (const l of lines) {
    const day = Math.floor(l.received / DAY_MS) * DAY_MS;
    const half = l.received - day < DAY_MS / 2 ? 0 : 1;
    const key = `${day}/${day + half * 12 * 3600_000}.${SOURCE_ID}.${half}.gz`;
    let f = byFile.get(key);
    if (!f) byFile.set(key, (f = []));
    f.push(l.text);
  }
  let gzBytes = 0;
  let rawBytes = 0;
  for (const [key, texts] of byFile) {
    const [day, name] = key.split('/');
    const folder = join(dir, 'segment-logs', SOURCE_ID, day);
    mkdirSync(folder, { recursive: true });
    const raw = Buffer.from(texts.join('\n') + '\n');
    const gz = gzipSync(raw);
    rawBytes += raw.length;
    gzBytes += gz.length;
    writeFileSync(join(folder, name), gz);
  }
  const csvPath = join(dir, 'rows.csv');
  writeFileSync(csvPath, lines.map((l) => l.csv).join('\n') + '\n');
  return { dir, archiveDir: join(dir, 'segment-logs'), csvPath, csvLines: lines.length, lines: lines.length, gzBytes, rawBytes, files: byFile.size, expected, people, companies: o.companies };
}

/** The archive's files, as the import lists them (src/import/source.ts). */
const archiveFiles = async (h: History): Promise<string[]> => (await listInputs([h.archiveDir])).map((i) => i.path!);

/**
 * Copies 2..k of every archive file beside it, each with its message ids prefixed `c<k>-`
 * (new messages at the same times, by the same people): the expected events, key actions and
 * names grow k times; sessions, person-days and people do not (same times, same people).
 */
async function multiplyHistory(h: History, copies: number): Promise<void> {
  for (const file of await archiveFiles(h)) {
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    for (let k = 2; k <= copies; k++) {
      const gz = gzipSync(Buffer.from(text.replaceAll('"messageId":"', `"messageId":"c${k}-`)));
      writeFileSync(file.replace(/\.gz$/, `.c${k}.gz`), gz);
      h.gzBytes += gz.length;
    }
  }
  h.lines *= copies;
  h.rawBytes *= copies;
  h.files *= copies;
  for (const t of h.expected.values()) {
    t.events *= copies;
    t.keyActions *= copies;
    for (const [name, n] of t.names) t.names.set(name, n * copies);
  }
}

/**
 * The least any read of these archives costs on one core: gunzip and UTF-8 decoding, then
 * splitting the lines and `JSON.parse` of each message, nothing else (no validation, no
 * mapping, nothing kept). Microseconds a message, the median of 3 passes over every file.
 */
async function readFloor(h: History): Promise<{ gunzipUs: number; parseUs: number }> {
  const files = (await archiveFiles(h)).map((f) => readFileSync(f));
  const gunzip: number[] = [];
  const parse: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now();
    let n = 0;
    let g = 0;
    let q = 0;
    for (const gz of files) {
      const text = gunzipSync(gz).toString('utf8');
      const t1 = performance.now();
      g += t1 - t0;
      for (let at = 0; at < text.length; ) {
        let end = text.indexOf('\n', at);
        if (end < 0) end = text.length;
        if (end > at && (JSON.parse(text.slice(at, end)) as { type?: string }).type) n++;
        at = end + 1;
      }
      t0 = performance.now();
      q += t0 - t1;
    }
    gunzip.push((g * 1000) / n);
    parse.push((q * 1000) / n);
  }
  return { gunzipUs: median(gunzip), parseUs: median(parse) };
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

interface CheckResult {
  ok: boolean;
  lines: string[];
}

async function countCheck(url: string, h: History): Promise<CheckResult> {
  const { differ, sum, gotSum, counts, events } = await compareStoredTotals(url, h.expected);
  const ok =
    differ === 0 && counts.messages === h.lines && counts.people === h.people && counts.companies === h.companies && counts.named === h.companies &&
    events.differ === 0 && events.sum === sum.events;
  return {
    ok,
    lines: [
      `count check: ${ok ? 'exact' : 'MISMATCH'}: messages ${fmt(counts.messages)}/${fmt(h.lines)}, people ${fmt(counts.people)}/${fmt(h.people)}, ` +
        `companies ${fmt(counts.companies)}/${fmt(h.companies)} (named ${fmt(counts.named)}), companies whose totals differ: ${fmt(differ)}`,
      `  generated: ${totalsText(sum)}`,
      `  stored:    ${totalsText(gotSum)}`,
      `  ${eventRollupText(events)}`,
    ],
  };
}

/** psql \copy of the same rows (id, person, company, event, time) into a plain table: the floor. */
async function copyFloor(url: string, h: History): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql.unsafe(`create table bench_raw (id text, person text, company text, event text, time timestamptz)`);
  await sql.end();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy bench_raw from '${h.csvPath}' with (format csv)`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b) => (err += b));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy failed: ${err}`))));
  });
  return (performance.now() - t0) / 1000;
}

/** What one run of the command gave: its summary's counts, its time split, and its process's figures. */
interface ChildResult {
  /** Wall time of the whole command (start-up and migrations included), as a user waits for it. */
  seconds: number;
  /** When the write pass began, seconds after the start (from the progress lines, to about 0.1 s). */
  writeStart: number | null;
  cpuSeconds: number;
  peakRssMb: number;
  stored: number | null;
  duplicates: number | null;
  skipped: number | null;
  /** The summary as the command printed it. */
  summary: string[];
}

const children = new Set<import('node:child_process').ChildProcess>();
/**
 * The node flags `npm run import` runs with (package.json: its heap limit, tsx), so the child
 * is the user's command. BENCH_NODE_FLAGS adds flags after them (the last one wins), e.g.
 * --max-old-space-size=4096 to see the import without its heap limit.
 */
export const IMPORT_FLAGS: string[] = (() => {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { import: string } }).scripts.import;
  const m = /\bnode\s+(.*?)\s*src\/cli\/import\.ts/.exec(script);
  if (!m) throw new Error(`package.json's import script does not run node ... src/cli/import.ts: ${script}`);
  return [...m[1].split(/\s+/).filter(Boolean), ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
})();

/** Kill an import still running (the bench's own child, by pid). */
export function killImportChildren(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

const count = (text: string, re: RegExp) => {
  const m = re.exec(text);
  return m ? Number(m[1].replace(/,/g, '')) : null;
};

/** `npm run import -- --progress-every 1 DIR` with DATABASE_URL and KEY_ACTIONS, as a user runs it. */
function runChild(url: string, h: History): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...IMPORT_FLAGS, join(ROOT, 'bench/import-child.ts'), h.dir, '--progress-every', '1', h.archiveDir], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', DATABASE_URL: url, KEY_ACTIONS: KEY_ACTIONS.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let err = '';
    let writeStart: number | null = null;
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => {
      err += b;
      // "import: writing W of N events (R/s)": the write pass began W/R seconds before this line.
      const m = writeStart === null ? /import: writing ([\d,]+) of [\d,]+ events \(([\d,]+)\/s\)/.exec(String(b)) : null;
      if (m) {
        const rate = Number(m[2].replace(/,/g, ''));
        writeStart = (performance.now() - t0) / 1000 - (rate > 0 ? Number(m[1].replace(/,/g, '')) / rate : 0);
      }
    });
    child.on('exit', (code) => {
      children.delete(child);
      const seconds = (performance.now() - t0) / 1000;
      const lines = out.trim().split('\n');
      const last = JSON.parse(lines.pop() ?? '{}') as { code?: number; cpuSeconds?: number; peakRssMb?: number };
      if (code !== 0 || last.code !== 0) return reject(new Error(`the import exited with ${code}: ${out}\n${err.split('\n').slice(-20).join('\n')}`));
      const summary = lines.filter((l) => l.trim() !== '');
      resolve({
        seconds,
        writeStart,
        cpuSeconds: last.cpuSeconds ?? NaN,
        peakRssMb: last.peakRssMb ?? NaN,
        stored: count(out, /([\d,]+) stored,/),
        duplicates: count(out, /([\d,]+) duplicate/),
        skipped: count(out, /skipped:\s+([\d,]+)/),
        summary,
      });
    });
  });
}

export interface ImportRun {
  eventsPerSec: number;
  copyRowsPerSec: number;
  ratio: number;
  peakRssMb: number;
  ok: boolean;
}

export async function runImportBench(o: ImportBenchOptions, log: (s: string) => void = console.log): Promise<ImportRun[]> {
  const tBuild = performance.now();
  const h = buildHistory(o);
  const copies = o.copies ?? 1;
  if (copies > 1) await multiplyHistory(h, copies);
  log(
    `history import: ${fmt(h.lines)} messages (${fmt(h.people * 2 * copies)} identify/group, ${fmt(h.lines - h.people * 2 * copies)} track/page) over ${o.days} days${copies > 1 ? ` (${copies} copies of ${fmt(h.csvLines)}, ids prefixed)` : ''}, ` +
      `${fmt(o.companies)} companies, ${fmt(h.people)} people, sessions of 5 to 40 events; ${fmt(h.files)} archive files, ` +
      `${fmt(h.gzBytes / 1048576)} MB gzipped (${fmt(h.rawBytes / 1048576)} MB of JSON); slices of ${fmt(HISTORY_SLICE)}; node ${IMPORT_FLAGS.join(' ')}; built in ${fmt((performance.now() - tBuild) / 1000, 1)} s`,
  );
  const floor = await readFloor(h);
  log(
    `  read floor, one core, in this process: gunzip ${floor.gunzipUs.toFixed(2)} µs + split and JSON.parse ${floor.parseUs.toFixed(2)} µs a message ` +
      `(no validation, nothing kept; median of 3 passes)`,
  );
  const runs: ImportRun[] = [];
  try {
    for (let i = 1; i <= o.runs; i++) {
      const db = await freshDatabase('lm_bench_import');
      try {
        const sampler = backendCpuSampler(db.name);
        const r = await runChild(db.url, h);
        const postgresCpu = await sampler.stop();
        const check = await countCheck(db.url, h);
        const copySeconds = await copyFloor(db.url, h);
        const run: ImportRun = {
          eventsPerSec: h.lines / r.seconds,
          copyRowsPerSec: h.csvLines / copySeconds,
          ratio: h.lines / r.seconds / (h.csvLines / copySeconds),
          peakRssMb: r.peakRssMb,
          ok: check.ok && r.skipped === 0 && r.stored === h.lines && r.duplicates === 0,
        };
        runs.push(run);
        const split = r.writeStart === null ? '' : `: read pass ${fmt(r.writeStart, 1)} s, write pass ${fmt(r.seconds - r.writeStart, 1)} s (${fmt(h.lines / (r.seconds - r.writeStart))} events/s)`;
        log(
          `  run ${i}: ${fmt(run.eventsPerSec)} events/s (${fmt(r.seconds, 1)} s end to end${split}; import CPU ${fmt(r.cpuSeconds, 1)} s, PostgreSQL CPU ${fmt(postgresCpu, 1)} s), ` +
            `COPY floor ${fmt(run.copyRowsPerSec)} rows/s (${fmt(copySeconds, 2)} s), ratio ${run.ratio.toFixed(3)}, peak RSS ${fmt(r.peakRssMb)} MB`,
        );
        if (i === 1) for (const l of r.summary) log(`    | ${l}`);
        else log(`    stored ${fmt(r.stored ?? NaN)}, duplicates ${fmt(r.duplicates ?? NaN)}, skipped ${fmt(r.skipped ?? NaN)}`);
        for (const l of check.lines) log(`    ${l}`);
      } finally {
        await db.drop();
      }
    }
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
  log('');
  log(
    table([
      [`history import (median of ${runs.length})`, 'value', 'goal'],
      ['archive to rollups, events/s', fmt(median(runs.map((r) => r.eventsPerSec))), ''],
      ['psql \\copy floor, rows/s', fmt(median(runs.map((r) => r.copyRowsPerSec))), ''],
      ['ratio to the floor', median(runs.map((r) => r.ratio)).toFixed(3), '>= 0.200'],
      ['the goal as time, µs a message end to end', fmt(1e6 / (0.2 * median(runs.map((r) => r.copyRowsPerSec))), 1), ''],
      ['read floor on one core, µs a message', fmt(floor.gunzipUs + floor.parseUs, 1), ''],
      ['import peak RSS, MB', fmt(median(runs.map((r) => r.peakRssMb))), '< 300'],
      ['stored totals = generated', runs.every((r) => r.ok) ? 'yes, every run' : 'NO', 'yes'],
    ]),
  );
  return runs;
}
