/**
 * Ingest a request's events into the per-company rollups, in one transaction:
 * all of a request is stored, or none of it. Set-based: a fixed number of
 * statements per request, whatever its size, sent in two groups, each in one
 * round trip on PostgreSQL (statements.ts):
 *   1. store the new message ids and create the new people; lock every other
 *      person of the request (in key order); read their gap sessions near the
 *      request's events and the sent session ids already stored; read the
 *      summary's day A (FOR SHARE);
 *   2. every write, with COMMIT right behind: sessions; the rollups in one
 *      statement (company_person_days, company_days, company_people and the
 *      summary, which follow from one another inside it); people; companies.
 *      Rows many requests share (a company's) are written last, so they stay
 *      locked only until the commit that follows.
 *
 * Exactness:
 * - a messageId already stored for the same write key is skipped (retries count once);
 * - people rows are locked (in key order) for the transaction, so two requests about
 *   one person serialise, while two requests about one company only add to counters.
 *   Everything read about a person (state, sessions, session ids, person-days, last
 *   seen) is read after the lock, so no other transaction writes it until this one
 *   commits; a person this transaction creates is its own until then;
 * - sessions: a sent session id counts once per person; otherwise a person's events
 *   for one company with no gap over SESSION_GAP_MS form one session of that company,
 *   kept as intervals that are merged exactly when events arrive late or out of order.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { recordset, withRetry } from '../db/sqlutil.js';
import { lockMessageDays, messageBucket, messageHash } from './message-ids.js';
import { summaryAddSql, summaryStateForShare } from '../db/queries/summary.js';
import { ACTIVITY_TYPES, MERGED_TRAITS, mergeTraits, type SegmentEvent } from './segment.js';
import { statementRunner } from './statements.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS, eventRollupRows, type EventRollupRows } from './event-names.js';
import { SESSION_GAP_MS, countSessions, type SessionRow } from './sessions.js';

/** Pseudo-company for activity with no company: counted for `/groups key`, never listed. */
export const UNGROUPED_KEY = '';

export interface IngestOptions {
  /** Identifies the write key (a digest of it, never the key). */
  source: string;
  keyActions: ReadonlySet<string>;
}

export interface IngestResult {
  stored: number;
  duplicates: number;
}

/** An event with its time in the forms the walk needs, computed once. */
export interface Timed {
  e: SegmentEvent;
  ms: number;
  iso: string;
  day: string;
}

/** A locked person; `dirty` when it must be written back. Times as text, and as epoch ms to compare. */
export interface PersonState {
  person_id: string;
  company_key: string | null;
  company_at: string | null;
  company_at_ms: number | null;
  name: string | null;
  email: string | null;
  traits: Record<string, unknown>;
  /** The keys of traits, oldest first (null: written before the order was kept). */
  trait_keys: string[] | null;
  traits_at: string | null;
  traits_at_ms: number | null;
  first_seen_at: string;
  first_seen_ms: number;
  last_active_at: string | null;
  last_active_ms: number | null;
  dirty?: boolean;
  traitsChanged?: boolean;
}

export interface Counts {
  events: number;
  keyActions: number;
  sessions: number;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const iso = (ms: number) => new Date(ms).toISOString();
const isActivity = (e: SegmentEvent) => ACTIVITY_TYPES.has(e.type);

/** A person as the table's defaults make a new row, first seen at `first` (epoch ms). */
function newPerson(id: string, first: number, firstIso: string): PersonState {
  return {
    person_id: id,
    company_key: null,
    company_at: null,
    company_at_ms: null,
    name: null,
    email: null,
    traits: {},
    // null, as the column's default: a person never given traits has no order, however created.
    trait_keys: null,
    traits_at: null,
    traits_at_ms: null,
    first_seen_at: firstIso,
    first_seen_ms: first,
    last_active_at: null,
    last_active_ms: null,
  };
}

/** What one event does to its person's row (company as last set, traits, last activity); marks it dirty. */
export function applyToPerson(p: PersonState, x: Timed): void {
  const { e, ms } = x;
  if (e.companyKey !== null && (p.company_at_ms === null || ms >= p.company_at_ms)) {
    p.company_key = e.companyKey;
    p.company_at = x.iso;
    p.company_at_ms = ms;
    p.dirty = true;
  }
  if (e.personTraits !== null) {
    const newer = p.traits_at_ms === null || ms >= p.traits_at_ms;
    const held = { traits: p.traits, order: p.trait_keys };
    const call = { traits: e.personTraits, order: null };
    const merged = newer ? mergeTraits(held, call) : mergeTraits(call, held);
    p.traits = merged.traits;
    p.trait_keys = merged.order;
    if (newer) {
      p.traits_at = x.iso;
      p.traits_at_ms = ms;
    }
    p.name = typeof p.traits.name === 'string' && p.traits.name.trim() ? p.traits.name.trim() : null;
    p.email = typeof p.traits.email === 'string' && p.traits.email.trim() ? p.traits.email.trim() : null;
    p.dirty = true;
    p.traitsChanged = true;
  }
  if (isActivity(e) && (p.last_active_ms === null || ms > p.last_active_ms)) {
    p.last_active_at = x.iso;
    p.last_active_ms = ms;
    p.dirty = true;
  }
}

export async function ingestEvents(db: Db, input: SegmentEvent[], opts: IngestOptions): Promise<IngestResult> {
  // A message id repeated inside one request counts once too.
  const seen = new Set<string>();
  const events = input.filter((e) => e.messageId === null || (!seen.has(e.messageId) && seen.add(e.messageId)));
  if (events.length === 0) return { stored: 0, duplicates: input.length };

  // What group 1 needs comes from the request alone (all its events: which are new is known after).
  const timed: Timed[] = events.map((e) => {
    const ms = e.time.getTime();
    const at = e.time.toISOString();
    return { e, ms, iso: at, day: at.slice(0, 10) };
  });
  // Times written back are mostly event times: their ISO text is made once.
  const isoOf = new Map<number, string>();
  for (const x of timed) isoOf.set(x.ms, x.iso);
  const at = (ms: number) => isoOf.get(ms) ?? iso(ms);
  const personIds = [...new Set(events.map((e) => e.personId))].sort(byText);
  const spanOf = new Map<string, { lo: number; hi: number }>();
  const sessionIdKeys = new Map<string, { p: string; k: string }>();
  for (const x of timed) {
    if (!isActivity(x.e)) continue;
    if (x.e.sessionId !== null) {
      const k = `id:${x.e.sessionId}`;
      sessionIdKeys.set(`${x.e.personId}\u0000${k}`, { p: x.e.personId, k });
    } else {
      const s = spanOf.get(x.e.personId);
      if (!s) spanOf.set(x.e.personId, { lo: x.ms, hi: x.ms });
      else {
        if (x.ms < s.lo) s.lo = x.ms;
        if (x.ms > s.hi) s.hi = x.ms;
      }
    }
  }
  // People with an identify or group call are often new: for them, the row as this request
  // leaves it if they are (applyToPerson over their events, from the defaults, as the walk
  // below does). A new person all of whose events are new is created with it and needs no
  // other write; anyone else new is created with the defaults and written in group 2 like
  // everyone else. (A draft's first sighting is not used: the insert takes the new events'.)
  const drafts = new Map<string, PersonState>();
  for (const x of timed) if (!isActivity(x.e) && !drafts.has(x.e.personId)) drafts.set(x.e.personId, newPerson(x.e.personId, x.ms, x.iso));
  for (const x of timed) {
    const p = drafts.get(x.e.personId);
    if (p) applyToPerson(p, x);
  }
  // The (source, day) pairs of the request's ids, for their locks (message-ids.ts).
  const idDays = [...new Set(timed.filter((x) => x.e.messageId !== null).map((x) => x.day))].sort();
  const group1 = [
    // Shared: no live request waits on another for these; an import slice or the prune holding
    // one of the days is waited for, and the statements after this one see what it committed.
    idDays.length === 0 ? null : lockMessageDays(sql`(select ${opts.source}::text as s, d::date as d from jsonb_array_elements_text(${JSON.stringify(idDays)}::jsonb) as j(d)) p`, 'shared'),
    // New message ids are stored: not a row of `messages` (the primary key) and not among the
    // compact ids of its day or a day either side (`message_days`: imported, or moved there by the
    // prune; src/ingest/message-ids.ts). The people of
    // the new events are created where new, each with its draft when every one of its events is
    // new (then the walk ends where the draft does).
    sql`with x as (select *, ${messageHash(sql`m`)} as h from ${recordset(
      timed.map((x) => ({ m: x.e.messageId, p: x.e.personId, t: x.iso, d: x.day })),
      'x',
      'm text, p text, t timestamptz, d date',
    )}),
    stored as (
      insert into messages (source, message_id, day)
      select ${opts.source}, m, d from x
      where m is not null
        and not exists (
          select 1 from message_days k
          where k.source = ${opts.source} and k.day between x.d - 1 and x.d + 1 and k.bucket = ${messageBucket(sql`x.h`)} and x.h = any(k.hashes)
        )
      order by m
      on conflict do nothing
      returning message_id
    ),
    d as (select * from ${recordset(
      [...drafts.values()].map((p) => ({ p: p.person_id, c: p.company_key, ca: p.company_at, n: p.name, e: p.email, t: p.traits, k: p.trait_keys, ta: p.traits_at, la: p.last_active_at })),
      'd',
      'p text, c text, ca timestamptz, n text, e text, t jsonb, k jsonb, ta timestamptz, la timestamptz',
    )}),
    f as (
      select p, min(t) filter (where fresh) as first, bool_and(fresh) as whole
      from (select p, t, m is null or m in (select message_id from stored) as fresh from x) y
      group by p having bool_or(fresh)
    ),
    created as (
      insert into people (person_id, company_key, company_at, name, email, traits, trait_keys, traits_at, first_seen_at, last_active_at)
      select f.p, d.c, d.ca, d.n, d.e, coalesce(d.t, '{}'::jsonb), d.k, d.ta, f.first, d.la
      from f left join d on d.p = f.p and f.whole
      order by f.p
      on conflict (person_id) do nothing
      returning person_id
    )
    select message_id as m, null as p from stored union all select null, person_id from created`,
    // Every other person of the request is locked, in key order (a tuple lock, not a new row
    // version: the one write per person comes in group 2); the ones this transaction just
    // created are its own already. Statements after this one see what any transaction we
    // waited for committed. Times come as text (written back unchanged) and as epoch ms
    // (compared), so none is parsed here.
    sql`select person_id, company_key, company_at::text, name, email, traits, trait_keys, traits_at::text, first_seen_at::text, last_active_at::text,
               floor(extract(epoch from company_at) * 1000)::float8 as company_at_ms,
               floor(extract(epoch from traits_at) * 1000)::float8 as traits_at_ms,
               floor(extract(epoch from first_seen_at) * 1000)::float8 as first_seen_ms,
               floor(extract(epoch from last_active_at) * 1000)::float8 as last_active_ms
        from people where person_id in (select jsonb_array_elements_text(${JSON.stringify(personIds)}::jsonb))
          and xmin <> pg_current_xact_id()::xid
        order by person_id for update`,
    spanOf.size === 0
      ? null
      : sql`select s.person_id as p, s.session_key as k, s.started_at::text as s, s.ended_at::text as e, s.company_key as c, s.day::text as d
            from ${recordset(
              [...spanOf].map(([p, s]) => ({ p, lo: iso(s.lo - SESSION_GAP_MS), hi: iso(s.hi + SESSION_GAP_MS) })),
              'q',
              'p text, lo timestamptz, hi timestamptz',
            )}
            -- LATERAL, kept apart by OFFSET 0: one index range scan per person on (person_id, ended_at),
            -- never a scan of every session (which the planner picks for a flattened join).
            cross join lateral (
              select * from person_sessions s
              where s.person_id = q.p and s.ended_at >= q.lo and s.started_at <= q.hi and s.session_key like 'gap:%'
              offset 0
            ) s`,
    sessionIdKeys.size === 0
      ? null
      : sql`select s.person_id as p, s.session_key as k
            from ${recordset([...sessionIdKeys.values()], 'q', 'p text, k text')}
            cross join lateral (select * from person_sessions s where s.person_id = q.p and s.session_key = q.k offset 0) s`,
    summaryStateForShare(),
  ];

  return withRetry(async () => {
    const { result, written } = await db.transaction(async (tx) => {
      const run = statementRunner(tx as unknown as Db);
      // 1. Dedup (a concurrent request with the same id waits on ours), people, locks, reads.
      const [, storedRows, locked, gapRows, sessionIdRows, stateRows] = await run.all(group1);
      const isNew = new Set<string>();
      const createdPeople: string[] = [];
      for (const r of storedRows as { m: string | null; p: string | null }[]) {
        if (r.m !== null) isNew.add(r.m);
        else createdPeople.push(r.p!);
      }
      const fresh = timed.filter((x) => x.e.messageId === null || isNew.has(x.e.messageId));
      const duplicates = input.length - fresh.length;
      if (fresh.length === 0) return { result: { stored: 0, duplicates }, written: Promise.resolve() };
      const asOf = (stateRows as { as_of: string }[])[0]?.as_of ?? null;

      const firstSeen = new Map<string, number>();
      for (const x of fresh) {
        const had = firstSeen.get(x.e.personId);
        if (had === undefined || x.ms < had) firstSeen.set(x.e.personId, x.ms);
      }
      const persons = new Map<string, PersonState>();
      for (const p of locked as PersonState[]) {
        // A late event can move a known person's first sighting earlier.
        const first = firstSeen.get(p.person_id);
        if (first !== undefined && first < p.first_seen_ms) {
          p.first_seen_at = iso(first);
          p.dirty = true;
        }
        persons.set(p.person_id, p);
      }
      // Created above, first seen at their first new event: the walk starts from the defaults.
      // One with a draft and only new events was created as the walk will leave it.
      const complete = new Set<string>();
      if (createdPeople.length > 0) {
        const replayed = new Set(timed.filter((x) => x.e.messageId !== null && !isNew.has(x.e.messageId)).map((x) => x.e.personId));
        for (const id of createdPeople) {
          const first = firstSeen.get(id)!;
          persons.set(id, newPerson(id, first, at(first)));
          if (drafts.has(id) && !replayed.has(id)) complete.add(id);
        }
      }

      // 2. Walk the request in order: resolve each event's company, keep traits.
      const companyUpdates: CompanyUpdates = new Map();
      const activity: { x: Timed; companyKey: string; key: boolean }[] = [];
      for (const x of fresh) {
        const { e } = x;
        const p = persons.get(e.personId)!;
        applyToPerson(p, x);
        applyToCompany(companyUpdates, x);
        if (isActivity(e)) {
          // The event's own company, else the person's as last set (this event's group key included).
          const companyKey = e.companyKey ?? p.company_key ?? UNGROUPED_KEY;
          activity.push({ x, companyKey, key: e.type === 'track' && opts.keyActions.has(e.name ?? '') });
        }
      }

      // 3. Counters per (company, person, day) and per (company, person).
      const cpd = new Map<string, { c: string; p: string; d: string } & Counts>();
      const cp = new Map<string, { c: string; p: string; first: number; last: number } & Counts>();
      const bump = (c: string, p: string, d: string, n: Partial<Counts>, at?: number) => {
        const k1 = `${c}\u0000${p}\u0000${d}`;
        let a = cpd.get(k1);
        if (!a) cpd.set(k1, (a = { c, p, d, events: 0, keyActions: 0, sessions: 0 }));
        a.events += n.events ?? 0;
        a.keyActions += n.keyActions ?? 0;
        a.sessions += n.sessions ?? 0;
        const k2 = `${c}\u0000${p}`;
        let b = cp.get(k2);
        if (!b) cp.set(k2, (b = { c, p, first: Infinity, last: -Infinity, events: 0, keyActions: 0, sessions: 0 }));
        b.events += n.events ?? 0;
        b.keyActions += n.keyActions ?? 0;
        b.sessions += n.sessions ?? 0;
        if (at !== undefined) {
          if (at < b.first) b.first = at;
          if (at > b.last) b.last = at;
        }
      };
      for (const a of activity) bump(a.companyKey, a.x.e.personId, a.x.day, { events: 1, keyActions: a.key ? 1 : 0 }, a.x.ms);
      const sessionWrites = countSessions(activity, gapRows as SessionRow[], sessionIdRows as { p: string; k: string }[], bump, at);

      // 4. Every write (group 2), each statement in key order so concurrent requests never deadlock.
      const byKey = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => byText(a, b)).map(([, v]) => v);
      const cpdRows = byKey(cpd);
      const cpRows = byKey(cp).filter((r) => r.first !== Infinity || r.events !== 0 || r.sessions !== 0);
      const dirty = [...persons.values()].filter((p) => p.dirty && !complete.has(p.person_id));
      const group2: (SQL | null)[] = [
        ...sessionWrites,
        rollups(cpdRows, cpRows, eventRollupRows(activity), asOf, at),
        dirty.length === 0
          ? null
          : sql`update people set company_key = x.c, company_at = x.ca,
                  name = case when x.t is null then people.name else x.n end,
                  email = case when x.t is null then people.email else x.e end,
                  traits = coalesce(x.t, people.traits),
                  trait_keys = case when x.t is null then people.trait_keys else x.k end,
                  traits_at = case when x.t is null then people.traits_at else x.ta end,
                  last_active_at = x.la, first_seen_at = x.fs
                from ${recordset(
                  // Traits (and the name, email and time that go with them) travel only when this request changed them.
                  dirty.map((p) =>
                    p.traitsChanged
                      ? { p: p.person_id, c: p.company_key, ca: p.company_at, n: p.name, e: p.email, t: p.traits, k: p.trait_keys, ta: p.traits_at, la: p.last_active_at, fs: p.first_seen_at }
                      : { p: p.person_id, c: p.company_key, ca: p.company_at, la: p.last_active_at, fs: p.first_seen_at },
                  ),
                  'x',
                  'p text, c text, ca timestamptz, n text, e text, t jsonb, k jsonb, ta timestamptz, la timestamptz, fs timestamptz',
                )}
                where people.person_id = x.p`,
      ];

      // Companies: activity span, and name/traits where this request carries newer ones.
      const span = new Map<string, { first: number; last: number }>();
      for (const r of cp.values()) {
        if (r.c === UNGROUPED_KEY || r.first === Infinity) continue;
        const x = span.get(r.c);
        if (!x) span.set(r.c, { first: r.first, last: r.last });
        else {
          if (r.first < x.first) x.first = r.first;
          if (r.last > x.last) x.last = r.last;
        }
      }
      const companyRows = new Map<string, CompanyRow>();
      for (const [c, x] of span) companyRows.set(c, { c, f: at(x.first), l: at(x.last), n: null, t: null, k: null, a: null });
      for (const [c, u] of companyUpdates) {
        const row = companyRows.get(c) ?? { c, f: null, l: null, n: null, t: null, k: null, a: null };
        row.n = u.name;
        row.t = u.traits;
        row.k = u.order;
        row.a = at(u.at);
        companyRows.set(c, row);
      }
      // A company named by an event (context.groupId) exists even before any trait arrives.
      for (const p of persons.values()) {
        if (p.company_key !== null && p.company_key !== UNGROUPED_KEY && !companyRows.has(p.company_key) && p.dirty) {
          companyRows.set(p.company_key, { c: p.company_key, f: null, l: null, n: null, t: null, k: null, a: null });
        }
      }
      const companiesSql = companyRows.size === 0 ? null : companiesUpsert(byKey(companyRows));

      const last = await run.last([...group2, companiesSql]);
      return { result: { stored: fresh.length, duplicates }, ...last };
    });
    // The last group went out with COMMIT right behind it (statements.ts): stored only if it succeeded too.
    await written;
    return result;
  });
}

/** A request's (or a history slice's source group's) newest name and traits per company, merged as mergeTraits merges. */
export type CompanyUpdates = Map<string, { name: string | null; traits: Record<string, unknown>; order: string[]; at: number }>;

/**
 * What one event does to its company's name and traits within a request: merged with the
 * request's earlier calls by event time, within MERGED_TRAITS (mergeTraits). The result is
 * merged into the stored row by companiesUpsert.
 */
export function applyToCompany(updates: CompanyUpdates, x: Timed): void {
  const { e, ms } = x;
  if (e.companyKey === null || (e.companyName === null && e.companyTraits === null)) return;
  const prev = updates.get(e.companyKey);
  const call = { traits: e.companyTraits ?? {}, order: null };
  if (!prev || ms >= prev.at) {
    const merged = mergeTraits(prev ?? { traits: {}, order: [] }, call);
    updates.set(e.companyKey, { name: e.companyName ?? prev?.name ?? null, traits: merged.traits, order: merged.order, at: ms });
  } else {
    const merged = mergeTraits(call, prev);
    prev.traits = merged.traits;
    prev.order = merged.order;
    prev.name = prev.name ?? e.companyName;
  }
}

/** A company row to upsert: activity span (f, l), and name, traits, their keys and time (n, t, k, a) when changed. */
export interface CompanyRow {
  c: string;
  f: string | null;
  l: string | null;
  n: string | null;
  t: Record<string, unknown> | null;
  k: string[] | null;
  a: string | null;
}

/**
 * Company rows (in key order) merged into the stored ones: the activity span widens; name
 * and traits follow the newer call, traits merged within MERGED_TRAITS in SQL (no read, no
 * lock: rows many requests share are only added to).
 */
export function companiesUpsert(rows: readonly CompanyRow[]): SQL {
  return sql`insert into companies as co (company_key, name, traits, trait_keys, traits_at, first_seen_at, last_seen_at)
    select c, n, coalesce(t, '{}'::jsonb), coalesce(k, '[]'::jsonb), a, f, l from ${recordset(
      rows,
      'x',
      'c text, f timestamptz, l timestamptz, n text, t jsonb, k jsonb, a timestamptz',
    )} order by c
    on conflict (company_key) do update set
      first_seen_at = least(co.first_seen_at, excluded.first_seen_at),
      last_seen_at = greatest(co.last_seen_at, excluded.last_seen_at),
      name = case when excluded.traits_at is null then co.name
                  when co.traits_at is null or excluded.traits_at >= co.traits_at then coalesce(excluded.name, co.name)
                  else coalesce(co.name, excluded.name) end,
      -- Merged within MERGED_TRAITS, the newer call's keys winning (a subquery only for rows with traits).
      traits = case when excluded.traits_at is null then co.traits
                    when co.traits_at is null or excluded.traits_at >= co.traits_at then ${boundedTraitsSql(COMPANY, EXCLUDED, 'traits')}
                    else ${boundedTraitsSql(EXCLUDED, COMPANY, 'traits')} end,
      trait_keys = case when excluded.traits_at is null then co.trait_keys
                        when co.traits_at is null or excluded.traits_at >= co.traits_at then ${boundedTraitsSql(COMPANY, EXCLUDED, 'keys')}
                        else ${boundedTraitsSql(EXCLUDED, COMPANY, 'keys')} end,
      traits_at = greatest(co.traits_at, excluded.traits_at)`;
}

const COMPANY = { traits: sql`co.traits`, keys: sql`co.trait_keys` };
const EXCLUDED = { traits: sql`excluded.traits`, keys: sql`excluded.trait_keys` };

/**
 * mergeTraits (segment.ts) in SQL, for company traits merged in the upsert with no read and
 * no lock: entries newest first (`newer`'s, then `older`'s others, each by its age order in
 * trait_keys; keys it does not name count as oldest), kept while the count and the bytes
 * (each key, its value as jsonb text, 4 more) stay within MERGED_TRAITS. Both running totals
 * only grow, so what is kept is the newest run: the first entry that does not fit ends it.
 * `out`: the merged traits, or their keys oldest first.
 */
function boundedTraitsSql(older: { traits: SQL; keys: SQL }, newer: { traits: SQL; keys: SQL }, out: 'traits' | 'keys'): SQL {
  return sql`(select ${out === 'traits' ? sql`coalesce(jsonb_object_agg(m.k, m.v), '{}'::jsonb)` : sql`coalesce(jsonb_agg(m.k order by m.g, m.pos, m.k), '[]'::jsonb)`}
    from (
      select e.k, e.v, e.g, e.pos, row_number() over w as n, sum(octet_length(e.k) + octet_length(e.v::text) + 4) over w as b
      from (
        select j.key as k, j.value as v, s.g, coalesce(o.n, 0) as pos
        from (values (0, ${older.traits}, ${older.keys}), (1, ${newer.traits}, ${newer.keys})) s(g, t, ks)
        cross join lateral jsonb_each(s.t) j
        left join lateral (
          select o.n from jsonb_array_elements_text(coalesce(s.ks, '[]'::jsonb)) with ordinality o(key, n) where o.key = j.key limit 1
        ) o on true
        where s.g = 1 or not (${newer.traits} ? j.key)
      ) e
      window w as (order by e.g desc, e.pos desc, e.k desc rows between unbounded preceding and current row)
    ) m where m.n <= ${MERGED_TRAITS.keys}::int and m.b <= ${MERGED_TRAITS.bytes}::int)`;
}

export type CpdRow = { c: string; p: string; d: string } & Counts;
export type CpRow = { c: string; p: string; first: number; last: number } & Counts;

/**
 * One statement for the rollups that follow from the counters: company_person_days,
 * company_days (its people: the person-days this statement creates), company_people,
 * and the summary (from the days, and from where a person's last_seen_at moved), so
 * that nothing between them waits for a round trip. Rows in key order in each table.
 */
export function rollups(cpdRows: CpdRow[], cpRows: CpRow[], events: EventRollupRows, asOf: string | null, at: (ms: number) => string): SQL | null {
  if (cpdRows.length === 0 && cpRows.length === 0) return null;
  return sql`with pdx as (select * from ${recordset(
      cpdRows.map((r) => ({ c: r.c, p: r.p, d: r.d, e: r.events, k: r.keyActions, s: r.sessions })),
      'pdx',
      'c text, p text, d date, e int, k int, s int',
    )}),
    pd as (
      insert into company_person_days (company_key, person_id, day, events, key_actions, sessions)
      select c, p, d, e, k, s from pdx order by c, p, d
      on conflict (company_key, person_id, day) do update set
        events = company_person_days.events + excluded.events,
        key_actions = company_person_days.key_actions + excluded.key_actions,
        sessions = company_person_days.sessions + excluded.sessions
      returning company_key, day, (xmax = 0) as inserted
    ),
    -- A new row is a new person-day.
    born as (select company_key as c, day as d, count(*)::int as n from pd where inserted group by company_key, day),
    sums as (select c, d, sum(e)::int as e, sum(k)::int as k, sum(s)::int as s from pdx group by c, d),
    days as (select sums.*, coalesce(born.n, 0) as n from sums left join born on born.c = sums.c and born.d = sums.d),
    cd as (
      insert into company_days (company_key, day, events, key_actions, sessions, people)
      select c, d, e, k, s, n from days order by c, d
      on conflict (company_key, day) do update set
        events = company_days.events + excluded.events,
        key_actions = company_days.key_actions + excluded.key_actions,
        sessions = company_days.sessions + excluded.sessions,
        people = company_days.people + excluded.people
    ),
    -- A row with no event in this request (only a session count moved) keeps its seen times: +/-infinity
    -- are neutral in least/greatest. Such a row always exists already (its session was counted there).
    cpx as (select * from ${recordset(
      cpRows.map((r) => ({
        c: r.c,
        p: r.p,
        f: r.first === Infinity ? null : at(r.first),
        l: r.last === -Infinity ? null : at(r.last),
        e: r.events,
        k: r.keyActions,
        s: r.sessions,
      })),
      'cpx',
      'c text, p text, f timestamptz, l timestamptz, e int, k int, s int',
    )}),
    -- The values the upsert replaces (every part of a statement sees the same snapshot; the person
    -- is locked, so no other transaction changes them), read once, by key: LATERAL kept apart by
    -- OFFSET 0 is one primary-key lookup per row, never a scan.
    old as materialized (
      select cpx.c, cpx.p, cp.last_seen_at from cpx
      cross join lateral (
        select last_seen_at from company_people cp where cp.company_key = cpx.c and cp.person_id = cpx.p offset 0
      ) cp
    ),
    up as (
      insert into company_people (company_key, person_id, first_seen_at, last_seen_at, events, key_actions, sessions)
      select c, p, coalesce(f, 'infinity'), coalesce(l, '-infinity'), e, k, s from cpx order by c, p
      on conflict (company_key, person_id) do update set
        first_seen_at = least(company_people.first_seen_at, excluded.first_seen_at),
        last_seen_at = greatest(company_people.last_seen_at, excluded.last_seen_at),
        events = company_people.events + excluded.events,
        key_actions = company_people.key_actions + excluded.key_actions,
        sessions = company_people.sessions + excluded.sessions
      returning company_key, person_id, last_seen_at
    ),
    -- Where a person's last_seen_at at a company moved: the summary's distinct-people counts follow it.
    moved as (
      select up.company_key as c, old.last_seen_at as o, up.last_seen_at as nw
      from up left join old on old.c = up.company_key and old.p = up.person_id
      where old.last_seen_at is distinct from up.last_seen_at
    )${
      // The summary: increments relative to the day A read in group 1 (its row share-locked to commit).
      asOf === null ? sql`` : sql`, summary as (${summaryAddSql(asOf, 'days', 'moved')})`
    }${events.days.length === 0 ? sql`` : sql`, ${eventDaysSql(events)}`}
    select 1`;
}

/**
 * The part of the rollups statement that writes company_event_days: one row per company-day, its
 * names and counts in arrays, merged into the day's row on conflict. Each name a company already
 * holds (company_event_names, one row per company, read by key) counts under itself; a company
 * sending names it does not hold takes the new ones, in the order this write first saw them,
 * while it holds fewer than EVENT_NAMES_PER_COMPANY; the rest count under OTHER_EVENTS. The names
 * grow in an upsert, in key order, that computes the new list from the row as it stands under its
 * lock: concurrent requests never pass the bound, and the counts map names through the list the
 * upsert returned.
 */
function eventDaysSql(events: EventRollupRows): SQL {
  const bound = sql`${EVENT_NAMES_PER_COMPANY}::int`;
  // The names of `sent` that `held` lacks, in order, as many as the bound leaves room for.
  const admit = (held: string, sent: string) =>
    sql`coalesce((select array_agg(f.s order by f.i) from (
          select u.s, u.i, row_number() over (order by u.i) as r from unnest(${sql.raw(sent)}) with ordinality as u(s, i) where u.s <> all(${sql.raw(held)})
        ) f where f.r <= ${bound} - cardinality(${sql.raw(held)})), '{}')`;
  // A day's names, those the company does not hold counted under OTHER_EVENTS (a day's names
  // are distinct already: folding is needed only where one is not held, read lazily by CASE).
  const folded = sql`(select case when u.n = any(kept.names) then u.n else ${OTHER_EVENTS}::text end as e, sum(u.k)::int as k
          from unnest(evd.n, evd.k) as u(n, k) group by 1) f`;
  return sql`evn as (select * from ${recordset(events.names, 'evn', 'c text, n text[]')}),
    evd as (select * from ${recordset(events.days, 'evd', 'c text, d date, n text[], k int[]')}),
    held as materialized (
      select evn.c, evn.n as sent, x.names from evn
      left join lateral (select names from company_event_names x where x.company_key = evn.c offset 0) x on true
    ),
    grown as (
      insert into company_event_names as t (company_key, names)
      select c, sent from held
      where names is null or (not (sent <@ names) and cardinality(names) < ${bound})
      order by c
      on conflict (company_key) do update set names = t.names || ${admit('t.names', 'excluded.names')}
      returning t.company_key as c, t.names
    ),
    kept as (
      select c, names from grown
      union all
      select c, names from held where names is not null and (sent <@ names or cardinality(names) >= ${bound})
    ),
    ev as (
      insert into company_event_days as t (company_key, day, events, counts)
      select evd.c, evd.d,
        case when evd.n <@ kept.names then evd.n else (select array_agg(f.e order by f.e) from ${folded}) end,
        case when evd.n <@ kept.names then evd.k else (select array_agg(f.k order by f.e) from ${folded}) end
      from evd join kept on kept.c = evd.c
      order by evd.c, evd.d
      on conflict (company_key, day) do update set (events, counts) = (
        -- One aggregate node: both arrays take the rows in the same order.
        select array_agg(g.e), array_agg(g.k) from (
          select u.e, sum(u.k)::int as k from unnest(t.events || excluded.events, t.counts || excluded.counts) as u(e, k) group by u.e
        ) g
      )
    )`;
}

