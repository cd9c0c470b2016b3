/**
 * Sessions, counted exactly by both write paths (store.ts, request by request; history-store.ts,
 * a slice at a time): a sent session id counts once per person; otherwise a person's events for
 * one company with no gap over SESSION_GAP_MS form one session of that company, kept in
 * person_sessions as intervals that are merged exactly when events arrive late or out of order.
 * countSessions works from the sessions its caller read after locking the people (group 1) and
 * returns the writes for group 2; every count it moves goes through the caller's `bump`.
 */
import { sql, type SQL } from 'drizzle-orm';
import { recordset } from '../db/sqlutil.js';

export const SESSION_GAP_MS = 30 * 60 * 1000;

export interface Interval {
  start: number;
  end: number;
  companyKey: string;
  day: string;
  old: boolean;
  /** The stored session_key of an old interval. */
  key?: string;
}

/**
 * The key of a new gap session. Sessions are per person and company, so the company is in
 * the key (two companies' sessions of one person may start at the same instant). Rows
 * written before sessions were per company are keyed `gap:<start ms>`; they keep their key.
 */
export const gapKey = (start: number, companyKey: string) => `gap:${start}:${companyKey}`;

/** A person_sessions row as group 1 reads it and as the writes carry it. */
export type SessionRow = { p: string; k: string; s: string; e: string; c: string; d: string };

/** One activity event as countSessions reads it; `g`, the source group of an import slice (absent live: one group). */
export interface SessionEvent {
  x: { e: { personId: string; sessionId: string | null }; iso: string; ms: number; day: string; g?: number };
  companyKey: string;
}

/** Adds (or, with -1, takes back) a session on a company, person and day. */
export type SessionBump = (c: string, p: string, d: string, n: { sessions: number }) => void;

const SEP = '\u0000';
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byPersonKey = (a: { p: string; k: string }, b: { p: string; k: string }) => byText(a.p, b.p) || byText(a.k, b.k);

/**
 * Count the sessions of `activity` against those stored: sent ids counted once per person (in
 * the first source group that carries them, at its earliest event; live, a request is one
 * group), gap sessions merged with the stored intervals within SESSION_GAP_MS of the new events.
 * Returns the session writes, each in key order.
 */
export function countSessions(
  activity: readonly SessionEvent[],
  existing: readonly SessionRow[],
  storedSessionIds: readonly { p: string; k: string }[],
  bump: SessionBump,
  at: (ms: number) => string,
): SQL[] {
  const writes: SQL[] = [];
  // Sent session ids: one session per person and id, counted where it was first seen.
  const byId = new Map<string, { p: string; k: string; t: string; c: string; d: string; g: number }>();
  // Gap sessions are per person and company: keyed person NUL company.
  const gapTimes = new Map<string, { p: string; c: string; items: { ms: number; d: string }[] }>();
  // A person's last list: found by person alone while the company stays the same (no key built).
  const lastList = new Map<string, { p: string; c: string; items: { ms: number; d: string }[] }>();
  for (const { x, companyKey } of activity) {
    const { e } = x;
    if (e.sessionId !== null) {
      const k = `id:${e.sessionId}`;
      const key = `${e.personId}${SEP}${k}`;
      const prev = byId.get(key);
      const g = x.g ?? 0;
      // The first group carrying the id decides; inside it, its earliest event (the first of equal times).
      if (!prev || (prev.g === g && x.iso < prev.t)) byId.set(key, { p: e.personId, k, t: x.iso, c: companyKey, d: x.day, g });
    } else {
      let list = lastList.get(e.personId);
      if (list === undefined || list.c !== companyKey) {
        const pc = `${e.personId}${SEP}${companyKey}`;
        list = gapTimes.get(pc);
        if (!list) gapTimes.set(pc, (list = { p: e.personId, c: companyKey, items: [] }));
        lastList.set(e.personId, list);
      }
      list.items.push({ ms: x.ms, d: x.day });
    }
  }
  if (byId.size > 0) {
    // Read after the person's lock: an id not stored then is stored by this transaction only.
    const stored = new Set(storedSessionIds.map((r) => `${r.p}${SEP}${r.k}`));
    const created = [...byId].filter(([key]) => !stored.has(key)).map(([, v]) => ({ p: v.p, k: v.k, t: v.t, c: v.c, d: v.d }));
    created.sort(byPersonKey);
    for (const r of created) bump(r.c, r.p, r.d, { sessions: 1 });
    if (created.length > 0) {
      writes.push(
        sql`insert into person_sessions (person_id, session_key, started_at, ended_at, company_key, day)
            select p, k, t, t, c, d from ${recordset(created, 'x', 'p text, k text, t timestamptz, c text, d date')} order by p, k
            on conflict (person_id, session_key) do nothing`,
      );
    }
  }
  if (gapTimes.size === 0) return writes;

  // Gap sessions: each person's stored intervals near the new events, merged; write the difference.
  const oldByPersonCompany = new Map<string, Interval[]>();
  for (const r of existing) {
    const pc = `${r.p}${SEP}${r.c}`;
    let list = oldByPersonCompany.get(pc);
    if (!list) oldByPersonCompany.set(pc, (list = []));
    list.push({ start: Date.parse(r.s), end: Date.parse(r.e), companyKey: r.c, day: r.d, old: true, key: r.k });
  }
  const upserts: SessionRow[] = [];
  const deletes: { p: string; k: string }[] = [];
  for (const [pc, { p, c, items }] of gapTimes) {
    // Group 1 read around all the events; a replayed one can widen that. Merge exactly the
    // intervals within SESSION_GAP_MS of this person's new events.
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of items) {
      if (x.ms < lo) lo = x.ms;
      if (x.ms > hi) hi = x.ms;
    }
    const old = (oldByPersonCompany.get(pc) ?? []).filter((i) => i.end >= lo - SESSION_GAP_MS && i.start <= hi + SESSION_GAP_MS);
    const merged = mergeIntervals([...old, ...items.map((x) => ({ start: x.ms, end: x.ms, companyKey: c, day: x.d, old: false }))]);
    const oldStarts = new Map(old.map((i) => [i.start, i]));
    const keptStarts = new Set<number>();
    for (const m of merged) {
      const before = oldStarts.get(m.start);
      if (before) {
        keptStarts.add(m.start);
        if (before.end !== m.end) upserts.push({ p, k: before.key!, s: at(m.start), e: at(m.end), c: before.companyKey, d: before.day });
      } else {
        upserts.push({ p, k: gapKey(m.start, m.companyKey), s: at(m.start), e: at(m.end), c: m.companyKey, d: m.day });
        bump(m.companyKey, p, m.day, { sessions: 1 });
      }
    }
    for (const o of old) {
      if (keptStarts.has(o.start)) continue;
      deletes.push({ p, k: o.key! });
      bump(o.companyKey, p, o.day, { sessions: -1 });
    }
  }
  if (deletes.length > 0) {
    deletes.sort(byPersonKey);
    writes.push(
      sql`delete from person_sessions s using ${recordset(deletes, 'x', 'p text, k text')}
          where s.person_id = x.p and s.session_key = x.k`,
    );
  }
  if (upserts.length > 0) {
    upserts.sort(byPersonKey);
    writes.push(
      sql`insert into person_sessions (person_id, session_key, started_at, ended_at, company_key, day)
          select p, k, s, e, c, d from ${recordset(upserts, 'x', 's timestamptz, e timestamptz, p text, k text, c text, d date')} order by p, k
          on conflict (person_id, session_key) do update set ended_at = excluded.ended_at`,
    );
  }
  return writes;
}

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
