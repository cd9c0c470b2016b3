/**
 * Reply times of `/groups top`, `quiet`, `show NAME` and `report`, through
 * groupsReply (what the Slack listener runs), in-process against a fresh local
 * PostgreSQL database seeded straight into the tables with SQL: S companies,
 * 10 people each, 90 days of per-day rollups (about half the days active),
 * a tenth of the companies fading and a tenth growing over the last 14 days,
 * one in twenty new; one company (the `show` target) with per-person days too.
 */
import postgres from 'postgres';
import { groupsReply, type ReplyContext } from '../src/app/reply.js';
import { openDatabase } from '../src/db/client.js';
import { companyStatsLive } from '../src/db/queries/companies.js';
import { rebuildSummary } from '../src/db/queries/summary.js';
import { dayString, utcDay } from '../src/domain/period.js';
import { fmt, freshDatabase, median, table } from './common.js';

export interface ReadsOptions {
  sizes: number[];
  reps: number;
  now: Date;
}

const COMMANDS = ['top', 'top 7d by sessions', 'quiet', 'show Company 42 Inc', 'report'];

export async function seed(url: string, companies: number, now: Date): Promise<{ rows: Record<string, number>; seconds: number }> {
  const t0 = performance.now();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const S = companies;
  const today = dayString(utcDay(now));
  const nowTs = now.toISOString();
  const d = (offset: number) => dayString(utcDay(now, offset));
  try {
    await sql`select setseed(0.42)`;
    await sql.unsafe(`
      insert into companies (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
      select 'co_' || i, 'Company ' || i || ' Inc', jsonb_build_object('plan', (array['free','team','business'])[1 + i % 3]),
             '${nowTs}'::timestamptz - interval '120 days',
             case when i % 20 = 0 then '${nowTs}'::timestamptz - interval '10 days'
                  else '${nowTs}'::timestamptz - (100 + i % 60) * interval '1 day' end,
             '${nowTs}'::timestamptz - random() * interval '36 hours'
      from generate_series(1, ${S}) i`);
    await sql.unsafe(`
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select 'co_' || i, g::date, x.e, x.e / 4, greatest(1, x.e / 6), least(10, 1 + x.e / 8)
      from generate_series(1, ${S}) i
      cross join generate_series('${d(-89)}'::date, '${today}'::date, interval '1 day') g
      cross join lateral (
        select greatest(1, floor((5 + (i % 97)) * (0.5 + random())
               * case when g >= '${d(-14)}'::date then (case i % 10 when 1 then 0.3 when 2 then 2 else 1 end) else 1 end))::int as e
      ) x
      where random() < 0.5 and (i % 20 <> 0 or g >= '${d(-10)}'::date)`);
    await sql.unsafe(`
      insert into people (person_id, company_key, company_at, name, email, traits, first_seen_at, last_active_at)
      select 'p_' || j, 'co_' || (1 + j % ${S}), '${nowTs}'::timestamptz - interval '100 days', 'Person ' || j, 'p' || j || '@example.com',
             '{}'::jsonb, '${nowTs}'::timestamptz - interval '100 days', '${nowTs}'::timestamptz - random() ^ 2 * interval '90 days'
      from generate_series(0, ${S * 10 - 1}) j`);
    await sql.unsafe(`
      insert into company_people (company_key, person_id, first_seen_at, last_seen_at, events, key_actions, sessions)
      select company_key, person_id, first_seen_at, last_active_at, e, e / 4, greatest(1, e / 6)
      from people cross join lateral (select (20 + random() * 400)::int as e) x`);
    // The `show` target: per-person days, and its company rollups and people made consistent with them.
    const key = 'co_42';
    await sql.unsafe(`
      insert into company_person_days (company_key, person_id, day, events, key_actions, sessions)
      select '${key}', p.person_id, g::date, x.e, x.e / 4, 1 + x.e / 10
      from company_people p
      cross join generate_series('${d(-89)}'::date, '${today}'::date, interval '1 day') g
      cross join lateral (select (1 + random() * 20)::int as e) x
      where p.company_key = '${key}' and random() < 0.5`);
    await sql.unsafe(`delete from company_days where company_key = '${key}'`);
    await sql.unsafe(`
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select company_key, day, sum(events), sum(key_actions), sum(sessions), count(*)
      from company_person_days where company_key = '${key}' group by company_key, day`);
    await sql.unsafe(`
      update company_people cp set last_seen_at = x.last + interval '12 hours', events = x.e, key_actions = x.k, sessions = x.s
      from (select person_id, max(day) as last, sum(events) as e, sum(key_actions) as k, sum(sessions) as s
            from company_person_days where company_key = '${key}' group by person_id) x
      where cp.company_key = '${key}' and cp.person_id = x.person_id`);
    await sql.unsafe(`vacuum analyze`);
    const [counts] = await sql<Record<string, number>[]>`
      select (select count(*) from companies)::int as companies, (select count(*) from people)::int as people,
             (select count(*) from company_days)::int as company_days, (select count(*) from company_people)::int as company_people,
             (select count(*) from company_person_days)::int as company_person_days`;
    return { rows: counts, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await sql.end();
  }
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
        const seeded = await seed(db.url, size, o.now);
        log(
          `reads at ${fmt(size)} companies: seeded ${fmt(seeded.rows.companies)} companies, ${fmt(seeded.rows.people)} people, ` +
            `${fmt(seeded.rows.company_days)} company-days, ${fmt(seeded.rows.company_person_days)} person-days (show target) in ${fmt(seeded.seconds, 1)} s`,
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
