/**
 * The history import's write path: a large slice of events (tens of thousands)
 * in one transaction, all or nothing, ending exactly where the live path
 * (store.ts, ingestEvents) ends for the same events sent as one request per
 * source group, in the given order. Idempotent on (source, messageId).
 *
 * Why it is faster than the live path for the same events: the work per event
 * that reaches PostgreSQL is its id's 64-bit hash (computed in Node: the import
 * does it in its read workers) and its day, checked and appended per (source,
 * day, bucket); everything else is aggregated in memory first, so a person-day's many
 * events become one row of each rollup, a person's many sessions in the slice
 * are merged before they are written, and a person is locked, read and written
 * once per slice instead of once per request. The rows travel as one parameter
 * per column (text split by string_to_table for the slice's big columns, JSON
 * arrays for the rest; the same on both drivers), zipped back by ROWS FROM.
 *
 * Plans: every relation here is a function scan or a CTE that the planner
 * guesses at 100 rows, where a slice has thousands to 50,000. So JIT is off
 * (it compiled for seconds what runs in milliseconds), and where parts of one
 * statement are joined, nested loops are off (hash joins instead); lookups by
 * key stay LATERAL, which only nest.
 *
 * Statements, in two round trips on PostgreSQL (statements.ts), a third when
 * some of the slice was stored before:
 *   1. store the new message ids and answer how many were new (when not all,
 *      the ids found stored before are read by key); create the people of the
 *      slice that do not exist (first seen at their earliest event of the slice:
 *      a person who does not exist has no event stored);
 *      lock every person of the slice in key order and read them; read their
 *      gap sessions near the slice's events and their sent session ids; read
 *      the summary's day A (FOR SHARE);
 *   2. sessions; the rollups and the summary in one statement (store.ts,
 *      rollups); people; companies, one statement per source group (the live
 *      path merges each request's company traits into the stored ones as a
 *      whole, so each group is merged the same way, in order, by the same
 *      statement, store.ts companiesUpsert); COMMIT.
 *
 * Exactness against the live path, per part:
 * - people: the walk applies every new event to its person, in the given order
 *   (applyToPerson of store.ts), from the locked row: the same sequence of
 *   steps the live path takes request after request;
 * - traits: a person's by applyToPerson (mergeTraits, bounded by MERGED_TRAITS,
 *   with trait_keys); a company's merged within each source group by applyToCompany,
 *   then into the stored row by the live path's own upsert (companiesUpsert), so the
 *   bound keeps the same keys as a live request carrying that group;
 * - an activity event's company is its own, else its person's as the walk left
 *   it just before (so a track before its person's group call in the same
 *   slice gets what the live path gives for that order);
 * - counters are sums, so one aggregated row equals many increments;
 * - gap sessions: merging intervals is associative (the final sessions are the
 *   runs of a person's events at a company with no gap over SESSION_GAP_MS,
 *   each keyed and attributed by its earliest event), so merging the slice at
 *   once with the stored intervals that touch it gives what merging it request
 *   by request gives; the counts follow (+1 per new session, -1 per stored one
 *   absorbed, at the day it was counted);
 * - sent session ids count once per person, at the earliest event of the first
 *   source group that carries them (as the first request would);
 * - the summary's distinct-people counts move when last_seen_at crosses a
 *   range start; last_seen_at only grows, so one move from the old to the final
 *   value crosses exactly when one of the live path's steps would.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import { recordset, withRetry } from '../db/sqlutil.js';
import { appendMessageDays, lockMessageDays, messageIdHash } from './message-ids.js';
import { summaryStateForShare } from '../db/queries/summary.js';
import { ACTIVITY_TYPES, type SegmentEvent } from './segment.js';
import { statementRunner } from './statements.js';
import { eventRollupRows } from './event-names.js';
import {
  applyToCompany,
  applyToPerson,
  companiesUpsert,
  rollups,
  UNGROUPED_KEY,
  type CompanyRow,
  type CompanyUpdates,
  type Counts,
  type CpdRow,
  type CpRow,
  type IngestResult,
  type PersonState,
  type Timed,
} from './store.js';
import { SESSION_GAP_MS, countSessions, type SessionRow } from './sessions.js';

/** An event of an imported history, with its dedup namespace. */
export interface SourcedEvent extends SegmentEvent {
  /**
   * The dedup namespace of `messageId`: a write key's digest (as live traffic uses), or
   * 'mixpanel', 'amplitude', 'posthog', 'segment-import'.
   */
  source: string;
  /**
   * messageIdHash(messageId), when the caller computed it already (the import does, in its read
   * workers); computed here otherwise.
   */
  idHash?: string;
}

export interface HistoryOptions {
  keyActions: ReadonlySet<string>;
}

/** Thrown for input the contract rules out; nothing is written. */
export class HistoryInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryInputError';
  }
}

interface Slot extends Timed {
  /** Index of the source group (order of first appearance in the call). */
  g: number;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const iso = (ms: number) => new Date(ms).toISOString();
const json = (v: unknown) => JSON.stringify(v);
const SEP = '\u0000';
/** Joins a column's values for string_to_table; PostgreSQL text holds no NUL, so the unit separator. */
const UNIT = '\u001f';

/**
 * A column of text as a set of rows: one text parameter split by string_to_table (several
 * times faster to unpack than a JSON array), or, when a value holds the separator, a JSON array.
 */
function column(values: readonly string[]): SQL {
  if (values.length > 0 && !values.some((v) => v.includes(UNIT))) return numberColumn(values);
  return sql`jsonb_array_elements_text(${json(values)}::jsonb)`;
}

/** The same for a column of numbers as text, which never holds the separator: not searched for it. */
function numberColumn(values: readonly string[]): SQL {
  return sql`string_to_table(${values.join(UNIT)}::text, ${UNIT}::text)`;
}

/**
 * Store a slice of history: one transaction, all or nothing; events already stored
 * (same source and messageId, also from live traffic) count nothing.
 */
export async function ingestHistory(db: Db, events: readonly SourcedEvent[], opts: HistoryOptions): Promise<IngestResult> {
  return prepareHistory(db, events, opts)();
}

/**
 * The same in two steps: the work in Node that needs no database (checking the slice,
 * ordering it by source, building its statements' parameters) happens now, and the
 * returned function runs the transaction; it calls `handOff` once the last group of
 * statements is sent (the walk done), when what is left is the database's work. The import
 * prepares slice N+1 this way while slice N is in the database, and starts N+1's transaction
 * only after N's has ended, so slices still commit one after the other, in order
 * (src/import/run.ts).
 * Throws HistoryInputError (nothing is written) for input the contract rules out.
 */
export function prepareHistory(db: Db, events: readonly SourcedEvent[], opts: HistoryOptions): (handOff?: () => void) => Promise<IngestResult> {
  // Source groups in order of first appearance; a messageId repeated inside a group counts once.
  const groupOf = new Map<string, number>();
  const seen: Set<string>[] = [];
  const slots: Slot[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (typeof e.messageId !== 'string' || e.messageId === '') {
      throw new HistoryInputError(`event ${i} (${e.type} of ${e.personId}) has no messageId: give every imported event an id (derive one from its content)`);
    }
    if (typeof e.source !== 'string' || e.source === '') {
      throw new HistoryInputError(`event ${i} has no source: name its dedup namespace (for example 'segment-import')`);
    }
    let g = groupOf.get(e.source);
    if (g === undefined) {
      g = seen.length;
      groupOf.set(e.source, g);
      seen.push(new Set());
    }
    if (seen[g].has(e.messageId)) continue;
    seen[g].add(e.messageId);
    const ms = e.time.getTime();
    const at = e.time.toISOString();
    slots.push({ e, ms, iso: at, day: at.slice(0, 10), g });
  }
  // Walked group after group, each in the given order: as the live path's requests would arrive.
  if (groupOf.size > 1) slots.sort((a, b) => a.g - b.g); // stable
  if (slots.length === 0) return async () => ({ stored: 0, duplicates: events.length });
  const sources = [...groupOf.keys()];

  // Where each person's stored gap sessions may touch this slice (all its events, as the live path reads).
  const span = new Map<string, { lo: number; hi: number }>();
  const sessionIdKeys = new Map<string, { p: string; k: string }>();
  for (const x of slots) {
    if (!ACTIVITY_TYPES.has(x.e.type)) continue;
    if (x.e.sessionId !== null) {
      const k = `id:${x.e.sessionId}`;
      sessionIdKeys.set(`${x.e.personId}${SEP}${k}`, { p: x.e.personId, k });
    } else {
      const s = span.get(x.e.personId);
      if (!s) span.set(x.e.personId, { lo: x.ms, hi: x.ms });
      else {
        if (x.ms < s.lo) s.lo = x.ms;
        if (x.ms > s.hi) s.hi = x.ms;
      }
    }
  }

  // The slice as columns: one parameter each, zipped back by ROWS FROM.
  // Per event only what the check and the append need: the source, the id's hash, the day (as
  // days since 1970). The ids as text travel too, but are unpacked only when a day of the slice
  // holds rows of `messages` (below). Per person: the earliest time of the slice, for the people
  // the slice creates.
  const col = { g: [] as string[], m: [] as string[], h: [] as string[], d: [] as string[] };
  const firstMs = new Map<string, number>();
  /** (source group, day) pairs, keyed g * 2^20 + days since 1970. */
  const idDayOf = new Map<number, { s: string; d: string }>();
  const dayNumbers = new Set<number>();
  for (const x of slots) {
    const dayNumber = Math.floor(x.ms / 86_400_000);
    col.g.push(String(x.g));
    col.m.push(x.e.messageId!);
    col.h.push((x.e as SourcedEvent).idHash ?? messageIdHash(x.e.messageId!));
    col.d.push(String(dayNumber));
    const had = firstMs.get(x.e.personId);
    if (had === undefined || x.ms < had) firstMs.set(x.e.personId, x.ms);
    const pair = x.g * 2 ** 20 + dayNumber;
    if (!idDayOf.has(pair)) idDayOf.set(pair, { s: sources[x.g], d: x.day });
    dayNumbers.add(dayNumber);
  }
  // Every person of the slice, in key order (the order people are created and locked in).
  const personIds = [...firstMs.keys()].sort(byText);
  const idDays = [...idDayOf.values()];
  const days = [...dayNumbers].sort((a, b) => a - b).map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
  // The slice's days and a day either side: an id is a duplicate of one stored within a day of it.
  const dayList = `{${[...new Set(days.flatMap((d) => [-1, 0, 1].map((o) => new Date(Date.parse(d) + o * 86_400_000).toISOString().slice(0, 10))))].join(',')}}`;
  const spanPeople = [...span.keys()].sort(byText);
  // Built once each, though two parts of the statement read them.
  const gColumn = numberColumn(col.g);
  const hColumn = numberColumn(col.h);
  const dColumn = numberColumn(col.d);
  const group1: (SQL | null)[] = [
    // Large statements, planned from guessed row counts: compiling them (JIT) costs more than running
    // them; and their sorts (50,000 ids in key order) stay in memory rather than spill to disk.
    sql`set local jit = off`,
    sql`set local work_mem = '64MB'`,
    // The slice's COMMIT does not wait for its WAL to reach the disk (docs/import.md, "Durability"):
    // a crash of the server can lose the last slices committed, each as a whole (its message ids
    // with its counts), and the import run again stores them then. Saves a WAL flush per slice.
    sql`set local synchronous_commit = off`,
    // The slice's (source, day) pairs, locked exclusively in key order: a live request with an id
    // of those days (a shared lock), another import or the prune waits for this slice, and the
    // statements after this one see what any transaction it waited for committed.
    lockMessageDays(recordset(idDays, 'p', 's text, d date'), 'exclusive'),
    // Which of the slice's ids are stored (src/ingest/message-ids.ts): as a row of `messages` (only
    // days that received live traffic in the last DEDUP_DAYS hold rows, found by the BRIN index on
    // day; rows from before that column, undated, are looked up for every id while they last), or
    // among the compact ids of its day or a day either side. Those come back (usually none); the others are
    // stored compactly, and the slice's people created where new, first seen at their earliest event,
    // as the live path creates them (a person with a stored event exists already). Its parts are joined by hashing: their row counts are guesses
    // (a function scan counts as 100 rows), and a nested loop over 50,000 x 50,000 rows would never
    // end; a merge join sorts both sides by text in the database's collation (strcoll, several
    // times slower than comparing bytes), where a hash join hashes the bytes.
    sql`set local enable_nestloop = off`,
    sql`set local enable_mergejoin = off`,
    sql`with x as materialized (
      select (${json(sources)}::jsonb ->> g::int) as s, h::bigint as h, date '1970-01-01' + d::int as d
      from rows from (${gColumn}, ${hColumn}, ${dColumn}) as r(g, h, d)
    ),
    dated as materialized (
      select distinct source as s, day as d from messages
      -- (a range for the BRIN index, which PostgreSQL 15 does not use for = any)
      where day between ${days[0]}::date - 1 and ${days[days.length - 1]}::date + 1 and day = any(${dayList}::date[])
        and source in (select jsonb_array_elements_text(${json(sources)}::jsonb))
    ),
    undated as materialized (
      select distinct source as s from messages where day is null and source in (select jsonb_array_elements_text(${json(sources)}::jsonb))
    ),
    -- The ids as text, for the rows of messages: unpacked only when such rows lie near the slice's days
    -- (an uncorrelated condition, checked once before the function scan runs).
    xm as materialized (
      select (${json(sources)}::jsonb ->> g::int) as s, m, h::bigint as h, date '1970-01-01' + d::int as d
      from rows from (${gColumn}, ${column(col.m)}, ${hColumn}, ${dColumn}) as r(g, m, h, d)
      where exists (select 1 from dated) or exists (select 1 from undated)
    ),
    -- The compact ids of the slice's days and the days either side, unpacked once (materialized:
    -- inlined, the planner unpacked them again for every event of the slice).
    compact as materialized (
      select k.source as s, k.day as d, u.h from message_days k cross join unnest(k.hashes) as u(h)
      where k.source in (select jsonb_array_elements_text(${json(sources)}::jsonb)) and k.day = any(${dayList}::date[])
    ),
    probed as (
      select x.s, x.m, x.h from xm x join dated on dated.s = x.s and dated.d between x.d - 1 and x.d + 1
      union
      select x.s, x.m, x.h from xm x join undated using (s)
    ),
    known as (
      select p.s, p.h from probed p
      cross join lateral (select 1 from messages r where r.message_id = p.m and r.source = p.s offset 0) r
      union all
      select x.s, x.h from x join compact c on c.s = x.s and c.h = x.h and c.d between x.d - 1 and x.d + 1
    ),
    fresh as materialized (select x.* from x where not exists (select 1 from known k where k.s = x.s and k.h = x.h)),
    appended as (${appendMessageDays(sql`fresh`)}),
    -- (runs though nothing reads it: a data-modifying WITH always runs to completion)
    -- A person the slice creates is new, so none of its events in the slice is stored: first seen at its
    -- earliest event of the slice (a person whose events were stored before exists, and is left as is).
    created as (
      insert into people (person_id, first_seen_at)
      select p, timestamptz 'epoch' + t::bigint * interval '1 millisecond'
      from rows from (${column(personIds)}, ${numberColumn(personIds.map((p) => String(firstMs.get(p))))}) as q(p, t)
      order by p
      on conflict (person_id) do nothing
    )
    select s, h::text as h from known`,
    sql`set local enable_nestloop to default`,
    sql`set local enable_mergejoin to default`,
    // Every person of the slice, locked in key order (the live path's order), read after the lock.
    sql`select person_id, company_key, company_at::text, name, email, traits, trait_keys, traits_at::text, first_seen_at::text, last_active_at::text,
               floor(extract(epoch from company_at) * 1000)::float8 as company_at_ms,
               floor(extract(epoch from traits_at) * 1000)::float8 as traits_at_ms,
               floor(extract(epoch from first_seen_at) * 1000)::float8 as first_seen_ms,
               floor(extract(epoch from last_active_at) * 1000)::float8 as last_active_ms
        from people where person_id in (select jsonb_array_elements_text(${json(personIds)}::jsonb))
        order by person_id for update`,
    spanPeople.length === 0
      ? null
      : sql`select s.person_id as p, s.session_key as k, s.started_at::text as s, s.ended_at::text as e, s.company_key as c, s.day::text as d
            from rows from (
              jsonb_array_elements_text(${json(spanPeople)}::jsonb),
              jsonb_array_elements_text(${json(spanPeople.map((p) => iso(span.get(p)!.lo - SESSION_GAP_MS)))}::jsonb),
              jsonb_array_elements_text(${json(spanPeople.map((p) => iso(span.get(p)!.hi + SESSION_GAP_MS)))}::jsonb)
            ) as q(p, lo, hi)
            -- One index range scan per person on (person_id, ended_at), as in store.ts.
            cross join lateral (
              select * from person_sessions s
              where s.person_id = q.p and s.ended_at >= q.lo::timestamptz and s.started_at <= q.hi::timestamptz and s.session_key like 'gap:%'
              offset 0
            ) s`,
    sessionIdKeys.size === 0
      ? null
      : sql`select s.person_id as p, s.session_key as k
            from rows from (
              jsonb_array_elements_text(${json([...sessionIdKeys.values()].map((x) => x.p))}::jsonb),
              jsonb_array_elements_text(${json([...sessionIdKeys.values()].map((x) => x.k))}::jsonb)
            ) as q(p, k)
            cross join lateral (select * from person_sessions s where s.person_id = q.p and s.session_key = q.k offset 0) s`,
    summaryStateForShare(),
  ];

  return (handOff) => withRetry(async () => {
    const { result, written } = await db.transaction(async (tx) => {
      const run = statementRunner(tx as unknown as Db);
      const [, , , , , , knownRows, , , locked, gapRows, sessionIdRows, stateRows] = await run.all(group1);
      // The slice's ids stored before (by an earlier slice, run or live request): usually none.
      const dup = new Set<string>();
      for (const r of knownRows as { s: string; h: string }[]) dup.add(`${r.s}${SEP}${r.h}`);
      const fresh = dup.size === 0 ? slots : slots.filter((x, i) => !dup.has(`${sources[x.g]}${SEP}${col.h[i]}`));
      const duplicates = events.length - fresh.length;
      if (fresh.length === 0) return { result: { stored: 0, duplicates }, written: Promise.resolve() };
      const asOf = (stateRows as { as_of: string }[])[0]?.as_of ?? null;

      // An event's time as text is x.iso, toISOString of the same ms: the few other times the
      // rows carry (spans, first and last seen) are formatted when asked for.
      const at = iso;

      // Each person's earliest new event: as prepared, unless some of the slice was stored before.
      let firstSeen = firstMs;
      if (fresh !== slots) {
        firstSeen = new Map<string, number>();
        for (const x of fresh) {
          const had = firstSeen.get(x.e.personId);
          if (had === undefined || x.ms < had) firstSeen.set(x.e.personId, x.ms);
        }
      }
      const persons = new Map<string, PersonState>();
      for (const p of locked as PersonState[]) {
        const first = firstSeen.get(p.person_id);
        if (first !== undefined && first < p.first_seen_ms) {
          p.first_seen_at = at(first);
          p.first_seen_ms = first;
          p.dirty = true;
        }
        persons.set(p.person_id, p);
      }

      // The walk, group after group, each in the given order.
      const companyStatements: SQL[] = [];
      const activity: { x: Slot; companyKey: string; key: boolean }[] = [];
      let i = 0;
      while (i < fresh.length) {
        const g = fresh[i].g;
        const updates: CompanyUpdates = new Map();
        const touched = new Set<PersonState>();
        const companySpan = new Map<string, { first: number; last: number }>();
        for (; i < fresh.length && fresh[i].g === g; i++) {
          const x = fresh[i];
          const { e, ms } = x;
          const p = persons.get(e.personId);
          if (!p) throw new Error(`person ${e.personId} was neither created nor locked`);
          applyToPerson(p, x);
          touched.add(p);
          applyToCompany(updates, x);
          if (ACTIVITY_TYPES.has(e.type)) {
            const companyKey = e.companyKey ?? p.company_key ?? UNGROUPED_KEY;
            activity.push({ x, companyKey, key: e.type === 'track' && opts.keyActions.has(e.name ?? '') });
            if (companyKey !== UNGROUPED_KEY) {
              const s = companySpan.get(companyKey);
              if (!s) companySpan.set(companyKey, { first: ms, last: ms });
              else {
                if (ms < s.first) s.first = ms;
                if (ms > s.last) s.last = ms;
              }
            }
          }
        }
        const rowsOf = new Map<string, CompanyRow>();
        for (const [c, s] of companySpan) rowsOf.set(c, { c, f: at(s.first), l: at(s.last), n: null, t: null, k: null, a: null });
        for (const [c, u] of updates) {
          const row = rowsOf.get(c) ?? { c, f: null, l: null, n: null, t: null, k: null, a: null };
          row.n = u.name;
          row.t = u.traits;
          row.k = u.order;
          row.a = at(u.at);
          rowsOf.set(c, row);
        }
        // A company a person was tied to exists even before any trait arrives (a no-op when it does).
        for (const p of touched) {
          if (p.company_key !== null && p.company_key !== UNGROUPED_KEY && !rowsOf.has(p.company_key)) {
            rowsOf.set(p.company_key, { c: p.company_key, f: null, l: null, n: null, t: null, k: null, a: null });
          }
        }
        if (rowsOf.size > 0) companyStatements.push(companiesUpsert([...rowsOf.values()].sort((a, b) => byText(a.c, b.c))));
      }

      // Counters per (company, person, day) and (company, person): a person-day's events are one row.
      const cpd = new Map<string, CpdRow>();
      const cp = new Map<string, CpRow>();
      // A person's rows of the last bump: a person's events mostly follow each other on one company
      // and day, so most bumps find their rows by person alone, with no key built.
      const lastRows = new Map<string, { c: string; d: string; a: CpdRow; b: CpRow }>();
      const bump = (c: string, p: string, d: string, n: Partial<Counts>, ms?: number) => {
        let held = lastRows.get(p);
        if (held === undefined || held.c !== c || held.d !== d) {
          const k1 = `${c}${SEP}${p}${SEP}${d}`;
          let a = cpd.get(k1);
          if (!a) cpd.set(k1, (a = { c, p, d, events: 0, keyActions: 0, sessions: 0 }));
          const k2 = `${c}${SEP}${p}`;
          let b = cp.get(k2);
          if (!b) cp.set(k2, (b = { c, p, first: Infinity, last: -Infinity, events: 0, keyActions: 0, sessions: 0 }));
          lastRows.set(p, (held = { c, d, a, b }));
        }
        const { a, b } = held;
        a.events += n.events ?? 0;
        a.keyActions += n.keyActions ?? 0;
        a.sessions += n.sessions ?? 0;
        b.events += n.events ?? 0;
        b.keyActions += n.keyActions ?? 0;
        b.sessions += n.sessions ?? 0;
        if (ms !== undefined) {
          if (ms < b.first) b.first = ms;
          if (ms > b.last) b.last = ms;
        }
      };
      const one = { events: 1, keyActions: 0 };
      const oneKey = { events: 1, keyActions: 1 };
      for (const a of activity) bump(a.companyKey, a.x.e.personId, a.x.day, a.key ? oneKey : one, a.x.ms);
      const sessionWrites = countSessions(activity, gapRows as SessionRow[], sessionIdRows as { p: string; k: string }[], bump, at);

      const byKey = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => byText(a, b)).map(([, v]) => v);
      const cpdRows = byKey(cpd);
      const cpRows = byKey(cp).filter((r) => r.first !== Infinity || r.events !== 0 || r.sessions !== 0);
      const dirty = [...persons.values()].filter((p) => p.dirty).sort((a, b) => byText(a.person_id, b.person_id));
      const last = await run.last([
        ...sessionWrites,
        // The rollups statement joins its parts (all thousands of rows here, all guessed at 100):
        // hash joins for it, never nested loops; its lookups by key stay LATERAL, which only nest.
        sql`set local enable_nestloop = off`,
        rollups(cpdRows, cpRows, eventRollupRows(activity), asOf, at),
        sql`set local enable_nestloop to default`,
        dirty.length === 0 ? null : peopleUpdate(dirty),
        ...companyStatements,
      ]);
      // The rest is the database's: the caller may use this thread meanwhile (the import prepares its next slice).
      handOff?.();
      return { result: { stored: fresh.length, duplicates }, ...last };
    });
    // The last group went out with COMMIT right behind it (statements.ts): stored only if it succeeded too.
    await written;
    return result;
  });
}

/**
 * Returns once every slice committed before is on disk. Slices commit without waiting for
 * their WAL to be flushed (synchronous_commit off); this transaction takes a transaction id
 * and commits with synchronous_commit on, and PostgreSQL flushes the WAL in order, so its
 * flush covers every commit before it. The import calls it when it stops writing.
 */
export async function historyDurable(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await rows(tx as unknown as Db, sql`set local synchronous_commit = on`);
    await rows(tx as unknown as Db, sql`select pg_current_xact_id()::text as xid`);
  });
}

/** Every changed person written once, with the state the walk left. */
function peopleUpdate(dirty: PersonState[]): SQL {
  const c = {
    p: [] as string[],
    c: [] as (string | null)[],
    ca: [] as (string | null)[],
    n: [] as (string | null)[],
    e: [] as (string | null)[],
    t: [] as (Record<string, unknown> | null)[],
    k: [] as (string[] | null)[],
    ta: [] as (string | null)[],
    la: [] as (string | null)[],
    fs: [] as string[],
  };
  for (const p of dirty) {
    c.p.push(p.person_id);
    c.c.push(p.company_key);
    c.ca.push(p.company_at);
    // Traits (and the name, email and time that go with them) travel only when the slice changed them.
    c.n.push(p.traitsChanged ? p.name : null);
    c.e.push(p.traitsChanged ? p.email : null);
    c.t.push(p.traitsChanged ? p.traits : null);
    c.k.push(p.traitsChanged ? p.trait_keys : null);
    c.ta.push(p.traitsChanged ? p.traits_at : null);
    c.la.push(p.last_active_at);
    c.fs.push(p.first_seen_at);
  }
  const arr = (v: unknown[]) => sql`jsonb_array_elements(${json(v)}::jsonb)`;
  // jsonb elements (null stays a JSON null), read as text with #>> '{}'.
  const txt = (name: string) => sql.raw(`(${name} #>> '{}')`);
  return sql`update people set company_key = ${txt('x.c')}, company_at = ${txt('x.ca')}::timestamptz,
      name = case when x.t = 'null'::jsonb then people.name else ${txt('x.n')} end,
      email = case when x.t = 'null'::jsonb then people.email else ${txt('x.e')} end,
      traits = case when x.t = 'null'::jsonb then people.traits else x.t end,
      trait_keys = case when x.t = 'null'::jsonb then people.trait_keys else x.k end,
      traits_at = case when x.t = 'null'::jsonb then people.traits_at else ${txt('x.ta')}::timestamptz end,
      last_active_at = ${txt('x.la')}::timestamptz, first_seen_at = ${txt('x.fs')}::timestamptz
    from rows from (${arr(c.p)}, ${arr(c.c)}, ${arr(c.ca)}, ${arr(c.n)}, ${arr(c.e)}, ${arr(c.t)}, ${arr(c.k)}, ${arr(c.ta)}, ${arr(c.la)}, ${arr(c.fs)})
      as x(p, c, ca, n, e, t, k, ta, la, fs)
    where people.person_id = (x.p #>> '{}')`;
}

