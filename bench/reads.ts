/**
 * Reply times of `/groups top`, `quiet`, `show NAME` and `report`, through
 * groupsReply (what the Slack listener runs), in-process against a fresh local
 * PostgreSQL database seeded straight into the tables with SQL: S companies,
 * 10 people each, 90 days of per-day rollups (about half the days active),
 * a tenth of the companies fading and a tenth growing over the last 14 days,
 * one in twenty new; one company (the `show` target) with per-person days too.
 *
 * Then `show` on its own (runShow): one company at 5,000 and 10,000 companies, by
 * name, by key (a Details button) and a name that matches nothing, on PostgreSQL and
 * on the embedded database, with more calls, since its goal is about the slowest.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { groupsReply, type ReplyContext } from '../src/app/reply.js';
import { openDatabase, rows, type Database } from '../src/db/client.js';
import { companyStatsLive } from '../src/db/queries/companies.js';
import { eventHistories } from '../src/db/queries/events.js';
import { rebuildSummary } from '../src/db/queries/summary.js';
import { dayString, utcDay } from '../src/domain/period.js';
import { fmt, freshDatabase, median, table, PRODUCT_EVENTS, PRODUCT_PAGES } from './common.js';

export interface ReadsOptions {
  sizes: number[];
  reps: number;
  now: Date;
}

const COMMANDS = ['top', 'top 7d by sessions', 'quiet', 'show Company 42 Inc', 'report'];

/** Runs one SQL text and returns its rows: a postgres.js connection, or the embedded database. */
export type Exec = (text: string) => Promise<Record<string, number>[]>;

/**
 * Companies given per-event rows (company_event_days) by the seed: co_1 … co_N, the show target
 * (co_42) among them. The seed's companies have about 53 events a day, which make about 23 rows
 * a company-day: 2,000 companies are about 2 million rows (250 MB with the index); every company
 * of 10,000 would be 10 million and take minutes to seed on the embedded database. `show` reads
 * one company's index range, whose cost does not depend on the other companies' rows.
 */
export const EVENT_SEED_COMPANIES = 2_000;
/** The same on the embedded database (PGlite, in memory), which seeds several times slower. */
export const EVENT_SEED_COMPANIES_EMBEDDED = 500;

export interface SeedOptions {
  /** How many companies get per-event rows (co_1 … co_N); none when left out (the trend tests seed without). */
  eventCompanies?: number;
}

/** Seed a database at `url` (PostgreSQL). */
export async function seed(url: string, companies: number, now: Date, opts: SeedOptions = {}): Promise<{ rows: Record<string, number>; seconds: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await seedWith((text) => sql.unsafe(text) as unknown as Promise<Record<string, number>[]>, companies, now, opts);
  } finally {
    await sql.end();
  }
}

/** Seed through any connection (PostgreSQL or the embedded database). */
export async function seedWith(exec: Exec, companies: number, now: Date, opts: SeedOptions = {}): Promise<{ rows: Record<string, number>; seconds: number }> {
  const t0 = performance.now();
  const S = companies;
  const today = dayString(utcDay(now));
  const nowTs = now.toISOString();
  const d = (offset: number) => dayString(utcDay(now, offset));
  await exec(`select setseed(0.42)`);
  await exec(`
    insert into companies (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
    select 'co_' || i, 'Company ' || i || ' Inc', jsonb_build_object('plan', (array['free','team','business'])[1 + i % 3]),
           '${nowTs}'::timestamptz - interval '120 days',
           case when i % 20 = 0 then '${nowTs}'::timestamptz - interval '10 days'
                else '${nowTs}'::timestamptz - (100 + i % 60) * interval '1 day' end,
           '${nowTs}'::timestamptz - random() * interval '36 hours'
    from generate_series(1, ${S}) i`);
  await exec(`
    insert into company_days (company_key, day, events, key_actions, sessions, people)
    select 'co_' || i, g::date, x.e, x.e / 4, greatest(1, x.e / 6), least(10, 1 + x.e / 8)
    from generate_series(1, ${S}) i
    cross join generate_series('${d(-89)}'::date, '${today}'::date, interval '1 day') g
    cross join lateral (
      select greatest(1, floor((5 + (i % 97)) * (0.5 + random())
             * case when g >= '${d(-14)}'::date then (case i % 10 when 1 then 0.3 when 2 then 2 else 1 end) else 1 end))::int as e
    ) x
    where random() < 0.5 and (i % 20 <> 0 or g >= '${d(-10)}'::date)`);
  await exec(`
    insert into people (person_id, company_key, company_at, name, email, traits, first_seen_at, last_active_at)
    select 'p_' || j, 'co_' || (1 + j % ${S}), '${nowTs}'::timestamptz - interval '100 days', 'Person ' || j, 'p' || j || '@example.com',
           '{}'::jsonb, '${nowTs}'::timestamptz - interval '100 days', '${nowTs}'::timestamptz - random() ^ 2 * interval '90 days'
    from generate_series(0, ${S * 10 - 1}) j`);
  await exec(`
    insert into company_people (company_key, person_id, first_seen_at, last_seen_at, events, key_actions, sessions)
    select company_key, person_id, first_seen_at, last_active_at, e, e / 4, greatest(1, e / 6)
    from people cross join lateral (select (20 + random() * 400)::int as e) x`);
  // The `show` target: per-person days, and its company rollups and people made consistent with them.
  const key = 'co_42';
  await exec(`
    insert into company_person_days (company_key, person_id, day, events, key_actions, sessions)
    select '${key}', p.person_id, g::date, x.e, x.e / 4, 1 + x.e / 10
    from company_people p
    cross join generate_series('${d(-89)}'::date, '${today}'::date, interval '1 day') g
    cross join lateral (select (1 + random() * 20)::int as e) x
    where p.company_key = '${key}' and random() < 0.5`);
  await exec(`delete from company_days where company_key = '${key}'`);
  await exec(`
    insert into company_days (company_key, day, events, key_actions, sessions, people)
    select company_key, day, sum(events), sum(key_actions), sum(sessions), count(*)
    from company_person_days where company_key = '${key}' group by company_key, day`);
  await exec(`
    update company_people cp set last_seen_at = x.last + interval '12 hours', events = x.e, key_actions = x.k, sessions = x.s
    from (select person_id, max(day) as last, sum(events) as e, sum(key_actions) as k, sum(sessions) as s
          from company_person_days where company_key = '${key}' group by person_id) x
    where cp.company_key = '${key}' and cp.person_id = x.person_id`);
  await seedEvents(exec, Math.min(companies, opts.eventCompanies ?? 0));
  await exec(`vacuum analyze`);
  const [counts] = await exec(`
    select (select count(*) from companies)::int as companies, (select count(*) from people)::int as people,
           (select count(*) from company_days)::int as company_days, (select count(*) from company_people)::int as company_people,
           (select count(*) from company_person_days)::int as company_person_days,
           (select count(*) from company_event_counts)::int as company_event_days,
           (select count(distinct company_key) from company_event_days)::int as event_companies`);
  return { rows: counts, seconds: (performance.now() - t0) / 1000 };
}

/** Companies whose events the digest reads at once (its listed falling companies). */
const DIGEST_COMPANIES = Array.from({ length: 15 }, (_, i) => `co_${i * 10 + 1}`);

/**
 * What the people of companies co_1 … co_N do: company_event_days consistent with company_days
 * (a company-day's events split over its names, summing to its events exactly). Each company
 * uses 20 to 80 names of the product's vocabulary (bench/common.ts, a fifth of them page names),
 * in an order of its own, with Zipf-like weights (rank r gets 1/r^1.1); a day's events are split
 * by systematic sampling on the cumulative weights (a random offset per company-day), so a name
 * gets floor(e·W(r) + φ) − floor(e·W(r−1) + φ) events and the counts sum to e. Names with none
 * that day have no row. company_event_names holds each company's names.
 */
async function seedEvents(exec: Exec, n: number): Promise<void> {
  if (n <= 0) return;
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const vocab = [...PRODUCT_EVENTS, ...PRODUCT_PAGES].map((name, i) => `(${i + 1}, ${quote(name)})`).join(', ');
  await exec(`create temporary table bench_vocab (v int primary key, name text not null)`);
  await exec(`insert into bench_vocab values ${vocab}`);
  // Each company's names: 20 to 80 of the vocabulary, the popular ones likelier and nearer the
  // top (a weighted draw without replacement: key random()^(v^0.7), largest first).
  await exec(`
    create temporary table bench_names as
    select c, r, name,
           coalesce(lag(hi) over (partition by c order by r), 0) as lo,
           case when r = count(*) over (partition by c) then 1 else hi end as hi
    from (
      select c, r, name, sum(w) over (partition by c order by r) / sum(w) over (partition by c) as hi
      from (
        select i as c, x.name, x.r, 1 / x.r ^ 1.1 as w
        from generate_series(1, ${n}) i
        cross join lateral (
          select name, row_number() over (order by random() ^ (v ^ 0.7) desc) as r from bench_vocab where i > 0
        ) x
        where x.r <= 20 + (i * 37) % 61
      ) k
    ) h`);
  await exec(`create index on bench_names (c, r)`);
  // lo of a name is hi of the one before it (the same float), the last hi is 1: the counts telescope to e.
  await exec(`
    insert into company_event_days (company_key, day, events, counts)
    select d.company_key, d.day, array_agg(x.name order by x.name), array_agg(x.k order by x.name)
    from (select company_key, day, events, random() as phi, substr(company_key, 4)::int as c
          from company_days where substr(company_key, 4)::int <= ${n}) d
    cross join lateral (
      select name, (floor(d.events * hi + d.phi) - floor(d.events * lo + d.phi))::int as k
      from bench_names where bench_names.c = d.c
    ) x
    where x.k > 0
    group by d.company_key, d.day`);
  await exec(`insert into company_event_names (company_key, names) select company_key, array_agg(distinct event) from company_event_counts group by company_key`);
  await exec(`drop table bench_names`);
  await exec(`drop table bench_vocab`);
}

export interface ReadsResult {
  companies: number;
  command: string;
  medianMs: number;
  maxMs: number;
}

export async function runReads(o: ReadsOptions, log: (s: string) => void = console.log): Promise<ReadsResult[]> {
  const results: ReadsResult[] = [];
  const extra: string[][] = [['companies', 'seed', 'rows (company_days)', 'summary rebuild', 'live top (old path)']];
  for (const size of o.sizes) {
    const db = await freshDatabase('lm_bench_reads');
    try {
      const database = await openDatabase({ databaseUrl: db.url, max: 4, migrate: true });
      try {
        const seeded = await seed(db.url, size, o.now, { eventCompanies: EVENT_SEED_COMPANIES });
        log(
          `reads at ${fmt(size)} companies: seeded ${fmt(seeded.rows.companies)} companies, ${fmt(seeded.rows.people)} people, ` +
            `${fmt(seeded.rows.company_days)} company-days, ${fmt(seeded.rows.company_person_days)} person-days (show target), ` +
            `${fmt(seeded.rows.company_event_days)} company-event-days (${fmt(seeded.rows.event_companies)} companies) in ${fmt(seeded.seconds, 1)} s`,
        );
        // The once-a-day rollover, timed on its own (the first read of a day pays it).
        const r0 = performance.now();
        await rebuildSummary(database.db, dayString(utcDay(o.now)), { force: true });
        const rebuildMs = performance.now() - r0;
        // The old all-companies path (live sums over company_days), for comparison.
        const liveTimes: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          await companyStatsLive(database.db, { now: o.now, rangeDays: 30, metric: 'key_actions' });
          liveTimes.push(performance.now() - t);
        }
        extra.push([fmt(size), `${fmt(seeded.seconds, 1)} s`, fmt(seeded.rows.company_days), `${fmt(rebuildMs)} ms`, `${fmt(median(liveTimes))} ms`]);

        const ctx: ReplyContext = { db: database.db, keyActions: ['Created Report'], keyPath: null };
        for (const command of COMMANDS) {
          for (let i = 0; i < 2; i++) await groupsReply(ctx, command, o.now); // warm
          const times: number[] = [];
          let text = '';
          for (let i = 0; i < o.reps; i++) {
            const t = performance.now();
            const reply = await groupsReply(ctx, command, o.now);
            times.push(performance.now() - t);
            text = reply.terminal;
          }
          if (command.startsWith('show') && size >= 42 && !text.includes('co_42')) throw new Error(`show found something else:\n${text}`);
          // Its event rows are read: the reply lists what its people do.
          if (command.startsWith('show') && size >= 42 && !/What they do[^\n]*\n1\. /.test(text)) throw new Error(`show listed no events:\n${text}`);
          results.push({ companies: size, command, medianMs: median(times), maxMs: Math.max(...times) });
          log(`  ${command.padEnd(20)} median ${fmt(median(times), 1)} ms, slowest ${fmt(Math.max(...times), 1)} ms   (${text.split('\n')[0].slice(0, 70)})`);
        }
      } finally {
        await database.close();
      }
    } finally {
      await db.drop();
    }
  }
  log('');
  const goal = (n: number) => (n <= 10_000 ? 150 : 500);
  const header = ['reply time, ms (median / slowest of ' + o.reps + ')', ...o.sizes.map((s) => `${fmt(s)} companies`)];
  const body = COMMANDS.map((c) => [
    c,
    ...o.sizes.map((s) => {
      const r = results.find((x) => x.companies === s && x.command === c)!;
      return `${fmt(r.medianMs, 1)} / ${fmt(r.maxMs, 1)}`;
    }),
  ]);
  const slowest = o.sizes.map((s) => Math.max(...results.filter((r) => r.companies === s).map((r) => r.maxMs)));
  log(
    table([
      header,
      ...body,
      ['slowest of all', ...slowest.map((m) => fmt(m, 1))],
      ['goal (slowest)', ...o.sizes.map((s) => `< ${goal(s)}`)],
      ['met', ...o.sizes.map((s, i) => (slowest[i] < goal(s) ? 'yes' : 'NO'))],
    ]),
  );
  log('');
  log(table(extra));
  return results;
}

export interface ShowOptions {
  sizes: number[];
  reps: number;
  now: Date;
  /** Also on the embedded database (PGlite, in memory). */
  embedded: boolean;
}

/** One company's `show` (by name, by key) and a name that matches nothing. */
export const SHOW_COMMANDS = ['show Company 42 Inc', 'show co_42', 'show Company 42 Inx'] as const;
/** The goal for `show` of one company (the first two commands): the slowest reply, up to 10,000 companies. */
export const SHOW_GOAL_MS = 150;

export interface ShowResult {
  database: 'PostgreSQL' | 'embedded';
  companies: number;
  command: string;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

/**
 * `show`'s reply times. The commands take turns call by call, so a burst of load on
 * a shared machine falls on all of them alike.
 */
export async function runShow(o: ShowOptions, log: (s: string) => void = console.log): Promise<ShowResult[]> {
  const results: ShowResult[] = [];
  const kinds: ShowResult['database'][] = o.embedded ? ['PostgreSQL', 'embedded'] : ['PostgreSQL'];
  for (const kind of kinds) {
    for (const size of o.sizes) {
      let database: Database;
      let drop = async () => {};
      let seeded: Awaited<ReturnType<typeof seedWith>>;
      if (kind === 'PostgreSQL') {
        const db = await freshDatabase('lm_bench_show');
        drop = () => db.drop();
        database = await openDatabase({ databaseUrl: db.url, max: 4, migrate: true });
        seeded = await seed(db.url, size, o.now, { eventCompanies: EVENT_SEED_COMPANIES });
      } else {
        database = await openDatabase({ pgliteDir: 'memory://' });
        const d = database;
        seeded = await seedWith((text) => rows(d.db, sql.raw(text)), size, o.now, { eventCompanies: EVENT_SEED_COMPANIES_EMBEDDED });
      }
      try {
        await rebuildSummary(database.db, dayString(utcDay(o.now)), { force: true });
        log(
          `show on ${kind} at ${fmt(size)} companies (seeded in ${fmt(seeded.seconds, 1)} s; ${fmt(seeded.rows.company_event_days)} company-event-days ` +
            `of ${fmt(seeded.rows.event_companies)} companies)`,
        );
        const ctx: ReplyContext = { db: database.db, keyActions: ['Created Report'], keyPath: null };
        const times = new Map<string, number[]>(SHOW_COMMANDS.map((c) => [c, []]));
        // The events read on its own (part of show; issue 16): one company, and the digest's 15 at once.
        const reads: [string, () => Promise<unknown>][] = [
          [`events read, co_42`, () => eventHistories(database.db, ['co_42'], { now: o.now, rangeDays: 30 })],
          [`events read, ${DIGEST_COMPANIES.length} companies`, () => eventHistories(database.db, DIGEST_COMPANIES, { now: o.now, rangeDays: 1 })],
        ];
        const readTimes = new Map<string, number[]>(reads.map(([name]) => [name, []]));
        for (let i = 0; i < 3; i++) for (const c of SHOW_COMMANDS) await groupsReply(ctx, c, o.now); // warm
        for (let i = 0; i < o.reps; i++) {
          for (const c of SHOW_COMMANDS) {
            const t = performance.now();
            const reply = await groupsReply(ctx, c, o.now);
            times.get(c)!.push(performance.now() - t);
            if (i === 0 && !c.endsWith('Inx') && !reply.terminal.includes('co_42')) throw new Error(`${c} found something else:\n${reply.terminal}`);
            if (i === 0 && !c.endsWith('Inx') && !/What they do[^\n]*\n1\. /.test(reply.terminal)) throw new Error(`${c} listed no events:\n${reply.terminal}`);
            if (i === 0 && c.endsWith('Inx') && !reply.terminal.includes('No company matches')) throw new Error(`${c} matched:\n${reply.terminal}`);
          }
          for (const [name, read] of reads) {
            const t = performance.now();
            await read();
            readTimes.get(name)!.push(performance.now() - t);
          }
        }
        for (const [name, ts] of readTimes) log(`  ${name.padEnd(34)} median ${fmt(median(ts), 1)} ms, slowest ${fmt(Math.max(...ts), 1)} ms`);
        for (const c of SHOW_COMMANDS) {
          const ts = times.get(c)!;
          const sorted = [...ts].sort((a, b) => a - b);
          const r = { database: kind, companies: size, command: c, medianMs: median(ts), p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)], maxMs: sorted[sorted.length - 1] };
          results.push(r);
          log(`  ${c.padEnd(22)} median ${fmt(r.medianMs, 1)} ms, 95th ${fmt(r.p95Ms, 1)} ms, slowest ${fmt(r.maxMs, 1)} ms`);
        }
      } finally {
        await database.close();
        await drop();
      }
    }
  }
  log('');
  const columns = kinds.flatMap((k) => o.sizes.map((s) => ({ k, s })));
  const cell = (k: string, s: number, c: string) => {
    const r = results.find((x) => x.database === k && x.companies === s && x.command === c)!;
    return `${fmt(r.medianMs, 1)} / ${fmt(r.maxMs, 1)}`;
  };
  const oneCompany = (k: string, s: number) => Math.max(...results.filter((r) => r.database === k && r.companies === s && !r.command.endsWith('Inx')).map((r) => r.maxMs));
  log(
    table([
      [`show, ms (median / slowest of ${o.reps})`, ...columns.map(({ k, s }) => `${k}, ${fmt(s)}`)],
      ...SHOW_COMMANDS.map((c) => [c + (c.endsWith('Inx') ? ' (no match)' : ''), ...columns.map(({ k, s }) => cell(k, s, c))]),
      ['slowest, one company', ...columns.map(({ k, s }) => fmt(oneCompany(k, s), 1))],
      ['goal (slowest)', ...columns.map(() => `< ${SHOW_GOAL_MS}`)],
      ['met', ...columns.map(({ k, s }) => (oneCompany(k, s) < SHOW_GOAL_MS ? 'yes' : 'NO'))],
    ]),
  );
  return results;
}
