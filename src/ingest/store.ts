/**
 * Ingest a request's events into the per-company rollups, in one transaction:
 * all of a request is stored, or none of it. Set-based: a fixed number of
 * statements per request, whatever its size.
 *
 * Exactness:
 * - a messageId already stored for the same write key is skipped (retries count once);
 * - people rows are locked (in key order) for the transaction, so two requests about
 *   one person serialise, while two requests about one company only add to counters;
 * - sessions: a sent session id counts once per person; otherwise a person's events
 *   with no gap over SESSION_GAP_MS form one session, kept as intervals that are
 *   merged exactly when events arrive late or out of order.
 */
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import { recordset, withRetry } from '../db/sqlutil.js';
import { addToSummary, type LastSeenMove } from '../db/queries/summary.js';
import { ACTIVITY_TYPES, type SegmentEvent } from './segment.js';

export const SESSION_GAP_MS = 30 * 60 * 1000;
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

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

interface PersonState {
  person_id: string;
  company_key: string | null;
  company_at: string | null;
  name: string | null;
  email: string | null;
  traits: Record<string, unknown>;
  traits_at: string | null;
  first_seen_at: string;
  last_active_at: string | null;
}

interface Counts {
  events: number;
  keyActions: number;
  sessions: number;
}

interface Interval {
  start: number;
  end: number;
  companyKey: string;
  day: string;
  old: boolean;
}

export async function ingestEvents(db: Db, input: SegmentEvent[], opts: IngestOptions): Promise<IngestResult> {
  // A message id repeated inside one request counts once too.
  const seen = new Set<string>();
  const events = input.filter((e) => e.messageId === null || (!seen.has(e.messageId) && seen.add(e.messageId)));
  if (events.length === 0) return { stored: 0, duplicates: input.length };

  return withRetry(() =>
    db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      // 1. Dedup against earlier requests. A concurrent request with the same id waits on ours.
      let fresh = events;
      const ids = events.filter((e) => e.messageId !== null).map((e) => e.messageId as string);
      if (ids.length > 0) {
        const inserted = await rows<{ message_id: string }>(
          t,
          sql`insert into messages (source, message_id)
              select ${opts.source}, m from jsonb_array_elements_text(${JSON.stringify(ids.sort())}::jsonb) as m
              on conflict do nothing returning message_id`,
        );
        const isNew = new Set(inserted.map((r) => r.message_id));
        fresh = events.filter((e) => e.messageId === null || isNew.has(e.messageId));
      }
      const duplicates = input.length - fresh.length;
      if (fresh.length === 0) return { stored: 0, duplicates };

      // 2. Lock (creating where new) every person of the request, in key order.
      const firstSeen = new Map<string, number>();
      for (const e of fresh) {
        const ms = e.time.getTime();
        const had = firstSeen.get(e.personId);
        if (had === undefined || ms < had) firstSeen.set(e.personId, ms);
      }
      const personRows = [...firstSeen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, ms]) => ({ p, t: new Date(ms).toISOString() }));
      // New people are created; then every person of the request is locked, in key order
      // (a tuple lock, not a new row version: the one write per person comes at the end).
      const personSet = recordset(personRows, 'x', 'p text, t timestamptz');
      await t.execute(sql`insert into people (person_id, first_seen_at) select p, t from ${personSet} order by p on conflict (person_id) do nothing`);
      const locked = await rows<PersonState>(
        t,
        sql`select person_id, company_key, company_at::text, name, email, traits, traits_at::text, first_seen_at::text, last_active_at::text
            from people where person_id in (select p from ${personSet}) order by person_id for update`,
      );
      const persons = new Map(
        locked.map((p) => {
          // A late event can move a known person's first sighting earlier.
          const first = firstSeen.get(p.person_id)!;
          const earlier = first < Date.parse(p.first_seen_at);
          return [p.person_id, { ...p, first_seen_at: earlier ? new Date(first).toISOString() : p.first_seen_at, dirty: earlier }];
        }),
      );

      // 3. Walk the request in order: resolve each event's company, keep traits.
      const companyUpdates = new Map<string, { name: string | null; traits: Record<string, unknown>; at: number }>();
      const activity: { e: SegmentEvent; companyKey: string; day: string; key: boolean }[] = [];
      for (const e of fresh) {
        const p = persons.get(e.personId)!;
        const ms = e.time.getTime();
        if (e.companyKey !== null) {
          if (p.company_at === null || ms >= Date.parse(p.company_at)) {
            p.company_key = e.companyKey;
            p.company_at = e.time.toISOString();
            p.dirty = true;
          }
          if (e.companyName !== null || e.companyTraits !== null) {
            const prev = companyUpdates.get(e.companyKey);
            const traits = e.companyTraits ?? {};
            if (!prev || ms >= prev.at) {
              companyUpdates.set(e.companyKey, {
                name: e.companyName ?? prev?.name ?? null,
                traits: { ...(prev?.traits ?? {}), ...traits },
                at: ms,
              });
            } else {
              prev.traits = { ...traits, ...prev.traits };
              prev.name = prev.name ?? e.companyName;
            }
          }
        }
        if (e.personTraits !== null) {
          const newer = p.traits_at === null || ms >= Date.parse(p.traits_at);
          p.traits = newer ? { ...p.traits, ...e.personTraits } : { ...e.personTraits, ...p.traits };
          if (newer) p.traits_at = e.time.toISOString();
          p.name = typeof p.traits.name === 'string' && p.traits.name.trim() ? p.traits.name.trim() : null;
          p.email = typeof p.traits.email === 'string' && p.traits.email.trim() ? p.traits.email.trim() : null;
          p.dirty = true;
        }
        if (ACTIVITY_TYPES.has(e.type)) {
          const companyKey = e.companyKey ?? p.company_key ?? UNGROUPED_KEY;
          activity.push({ e, companyKey, day: dayOf(e.time), key: e.type === 'track' && opts.keyActions.has(e.name ?? '') });
          if (p.last_active_at === null || ms > Date.parse(p.last_active_at)) {
            p.last_active_at = e.time.toISOString();
            p.dirty = true;
          }
        }
      }

      // 4. Counters per (company, person, day), per (company, person) and per company.
      const cpd = new Map<string, { c: string; p: string; d: string } & Counts>();
      const cp = new Map<string, { c: string; p: string; first: number; last: number } & Counts>();
      const bump = (c: string, p: string, d: string, n: Partial<Counts>, at?: number) => {
        const k1 = `${c}\u0000${p}\u0000${d}`;
        const a = cpd.get(k1) ?? { c, p, d, events: 0, keyActions: 0, sessions: 0 };
        a.events += n.events ?? 0;
        a.keyActions += n.keyActions ?? 0;
        a.sessions += n.sessions ?? 0;
        cpd.set(k1, a);
        const k2 = `${c}\u0000${p}`;
        const b = cp.get(k2) ?? { c, p, first: Infinity, last: -Infinity, events: 0, keyActions: 0, sessions: 0 };
        b.events += n.events ?? 0;
        b.keyActions += n.keyActions ?? 0;
        b.sessions += n.sessions ?? 0;
        if (at !== undefined) {
          b.first = Math.min(b.first, at);
          b.last = Math.max(b.last, at);
        }
        cp.set(k2, b);
      };
      for (const a of activity) bump(a.companyKey, a.e.personId, a.day, { events: 1, keyActions: a.key ? 1 : 0 }, a.e.time.getTime());

      await countSessions(t, activity, bump);

      // 5. Write, each statement in key order so concurrent requests never deadlock.
      const byKey = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
      const cdPeople = new Map<string, number>();
      if (cpd.size > 0) {
        const created = await rows<{ c: string; d: string }>(
          t,
          sql`insert into company_person_days (company_key, person_id, day, events, key_actions, sessions)
              select c, p, d, e, k, s from ${recordset(
                byKey(cpd).map((r) => ({ c: r.c, p: r.p, d: r.d, e: r.events, k: r.keyActions, s: r.sessions })),
                'x',
                'c text, p text, d date, e int, k int, s int',
              )} order by c, p, d
              on conflict (company_key, person_id, day) do update set
                events = company_person_days.events + excluded.events,
                key_actions = company_person_days.key_actions + excluded.key_actions,
                sessions = company_person_days.sessions + excluded.sessions
              returning company_key as c, day::text as d, (xmax = 0) as inserted`,
        ).then((r) => r.filter((x) => (x as unknown as { inserted: boolean }).inserted));
        for (const r of created) cdPeople.set(`${r.c}\u0000${r.d}`, (cdPeople.get(`${r.c}\u0000${r.d}`) ?? 0) + 1);
      }
      const cd = new Map<string, { c: string; d: string; e: number; k: number; s: number; n: number }>();
      for (const r of cpd.values()) {
        const k = `${r.c}\u0000${r.d}`;
        const a = cd.get(k) ?? { c: r.c, d: r.d, e: 0, k: 0, s: 0, n: cdPeople.get(k) ?? 0 };
        a.e += r.events;
        a.k += r.keyActions;
        a.s += r.sessions;
        cd.set(k, a);
      }
      if (cd.size > 0) {
        await t.execute(
          sql`insert into company_days (company_key, day, events, key_actions, sessions, people)
              select c, d, e, k, s, n from ${recordset(byKey(cd), 'x', 'c text, d date, e int, k int, s int, n int')} order by c, d
              on conflict (company_key, day) do update set
                events = company_days.events + excluded.events,
                key_actions = company_days.key_actions + excluded.key_actions,
                sessions = company_days.sessions + excluded.sessions,
                people = company_days.people + excluded.people`,
        );
      }
      const cpRows = byKey(cp).filter((r) => r.first !== Infinity || r.events !== 0 || r.sessions !== 0);
      // Where a person's last_seen_at at a company moved: the summary's distinct-people counts follow it.
      let moves: LastSeenMove[] = [];
      if (cpRows.length > 0) {
        // A row with no event in this request (only a session count moved) keeps its seen times: +/-infinity
        // are neutral in least/greatest. Such a row always exists already (its session was counted there).
        // The person is locked (step 2), so `old` is the value this statement replaces.
        const moved = await rows<{ c: string; o: number | null; n: number }>(
          t,
          sql`with x as (select * from ${recordset(
                cpRows.map((r) => ({
                  c: r.c,
                  p: r.p,
                  f: r.first === Infinity ? null : new Date(r.first).toISOString(),
                  l: r.last === -Infinity ? null : new Date(r.last).toISOString(),
                  e: r.events,
                  k: r.keyActions,
                  s: r.sessions,
                })),
                'x',
                'c text, p text, f timestamptz, l timestamptz, e int, k int, s int',
              )}),
              old as (
                select cp.company_key, cp.person_id, cp.last_seen_at from company_people cp join x on cp.company_key = x.c and cp.person_id = x.p
              ),
              up as (
                insert into company_people (company_key, person_id, first_seen_at, last_seen_at, events, key_actions, sessions)
                select c, p, coalesce(f, 'infinity'), coalesce(l, '-infinity'), e, k, s from x order by c, p
                on conflict (company_key, person_id) do update set
                  first_seen_at = least(company_people.first_seen_at, excluded.first_seen_at),
                  last_seen_at = greatest(company_people.last_seen_at, excluded.last_seen_at),
                  events = company_people.events + excluded.events,
                  key_actions = company_people.key_actions + excluded.key_actions,
                  sessions = company_people.sessions + excluded.sessions
                returning company_key, person_id, last_seen_at
              )
              select up.company_key as c, (extract(epoch from old.last_seen_at) * 1000)::float8 as o,
                     (extract(epoch from up.last_seen_at) * 1000)::float8 as n
              from up left join old on old.company_key = up.company_key and old.person_id = up.person_id
              where up.company_key <> '' and old.last_seen_at is distinct from up.last_seen_at`,
        );
        moves = moved.map((m) => ({ c: m.c, old: m.o === null ? null : Number(m.o), new: Number(m.n) }));
      }

      // Companies: activity span, and name/traits where this request carries newer ones.
      const companyRows = new Map<string, { c: string; f: string | null; l: string | null; n: string | null; t: Record<string, unknown> | null; a: string | null }>();
      for (const r of cp.values()) {
        if (r.c === UNGROUPED_KEY || r.first === Infinity) continue;
        const row = companyRows.get(r.c) ?? { c: r.c, f: null, l: null, n: null, t: null, a: null };
        const f = new Date(r.first).toISOString();
        const l = new Date(r.last).toISOString();
        if (row.f === null || f < row.f) row.f = f;
        if (row.l === null || l > row.l) row.l = l;
        companyRows.set(r.c, row);
      }
      for (const [c, u] of companyUpdates) {
        const row = companyRows.get(c) ?? { c, f: null, l: null, n: null, t: null, a: null };
        row.n = u.name;
        row.t = u.traits;
        row.a = new Date(u.at).toISOString();
        companyRows.set(c, row);
      }
      // A company named by an event (context.groupId) exists even before any trait arrives.
      for (const p of persons.values()) {
        if (p.company_key !== null && p.company_key !== UNGROUPED_KEY && !companyRows.has(p.company_key) && p.dirty) {
          companyRows.set(p.company_key, { c: p.company_key, f: null, l: null, n: null, t: null, a: null });
        }
      }
      if (companyRows.size > 0) {
        await t.execute(
          sql`insert into companies as co (company_key, name, traits, traits_at, first_seen_at, last_seen_at)
              select c, n, coalesce(t, '{}'::jsonb), a, f, l from ${recordset(
                byKey(companyRows),
                'x',
                'c text, f timestamptz, l timestamptz, n text, t jsonb, a timestamptz',
              )} order by c
              on conflict (company_key) do update set
                first_seen_at = least(co.first_seen_at, excluded.first_seen_at),
                last_seen_at = greatest(co.last_seen_at, excluded.last_seen_at),
                name = case when excluded.traits_at is null then co.name
                            when co.traits_at is null or excluded.traits_at >= co.traits_at then coalesce(excluded.name, co.name)
                            else coalesce(co.name, excluded.name) end,
                traits = case when excluded.traits_at is null then co.traits
                              when co.traits_at is null or excluded.traits_at >= co.traits_at then co.traits || excluded.traits
                              else excluded.traits || co.traits end,
                traits_at = greatest(co.traits_at, excluded.traits_at)`,
        );
      }

      const dirty = [...persons.values()].filter((p) => p.dirty);
      if (dirty.length > 0) {
        await t.execute(
          sql`update people set company_key = x.c, company_at = x.ca, name = x.n, email = x.e, traits = x.t,
                traits_at = x.ta, last_active_at = x.la, first_seen_at = x.fs
              from ${recordset(
                dirty.map((p) => ({ p: p.person_id, c: p.company_key, ca: p.company_at, n: p.name, e: p.email, t: p.traits, ta: p.traits_at, la: p.last_active_at, fs: p.first_seen_at })),
                'x',
                'p text, c text, ca timestamptz, n text, e text, t jsonb, ta timestamptz, la timestamptz, fs timestamptz',
              )}
              where people.person_id = x.p`,
        );
      }
      // Last: the summary (its state row stays share-locked until commit, so keep that short).
      await addToSummary(t, cd.values(), moves);
      return { stored: fresh.length, duplicates };
    }),
  );
}

type Bump = (c: string, p: string, d: string, n: Partial<Counts>, at?: number) => void;

/** Count sessions exactly, including late and out-of-order events (see the file's header). */
async function countSessions(
  t: Db,
  activity: { e: SegmentEvent; companyKey: string; day: string }[],
  bump: Bump,
): Promise<void> {
  // Sent session ids: one session per person and id, counted where it was first seen.
  const byId = new Map<string, { p: string; k: string; t: string; c: string; d: string }>();
  const gapTimes = new Map<string, { ms: number; c: string; d: string }[]>();
  for (const { e, companyKey, day } of activity) {
    if (e.sessionId !== null) {
      const k = `id:${e.sessionId}`;
      const key = `${e.personId}\u0000${k}`;
      const prev = byId.get(key);
      if (!prev || e.time.toISOString() < prev.t) byId.set(key, { p: e.personId, k, t: e.time.toISOString(), c: companyKey, d: day });
    } else {
      const list = gapTimes.get(e.personId) ?? [];
      list.push({ ms: e.time.getTime(), c: companyKey, d: day });
      gapTimes.set(e.personId, list);
    }
  }
  if (byId.size > 0) {
    const created = await rows<{ p: string; c: string; d: string }>(
      t,
      sql`insert into person_sessions (person_id, session_key, started_at, ended_at, company_key, day)
          select p, k, t, t, c, d from ${recordset([...byId.values()], 'x', 'p text, k text, t timestamptz, c text, d date')} order by p, k
          on conflict (person_id, session_key) do nothing
          returning person_id as p, company_key as c, day::text as d`,
    );
    for (const r of created) bump(r.c, r.p, r.d, { sessions: 1 });
  }
  if (gapTimes.size === 0) return;

  // Gap sessions: load each person's intervals near this request's events, merge, write the difference.
  const spans = [...gapTimes].map(([p, list]) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of list) {
      lo = Math.min(lo, x.ms);
      hi = Math.max(hi, x.ms);
    }
    return { p, lo: new Date(lo - SESSION_GAP_MS).toISOString(), hi: new Date(hi + SESSION_GAP_MS).toISOString() };
  });
  const existing = await rows<{ p: string; k: string; s: string; e: string; c: string; d: string }>(
    t,
    sql`select s.person_id as p, s.session_key as k, s.started_at::text as s, s.ended_at::text as e, s.company_key as c, s.day::text as d
        from ${recordset(spans, 'q', 'p text, lo timestamptz, hi timestamptz')}
        -- LATERAL: one index range scan per person on (person_id, ended_at), never a scan of every session.
        cross join lateral (
          select * from person_sessions s
          where s.person_id = q.p and s.ended_at >= q.lo and s.started_at <= q.hi and s.session_key like 'gap:%'
        ) s`,
  );
  const oldByPerson = new Map<string, Interval[]>();
  for (const r of existing) {
    const list = oldByPerson.get(r.p) ?? [];
    list.push({ start: Date.parse(r.s), end: Date.parse(r.e), companyKey: r.c, day: r.d, old: true });
    oldByPerson.set(r.p, list);
  }
  const upserts: { p: string; k: string; s: string; e: string; c: string; d: string }[] = [];
  const deletes: { p: string; k: string }[] = [];
  for (const [p, times] of gapTimes) {
    const old = oldByPerson.get(p) ?? [];
    const merged = mergeIntervals([...old, ...times.map((x) => ({ start: x.ms, end: x.ms, companyKey: x.c, day: x.d, old: false }))]);
    const oldStarts = new Map(old.map((i) => [i.start, i]));
    const keptStarts = new Set<number>();
    for (const m of merged) {
      const before = oldStarts.get(m.start);
      if (before && before.old) {
        keptStarts.add(m.start);
        if (before.end !== m.end) upserts.push({ p, k: `gap:${m.start}`, s: iso(m.start), e: iso(m.end), c: before.companyKey, d: before.day });
      } else {
        upserts.push({ p, k: `gap:${m.start}`, s: iso(m.start), e: iso(m.end), c: m.companyKey, d: m.day });
        bump(m.companyKey, p, m.day, { sessions: 1 });
      }
    }
    for (const o of old) {
      if (keptStarts.has(o.start)) continue;
      deletes.push({ p, k: `gap:${o.start}` });
      bump(o.companyKey, p, o.day, { sessions: -1 });
    }
  }
  if (deletes.length > 0) {
    await t.execute(
      sql`delete from person_sessions s using ${recordset(deletes, 'x', 'p text, k text')}
          where s.person_id = x.p and s.session_key = x.k`,
    );
  }
  if (upserts.length > 0) {
    await t.execute(
      sql`insert into person_sessions (person_id, session_key, started_at, ended_at, company_key, day)
          select p, k, s, e, c, d from ${recordset(upserts, 'x', 's timestamptz, e timestamptz, p text, k text, c text, d date')} order by p, k
          on conflict (person_id, session_key) do update set ended_at = excluded.ended_at`,
    );
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Merge points and intervals into sessions: sorted by start, an item that begins
 * no more than SESSION_GAP_MS after the current session's end joins it. A session
 * keeps the attribution (company, day) of its earliest item; an old interval wins a tie.
 */
export function mergeIntervals(items: Interval[]): Interval[] {
  const sorted = [...items].sort((a, b) => a.start - b.start || Number(b.old) - Number(a.old));
  const out: Interval[] = [];
  for (const it of sorted) {
    const cur = out[out.length - 1];
    if (cur && it.start - cur.end <= SESSION_GAP_MS) {
      cur.end = Math.max(cur.end, it.end);
    } else {
      out.push({ ...it });
    }
  }
  return out;
}
