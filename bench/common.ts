/**
 * Shared by the bench parts: the local PostgreSQL (only 127.0.0.1), fresh
 * databases that are dropped afterwards, a deterministic PRNG, small tables.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
export { freePort } from '../test/helpers/net.js';
import postgres from 'postgres';
import { mulberry32 } from './simulate-book.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS } from '../src/ingest/event-names.js';
import { STORED_MESSAGE_IDS } from '../src/ingest/message-ids.js';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The bench only talks to this machine. */
export function assertLocal(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    throw new Error(`the bench only talks to 127.0.0.1; refusing ${host}`);
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const created = new Set<string>();

/** A fresh database on the local server; dropped by drop() or by dropAll() at exit. */
export async function freshDatabase(prefix: string): Promise<BenchDatabase> {
  assertLocal(ADMIN_URL);
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  created.add(name);
  return { name, url: withDatabase(ADMIN_URL, name), drop: () => dropDatabase(name) };
}

/**
 * CPU seconds (user + system) of each PostgreSQL backend connected to database `name`, by
 * pid, read from /proc (the bench's server is local: assertLocal). The difference of two
 * readings is the CPU the database spent between them, a figure far steadier than wall time
 * on a shared machine. Empty where /proc cannot be read.
 */
export async function backendCpu(name: string): Promise<Map<number, number>> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await readBackendCpu(admin, name);
  } finally {
    await admin.end();
  }
}

async function readBackendCpu(admin: postgres.Sql, name: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pids = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name}`;
  for (const { pid } of pids) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) / CLOCK_TICKS);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/**
 * The CPU seconds of database `name`'s backends while a process that closes its connections
 * when it exits (the import) runs: each backend's last reading, polled every `everyMs`, summed
 * at stop() (the CPU of a backend's last interval before it closed is lost: at most that).
 */
export function backendCpuSampler(name: string, everyMs = 200): { stop(): Promise<number> } {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const last = new Map<number, number>();
  let stopped = false;
  const poll = async () => {
    for (const [pid, s] of await readBackendCpu(admin, name)) last.set(pid, s);
  };
  const loop = (async () => {
    while (!stopped) {
      await poll().catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await admin.end();
      return [...last.values()].reduce((a, b) => a + b, 0);
    },
  };
}

/** USER_HZ: /proc's CPU times are in these (100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU seconds the database spent between two backendCpu readings (backends new since `before` count whole). */
export const cpuBetween = (before: Map<number, number>, after: Map<number, number>): number =>
  [...after].reduce((sum, [pid, s]) => sum + s - (before.get(pid) ?? 0), 0);

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    created.delete(name);
  } finally {
    await admin.end();
  }
}

export async function dropAll(): Promise<void> {
  for (const name of [...created]) await dropDatabase(name).catch(() => {});
}


/** mulberry32 (bench/simulate-book.ts): the same workload on every run. */
export const prng = mulberry32;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n');
}

export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : dflt;
}

export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

/** The index i where cumulative weights `cum` first reach u x their total (u uniform in [0, 1)): a weighted draw. */
export function pickCumulative(cum: readonly number[], u: number): number {
  const x = u * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Companies differ in size, a few big and many small: a picker of company indexes weighted so. */
export function weightedCompanyPicker(companies: number, rnd: () => number): () => number {
  const weights = Array.from({ length: companies }, () => 0.3 + rnd() ** 2 * 3);
  const cum: number[] = [];
  weights.reduce((s, w, i) => (cum[i] = s + w), 0);
  return () => pickCumulative(cum, rnd());
}

/**
 * A product's event vocabulary, most used first: what a B2B SaaS tracks. Each company uses a
 * subset of it, in an order of its own (eventNamer).
 */
export const PRODUCT_EVENTS = [
  'Viewed Dashboard', 'Opened Record', 'Searched', 'Created Report', 'Commented', 'Invited User', 'Exported Data',
  'Filter Applied', 'Dashboard Shared', 'Report Scheduled', 'Record Updated', 'Record Created', 'Record Deleted',
  'File Uploaded', 'File Downloaded', 'Note Added', 'Task Created', 'Task Completed', 'Task Assigned', 'Mentioned User',
  'Notification Clicked', 'Email Sent', 'Email Opened', 'Template Used', 'Template Created', 'Integration Connected',
  'Integration Synced', 'API Key Created', 'Webhook Added', 'Workflow Created', 'Workflow Run', 'Automation Triggered',
  'Chart Created', 'Chart Edited', 'Widget Added', 'Column Added', 'View Saved', 'View Shared', 'Tag Added', 'Tag Removed',
  'Import Started', 'Import Completed', 'Export Scheduled', 'Calendar Synced', 'Meeting Booked', 'Call Logged',
  'Deal Created', 'Deal Won', 'Deal Lost', 'Pipeline Edited', 'Forecast Viewed', 'Goal Set', 'Goal Reached',
  'Comment Resolved', 'Approval Requested', 'Approval Granted', 'Signed Document', 'Invoice Sent', 'Payment Received',
  'Plan Upgraded', 'Seat Added', 'Seat Removed', 'Role Changed', 'Permission Changed', 'SSO Configured',
  'Password Reset', 'Logged In', 'Logged Out', 'Profile Updated', 'Settings Changed', 'Theme Changed',
  'Onboarding Step Completed', 'Tour Started', 'Tour Skipped', 'Help Opened', 'Support Ticket Created', 'Feedback Sent',
  'Survey Answered', 'Mobile App Opened', 'Desktop App Opened', 'Keyboard Shortcut Used', 'Bulk Edit', 'Duplicate Merged',
  'Audit Log Viewed', 'Billing Viewed', 'Usage Viewed', 'Sandbox Created', 'Environment Switched', 'Query Run',
  'Query Saved', 'Alert Created', 'Alert Triggered', 'Snippet Copied', 'Link Copied', 'Board Created', 'Card Moved',
  'Sprint Started', 'Sprint Closed', 'Release Published', 'Changelog Viewed',
];
/** Page names (a page counts under its name in company_event_days). */
export const PRODUCT_PAGES = [
  'Dashboard', 'Reports', 'Records', 'Search', 'Settings', 'Billing', 'Team', 'Integrations', 'Inbox', 'Calendar',
  'Pipeline', 'Tasks', 'Files', 'Templates', 'Workflows', 'Analytics', 'Profile', 'Help Center', 'Changelog', 'Onboarding',
  'Admin', 'API Docs', 'Notifications', 'Home',
];

/** Who sends names that carry ids, and how often: the bound on names per company is exercised by them. */
export interface IdNames {
  /** Does company c put ids in some of its track names (`Viewed /invoice/123`)? */
  company(c: number): boolean;
  /** The share of that company's track events whose name carries an id. */
  share: number;
}

/**
 * Realistic event names: each company uses 20 to 80 names of the product's vocabulary (about a
 * fifth of them page names), ranked in an order of its own, with Zipf-like weights (rank r gets
 * 1/r^1.1), so a few names make most of its events and many are rare. A few companies also send
 * names with ids in them. The caller passes the uniform draw u from its own PRNG, so the rest of
 * its workload is the same as before; the vocabularies and the ids come from a PRNG of their own.
 */
export function eventNamer(seed: number, ids: IdNames): { track(c: number, u: number): string; page(c: number, u: number): string } {
  const vocab = new Map<number, { tracks: string[]; tcum: number[]; pages: string[]; pcum: number[] }>();
  const idRnd = prng(seed ^ 0x5eed);
  const zipf = (n: number) => {
    const cum: number[] = [];
    for (let r = 1, s = 0; r <= n; r++) cum.push((s += 1 / r ** 1.1));
    return cum;
  };
  const pickFrom = (names: string[], cum: number[], u: number) => names[pickCumulative(cum, u)];
  const of = (c: number) => {
    let v = vocab.get(c);
    if (v) return v;
    const r = prng((seed + Math.imul(c + 1, 0x9e3779b1)) >>> 0);
    const k = 20 + Math.floor(r() * 61);
    const pages = Math.max(1, Math.round(k / 5));
    // The popular names are likelier to be in a company's set and near its top: draw without
    // replacement with weights that fall with the vocabulary's rank.
    const draw = (all: string[], n: number) => {
      const pool = all.map((name, i) => {
        const weight = 1 / (i + 1) ** 0.7;
        return { name, key: r() ** (1 / weight) };
      });
      return pool.sort((a, b) => b.key - a.key).slice(0, n).map((x) => x.name);
    };
    const tracks = draw(PRODUCT_EVENTS, k - pages);
    const pageNames = draw(PRODUCT_PAGES, pages);
    v = { tracks, tcum: zipf(tracks.length), pages: pageNames, pcum: zipf(pageNames.length) };
    vocab.set(c, v);
    return v;
  };
  return {
    track(c, u) {
      if (ids.company(c) && idRnd() < ids.share) return `Viewed /invoice/${1 + Math.floor(idRnd() * 100_000)}`;
      const v = of(c);
      return pickFrom(v.tracks, v.tcum, u);
    },
    page(c, u) {
      const v = of(c);
      return pickFrom(v.pages, v.pcum, u);
    },
  };
}

/** A company's totals as a bench generated them, to compare with what was stored. */
export interface CompanyTotals {
  events: number;
  keyActions: number;
  sessions: number;
  personDays: number;
  people: number;
  /** Events per name, as company_event_days counts them (a page under its name). */
  names: Map<string, number>;
}

/** Zero totals with no names. */
export const noTotals = (): CompanyTotals => ({ events: 0, keyActions: 0, sessions: 0, personDays: 0, people: 0, names: new Map() });

/** How company_event_days and company_event_names compare with the generated names. */
export interface EventRollupCheck {
  /** Companies whose event rows differ from what the bound makes of their names. */
  differ: number;
  /** Companies with more names than the bound, and the events counted under "other events". */
  pastBound: number;
  other: number;
  rows: number;
  /** Company-days with event rows, and the two tables' sizes (pg_total_relation_size: heap, indexes, TOAST). */
  companyDays: number;
  /** Name counts held (the arrays' elements): the rows of company_event_counts. */
  counts: number;
  bytes: number;
  namesBytes: number;
  /** Sum of company_event_days' counts. */
  sum: number;
  /** Distinct names per company, generated: median and most. */
  namesMedian: number;
  namesMost: number;
}

/**
 * The stored per-company totals (company_days, company_people) against the generated ones:
 * how many companies differ, both sums, and the table counts. And the event rollup: per company,
 * each stored name (not "other events") holds exactly that name's generated count, there are
 * min(distinct names, EVENT_NAMES_PER_COMPANY) of them (company_event_names too), and "other
 * events" holds the rest, present only past the bound; so its counts sum to the company's events.
 * (Concurrent requests adding a company's last free names may pass the bound by a few names,
 * store.ts says; the check would count such a company as differing. No bench company comes
 * near the bound while several requests write it at once: the import writes one slice at a time.)
 */
export async function compareStoredTotals(url: string, expected: Map<string, CompanyTotals>) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const got = await sql<{ c: string; events: number; key_actions: number; sessions: number; person_days: number; people: number }[]>`
      select d.company_key as c, d.events, d.key_actions, d.sessions, d.person_days, coalesce(p.people, 0)::int as people
      from (select company_key, sum(events)::int as events, sum(key_actions)::int as key_actions, sum(sessions)::int as sessions,
                   sum(people)::int as person_days from company_days group by company_key) d
      left join (select company_key, count(*)::int as people from company_people group by company_key) p using (company_key)`;
    const [counts] = await sql<{ companies: number; named: number; people: number; messages: number }[]>`
      select (select count(*) from companies where company_key <> '')::int as companies,
             (select count(*) from companies where name is not null)::int as named,
             (select count(*) from people)::int as people, (select count(*) from ${sql.unsafe(STORED_MESSAGE_IDS)} ids)::int as messages`;
    const byKey = new Map(got.map((r) => [r.c, r]));
    let differ = Math.abs(byKey.size - expected.size);
    const sum = noTotals();
    const gotSum = noTotals();
    for (const [c, x] of expected) {
      const r = byKey.get(c);
      sum.events += x.events;
      sum.keyActions += x.keyActions;
      sum.sessions += x.sessions;
      sum.personDays += x.personDays;
      sum.people += x.people;
      if (!r || r.events !== x.events || r.key_actions !== x.keyActions || r.sessions !== x.sessions || r.person_days !== x.personDays || r.people !== x.people) differ++;
    }
    for (const r of got) {
      gotSum.events += r.events;
      gotSum.keyActions += r.key_actions;
      gotSum.sessions += r.sessions;
      gotSum.personDays += r.person_days;
      gotSum.people += r.people;
    }
    const events = await compareEventRollup(sql, expected);
    return { differ, activeCompanies: byKey.size, sum, gotSum, counts, events };
  } finally {
    await sql.end();
  }
}

async function compareEventRollup(sql: postgres.Sql, expected: Map<string, CompanyTotals>): Promise<EventRollupCheck> {
  const stored = await sql<{ c: string; event: string; n: number }[]>`
    select company_key as c, event, sum(count)::int as n from company_event_counts group by 1, 2`;
  const registered = await sql<{ c: string; n: number }[]>`select company_key as c, cardinality(names) as n from company_event_names`;
  const [{ rows, company_days, counts, bytes, names_bytes }] = await sql<{ rows: number; company_days: number; counts: number; bytes: string; names_bytes: string }[]>`
    select count(*)::int as rows, count(distinct (company_key, day))::int as company_days, coalesce(sum(cardinality(events)), 0)::int as counts,
           pg_total_relation_size('company_event_days') as bytes, pg_total_relation_size('company_event_names') as names_bytes
    from company_event_days`;
  const byCompany = new Map<string, Map<string, number>>();
  for (const r of stored) {
    let m = byCompany.get(r.c);
    if (!m) byCompany.set(r.c, (m = new Map()));
    m.set(r.event, r.n);
  }
  const names = new Map(registered.map((r) => [r.c, r.n]));
  let differ = 0;
  let pastBound = 0;
  let other = 0;
  let sum = 0;
  for (const r of stored) sum += r.n;
  for (const c of byCompany.keys()) if (!expected.has(c)) differ++;
  const distinct: number[] = [];
  for (const [c, x] of expected) {
    const m = byCompany.get(c) ?? new Map<string, number>();
    const kept = Math.min(x.names.size, EVENT_NAMES_PER_COMPANY);
    distinct.push(x.names.size);
    const o = m.get(OTHER_EVENTS) ?? 0;
    let keptSum = 0;
    let ok = (names.get(c) ?? 0) === kept && m.size - (m.has(OTHER_EVENTS) ? 1 : 0) === kept;
    for (const [name, n] of m) {
      if (name === OTHER_EVENTS) continue;
      keptSum += n;
      if (x.names.get(name) !== n) ok = false;
    }
    if (x.names.size > EVENT_NAMES_PER_COMPANY) {
      pastBound++;
      other += o;
      if (o <= 0) ok = false;
    } else if (m.has(OTHER_EVENTS)) ok = false;
    if (keptSum + o !== x.events) ok = false;
    if (!ok) differ++;
  }
  return {
    differ, pastBound, other, rows, companyDays: company_days, counts, bytes: Number(bytes), namesBytes: Number(names_bytes), sum,
    namesMedian: median(distinct), namesMost: Math.max(0, ...distinct),
  };
}

/** `events …, key actions …, sessions …, person-days …, people …` of a CompanyTotals. */
export const totalsText = (t: CompanyTotals, people = 'people'): string =>
  `events ${fmt(t.events)}, key actions ${fmt(t.keyActions)}, sessions ${fmt(t.sessions)}, person-days ${fmt(t.personDays)}, ${people} ${fmt(t.people)}`;

/** The event rollup's line of a count check. */
export const eventRollupText = (e: EventRollupCheck): string =>
  `event rollup: ${fmt(e.rows)} company_event_days rows (${fmt(e.counts)} name counts, ${fmt(e.counts / Math.max(1, e.companyDays), 1)} a company-day), counts sum ${fmt(e.sum)}; names per company ${fmt(e.namesMedian)} (median), ${fmt(e.namesMost)} (most); ` +
  `${fmt(e.pastBound)} companies past the bound of ${EVENT_NAMES_PER_COMPANY} (${fmt(e.other)} events under "${OTHER_EVENTS}"); ${fmt(e.differ)} companies differ\n` +
  `    size: ${fmt(e.bytes / 1048576, 1)} MB with its index (${fmt(e.rows ? e.bytes / e.rows : 0)} bytes a row), ` +
  `${fmt(e.bytes / Math.max(1, e.companyDays))} bytes per active company-day; company_event_names ${fmt(e.namesBytes / 1048576, 1)} MB`;
