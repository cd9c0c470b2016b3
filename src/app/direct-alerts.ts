/**
 * Direct alerts: when a company starts to fall, its owner and each watcher get one
 * DM, once per (person, company, fall), whatever the firings, restarts, processes
 * sharing the database, or Slack's 429 and 5xx answers. No scheduler here
 * (src/app/alert-schedule.ts fires this); the same claim as the weekly digest
 * (src/app/weekly-digest.ts), per DM instead of per channel and week.
 *
 * Step by step, for one firing:
 *  1. Falls: the falling companies (the digest's rule: trend down or down sharply,
 *     and used to be active) open a fall in company_falls (fall_no + 1) unless one is
 *     open; a company no longer falling closes its fall. Concurrent runs agree: the
 *     update only applies `where not falling`.
 *  2. Recipients: each falling company's owner (src/app/owners.ts) and watchers;
 *     one alert per (person, company, fall) not in alerts_sent yet. A new watcher of
 *     a company already falling has no row for its fall: they are told once.
 *  3. Claim, per person, in one transaction: lock the person's alert_recipients row
 *     (FOR UPDATE, so two runs never plan one person's DMs at once); take over this
 *     person's stale claims (a run that died, or gave up in doubt); plan the day's DMs
 *     under the cap (ALERT_DAILY_CAP a day; over it, the last one folds the rest);
 *     insert each DM's alert_messages row (person, day, slot) as 'claimed' and its
 *     alerts_sent rows. A claim held by a live run: this person is skipped.
 *  4. Deliver each DM: the DM channel from conversations.open (kept in
 *     alert_recipients); when the DM may have landed already (a taken-over claim, a
 *     5xx or network error) look in the DM's history (conversations.history,
 *     metadata `leadmaps_alert` with the day and slot) before posting; post with
 *     chat.postMessage tagged with that metadata; 429 waits Retry-After; a 5xx is
 *     retried after looking.
 *  5. Mark 'sent'. A refusal (missing_scope, user gone) releases the claim and its
 *     alerts (a later firing tries again); giving up in doubt leaves the claim stale,
 *     so the next run looks before sending.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import { DEFAULT_RANGE } from '../domain/command.js';
import { calendarDay, startOfDay } from '../domain/week.js';
import type { CompanyRow } from '../domain/types.js';
import type { Logger } from '../log.js';
import { alertMessage, foldedAlertMessage, type AlertItem, type AlertRole } from '../render/alert-message.js';
import type { CallOutcome, WebApi } from '../slack/webapi.js';
import { companyRows, defaultMetric, fellMostOf, quietRows } from './company-reads.js';
import { MAX_LOOKUPS_PER_ALERT_RUN, resolveOwners, watchersOf } from './owners.js';
import { fixFor, MAX_RATE_LIMIT_WAITS, RETRY_DELAYS_MS, STALE_CLAIM_MS } from './weekly-digest.js';
import { sleep } from './cron-job.js';

/** Message metadata event type that tags an alert DM. */
export const ALERT_EVENT_TYPE = 'leadmaps_alert';
/** Alert DMs a person gets in one day (DIGEST_TZ); over it, the last DM lists the rest. */
export const ALERT_DAILY_CAP = 5;
/** DM history read back looking for an earlier post (100 messages a page). */
export const ALERT_HISTORY_MAX_PAGES = 5;

export interface AlertDeps {
  db: Db;
  client: WebApi;
  tz: string;
  keyActions: readonly string[];
  ownerTrait: string;
  log: Logger;
  now?: Date;
  retryDelaysMs?: readonly number[];
  staleClaimMs?: number;
  signal?: AbortSignal;
  hooks?: {
    /** After a DM is posted, before it is marked (tests crash here). */
    afterPost?: (ts: string | null) => Promise<void> | void;
  };
}

export interface AlertRunResult {
  /** Companies falling now. */
  falling: number;
  /** DMs posted by this run (a folded DM counts once). */
  sent: number;
  /** DMs found already posted by an earlier run that had not marked them. */
  found: number;
  /** DMs that failed this firing (a later one tries again). */
  failed: number;
  /** People skipped because another run holds their claim. */
  elsewhere: number;
}

/** The day a DM counts against the cap: YYYY-MM-DD in DIGEST_TZ. */
export function alertDay(now: Date, tz: string): string {
  const d = calendarDay(now, tz);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

interface Pending {
  key: string;
  fallNo: number;
  role: AlertRole;
}

/**
 * The DMs for `pending` alerts when `used` of today's DMs are gone: one each while
 * they fit, else the last free DM folds the rest. Pure.
 */
export function planDms<T>(pending: T[], used: number, cap = ALERT_DAILY_CAP): T[][] {
  const free = Math.max(0, cap - used);
  if (free === 0 || pending.length === 0) return [];
  if (pending.length <= free) return pending.map((p) => [p]);
  return [...pending.slice(0, free - 1).map((p) => [p]), pending.slice(free - 1)];
}

/** Step 1: open and close falls; the open fall number of each falling company. */
export async function updateFalls(db: Db, falling: string[]): Promise<Map<string, number>> {
  const keys = JSON.stringify([...new Set(falling)].sort());
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(
      sql`insert into company_falls (company_key, fall_no, falling, changed_at)
          select k, 1, true, now() from jsonb_array_elements_text(${keys}::jsonb) as k
          order by k
          on conflict (company_key) do update set fall_no = company_falls.fall_no + 1, falling = true, changed_at = now()
            where not company_falls.falling`,
    );
    await t.execute(
      sql`update company_falls set falling = false, changed_at = now()
          where falling and company_key not in (select jsonb_array_elements_text(${keys}::jsonb))`,
    );
    const open = await rows<{ company_key: string; fall_no: number }>(
      t,
      sql`select company_key, fall_no from company_falls where falling and company_key in (select jsonb_array_elements_text(${keys}::jsonb))`,
    );
    return new Map(open.map((r) => [r.company_key, Number(r.fall_no)]));
  });
}

interface ClaimedDm {
  day: string;
  slot: number;
  alerts: Pending[];
  /** It may have landed already: look before posting. */
  mustLook: boolean;
}

type PersonClaim = { kind: 'claimed'; dmChannel: string | null; dms: ClaimedDm[] } | { kind: 'elsewhere' };

/** Step 3, for one person. */
export async function claimForPerson(db: Db, user: string, day: string, runId: string, pending: Pending[], staleMs = STALE_CLAIM_MS): Promise<PersonClaim> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(sql`insert into alert_recipients (user_id) values (${user}) on conflict do nothing`);
    const [me] = await rows<{ dm_channel: string | null }>(t, sql`select dm_channel from alert_recipients where user_id = ${user} for update`);
    const open = await rows<{ day: string; slot: number; run_id: string; may_have_posted: boolean; age_ms: number | string }>(
      t,
      sql`select day, slot, run_id, may_have_posted, (extract(epoch from (now() - claimed_at)) * 1000)::float8 as age_ms
          from alert_messages where user_id = ${user} and status = 'claimed' order by day, slot`,
    );
    const dms: ClaimedDm[] = [];
    for (const o of open) {
      if (o.run_id !== runId && Number(o.age_ms) < staleMs && !o.may_have_posted) return { kind: 'elsewhere' } as PersonClaim;
      await t.execute(sql`update alert_messages set run_id = ${runId}, claimed_at = now() where user_id = ${user} and day = ${o.day} and slot = ${o.slot}`);
      const alerts = await rows<{ company_key: string; fall_no: number }>(
        t,
        sql`select company_key, fall_no from alerts_sent where user_id = ${user} and day = ${o.day} and slot = ${o.slot} order by company_key`,
      );
      const roles = new Map(pending.map((p) => [p.key, p.role]));
      dms.push({ day: o.day, slot: Number(o.slot), alerts: alerts.map((a) => ({ key: a.company_key, fallNo: Number(a.fall_no), role: roles.get(a.company_key) ?? 'watcher' })), mustLook: true });
    }
    const done = await rows<{ company_key: string; fall_no: number }>(
      t,
      sql`select company_key, fall_no from alerts_sent where user_id = ${user}
          and company_key in (select jsonb_array_elements_text(${JSON.stringify(pending.map((p) => p.key))}::jsonb))`,
    );
    const sent = new Set(done.map((d) => `${d.company_key}\u0000${d.fall_no}`));
    const todo = pending.filter((p) => !sent.has(`${p.key}\u0000${p.fallNo}`));
    const [used] = await rows<{ n: number; last: number }>(
      t,
      sql`select count(*)::int as n, coalesce(max(slot), 0)::int as last from alert_messages where user_id = ${user} and day = ${day}`,
    );
    let slot = Number(used.last);
    for (const alerts of planDms(todo, Number(used.n))) {
      slot++;
      await t.execute(sql`insert into alert_messages (user_id, day, slot, status, run_id, claimed_at) values (${user}, ${day}, ${slot}, 'claimed', ${runId}, now())`);
      await t.execute(
        sql`insert into alerts_sent (user_id, company_key, fall_no, day, slot)
            select ${user}, a.key, a.fall_no, ${day}, ${slot}
            from jsonb_to_recordset(${JSON.stringify(alerts.map((a) => ({ key: a.key, fall_no: a.fallNo })))}::jsonb) as a(key text, fall_no int)`,
      );
      dms.push({ day, slot, alerts, mustLook: false });
    }
    return { kind: 'claimed', dmChannel: me?.dm_channel ?? null, dms } as PersonClaim;
  });
}

async function touch(db: Db, user: string, dm: ClaimedDm, runId: string): Promise<boolean> {
  const r = await rows(
    db,
    sql`update alert_messages set claimed_at = now()
        where user_id = ${user} and day = ${dm.day} and slot = ${dm.slot} and run_id = ${runId} and status = 'claimed' returning slot`,
  );
  return r.length > 0;
}

async function markSent(db: Db, user: string, dm: ClaimedDm, runId: string, ts: string | null): Promise<void> {
  await db.execute(
    sql`update alert_messages set status = 'sent', sent_at = now(), message_ts = ${ts}, may_have_posted = false
        where user_id = ${user} and day = ${dm.day} and slot = ${dm.slot} and run_id = ${runId}`,
  );
}

/** A refusal: the DM did not go; its alerts go back to pending for a later firing. */
async function release(db: Db, user: string, dm: ClaimedDm, runId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const gone = await rows(t, sql`delete from alert_messages where user_id = ${user} and day = ${dm.day} and slot = ${dm.slot} and run_id = ${runId} and status = 'claimed' returning slot`);
    if (gone.length > 0) await t.execute(sql`delete from alerts_sent where user_id = ${user} and day = ${dm.day} and slot = ${dm.slot}`);
  });
}

/** Gave up in doubt: leave the claim for the next run, which looks before posting. */
async function leaveInDoubt(db: Db, user: string, dm: ClaimedDm, runId: string): Promise<void> {
  await db.execute(
    sql`update alert_messages set may_have_posted = true where user_id = ${user} and day = ${dm.day} and slot = ${dm.slot} and run_id = ${runId} and status = 'claimed'`,
  );
}

type Delivery =
  | { kind: 'posted'; ts: string | null; channel: string }
  | { kind: 'found'; ts: string }
  | { kind: 'lost-claim' }
  /** In doubt, and the DM's history cannot be read (no im:history): never sent again, at most once. */
  | { kind: 'unconfirmed'; error: string; fix: string | null }
  | { kind: 'failed'; error: string; fix: string | null; inDoubt: boolean };

/** One run: every falling company's owner and watchers, each alerted once per fall. */
export async function runAlerts(deps: AlertDeps): Promise<AlertRunResult> {
  const now = deps.now ?? new Date();
  const runId = randomUUID();
  const day = alertDay(now, deps.tz);
  const { db, log } = deps;
  const ctx = { db, keyActions: deps.keyActions };
  const metric = defaultMetric(ctx);
  const all = await companyRows(ctx, { now, range: DEFAULT_RANGE, metric });
  const falling = quietRows(all);
  const byKey = new Map(all.map((r) => [r.key, r]));
  const falls = await updateFalls(db, falling.map((r) => r.key));
  const result: AlertRunResult = { falling: falling.length, sent: 0, found: 0, failed: 0, elsewhere: 0 };

  // Step 2: who is told about what.
  const keys = falling.map((r) => r.key);
  const [owners, watchers] = await Promise.all([resolveOwners({ db, client: deps.client, ownerTrait: deps.ownerTrait, maxLookups: MAX_LOOKUPS_PER_ALERT_RUN }, keys), watchersOf(db, keys)]);
  const perPerson = new Map<string, Pending[]>();
  const add = (user: string, p: Pending) => {
    const list = perPerson.get(user) ?? [];
    const same = list.find((x) => x.key === p.key);
    if (same) same.role = same.role === 'owner' || p.role === 'owner' ? 'owner' : 'watcher';
    else list.push(p);
    perPerson.set(user, list);
  };
  for (const row of falling) {
    const fallNo = falls.get(row.key);
    if (fallNo === undefined) continue;
    const owner = owners.get(row.key);
    if (owner?.kind === 'user') add(owner.userId, { key: row.key, fallNo, role: 'owner' });
    for (const w of watchers.get(row.key) ?? []) add(w, { key: row.key, fallNo, role: 'watcher' });
  }
  // Alerts already sent need no claim: one read leaves only the people with something to send
  // (the claim re-checks under its lock, so this is only a shortcut).
  const done = await rows<{ user_id: string; company_key: string; fall_no: number }>(
    db,
    sql`select s.user_id, s.company_key, s.fall_no from alerts_sent s
        join company_falls f on f.company_key = s.company_key and f.fall_no = s.fall_no and f.falling`,
  );
  const everyone = new Map(perPerson);
  const sentKey = new Set(done.map((d) => `${d.user_id}\u0000${d.company_key}\u0000${d.fall_no}`));
  for (const [user, list] of perPerson) {
    const left = list.filter((p) => !sentKey.has(`${user}\u0000${p.key}\u0000${p.fallNo}`));
    if (left.length === 0) perPerson.delete(user);
  }
  // People with a claim left by a run that died may have nothing new, but their DM must still go.
  const leftOver = await rows<{ user_id: string }>(db, sql`select distinct user_id from alert_messages where status = 'claimed'`);
  for (const l of leftOver) if (!perPerson.has(l.user_id)) perPerson.set(l.user_id, everyone.get(l.user_id) ?? []);

  // The events that fell most of every company someone is to hear about: one read for all of them.
  const told = new Set([...perPerson.values()].flatMap((list) => list.map((p) => p.key)));
  const fellMost = await fellMostOf(ctx, falling.filter((r) => told.has(r.key)), now);

  for (const [user, pending] of [...perPerson].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (deps.signal?.aborted) break;
    const claim = await claimForPerson(db, user, day, runId, pending, deps.staleClaimMs);
    if (claim.kind === 'elsewhere') {
      result.elsewhere++;
      log.info(`alerts: another run is sending ${user}'s alerts; nothing to do here`, { user });
      continue;
    }
    let channel = claim.dmChannel;
    for (const dm of claim.dms) {
      const items: AlertItem[] = dm.alerts.flatMap((a) => {
        const row: CompanyRow | undefined = byKey.get(a.key);
        return row ? [{ row, role: a.role, fellMost: fellMost.get(a.key) }] : [];
      });
      if (items.length === 0) {
        // The companies are gone: nothing to say; free the slot's claim as sent with no message.
        await markSent(db, user, dm, runId, null);
        continue;
      }
      const message = items.length === 1 && dm.alerts.length === 1 ? alertMessage(items[0], metric) : foldedAlertMessage(items, metric);
      let delivery: Delivery;
      try {
        delivery = await deliver(deps, { user, channel, dm, runId, message });
      } catch (error) {
        delivery = { kind: 'failed', error: error instanceof Error ? error.message : String(error), fix: null, inDoubt: dm.mustLook };
      }
      const where = { user, day: dm.day, slot: dm.slot, companies: dm.alerts.map((a) => a.key) };
      if (delivery.kind === 'lost-claim') {
        log.warn(`alerts: lost the claim on a DM to ${user} to another run; stopping this one`, where);
        continue;
      }
      if (delivery.kind === 'failed') {
        result.failed++;
        if (delivery.inDoubt) await leaveInDoubt(db, user, dm, runId).catch(() => {});
        else await release(db, user, dm, runId).catch(() => {});
        const fix = delivery.fix ? ` Fix: ${delivery.fix}.` : ' A later firing tries again.';
        log.error(`alerts: could not DM ${user}: ${delivery.error}.${fix}`, { ...where, error: delivery.error, ...(delivery.fix ? { fix: delivery.fix } : {}) });
        continue;
      }
      if (delivery.kind === 'unconfirmed') {
        await markSent(db, user, dm, runId, null);
        log.warn(`alerts: a DM to ${user} may or may not have arrived (an earlier try got a Slack error) and its DM cannot be read (${delivery.error}); it is not sent again.${delivery.fix ? ` Fix: ${delivery.fix}.` : ''}`, where);
        continue;
      }
      if (delivery.kind === 'found') {
        await markSent(db, user, dm, runId, delivery.ts);
        result.found++;
        log.warn(`alerts: a DM to ${user} was already there (ts ${delivery.ts}) though not marked; marked it, posted nothing`, where);
        continue;
      }
      if (delivery.channel !== channel) {
        channel = delivery.channel;
        await db.execute(sql`update alert_recipients set dm_channel = ${channel} where user_id = ${user}`);
      }
      await deps.hooks?.afterPost?.(delivery.ts);
      await markSent(db, user, dm, runId, delivery.ts);
      result.sent++;
      log.info(`alerts: sent ${user} ${dm.alerts.length === 1 ? 'an alert' : `${dm.alerts.length} alerts in one DM`}`, where);
    }
  }
  return result;
}

async function deliver(
  deps: AlertDeps,
  job: { user: string; channel: string | null; dm: ClaimedDm; runId: string; message: { text: string; blocks: unknown[] } },
): Promise<Delivery> {
  const { client, db, log } = deps;
  const delays = deps.retryDelaysMs ?? RETRY_DELAYS_MS;
  let retriesLeft = delays.length;
  let rateLimitWaits = 0;
  let mustLook = job.dm.mustLook;
  let channel = job.channel;
  let lastError = '';

  const after = async (out: Exclude<CallOutcome, { kind: 'ok' }>, what: string): Promise<Delivery | null> => {
    lastError = out.error;
    if (out.kind === 'rate-limited') {
      if (++rateLimitWaits > MAX_RATE_LIMIT_WAITS) return { kind: 'failed', error: `still rate-limited after ${MAX_RATE_LIMIT_WAITS} waits`, fix: null, inDoubt: mustLook };
      log.warn(`alerts: ${what} rate-limited; waiting ${out.retryAfterS} s as Slack asks`, { user: job.user });
      return (await sleep(out.retryAfterS * 1000, deps.signal)) ? null : { kind: 'failed', error: 'stopped while waiting', fix: null, inDoubt: mustLook };
    }
    if (out.kind === 'transient') {
      if (retriesLeft === 0) return { kind: 'failed', error: `${out.error} (after ${delays.length + 1} tries)`, fix: null, inDoubt: mustLook };
      const delay = delays[delays.length - retriesLeft--];
      log.warn(`alerts: ${what} failed (${out.error}); trying again in ${delay} ms`, { user: job.user });
      return (await sleep(delay, deps.signal)) ? null : { kind: 'failed', error: `stopped after ${out.error}`, fix: null, inDoubt: mustLook };
    }
    return { kind: 'failed', error: out.error, fix: dmFix(out.error, out.body.needed), inDoubt: mustLook };
  };

  for (;;) {
    if (deps.signal?.aborted) return { kind: 'failed', error: lastError ? `stopped after ${lastError}` : 'stopped', fix: null, inDoubt: mustLook };
    if (!(await touch(db, job.user, job.dm, job.runId))) return { kind: 'lost-claim' };
    if (!channel) {
      const opened = await client.postForm('conversations.open', { users: job.user });
      if (opened.kind !== 'ok') {
        const verdict = await after(opened, 'conversations.open');
        if (verdict) return verdict;
        continue;
      }
      const id = (opened.body.channel as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string' || id === '') return { kind: 'failed', error: 'conversations.open gave no channel', fix: null, inDoubt: mustLook };
      channel = id;
      await db.execute(sql`update alert_recipients set dm_channel = ${channel} where user_id = ${job.user}`);
    }
    if (mustLook) {
      const found = await findEarlierDm(client, channel, job.dm, deps.tz);
      if (found.kind === 'found') return { kind: 'found', ts: found.ts };
      if (found.kind === 'error') {
        if (found.out.kind === 'refused') return { kind: 'unconfirmed', error: found.out.error, fix: dmFix(found.out.error, found.out.body.needed) };
        const verdict = await after(found.out, 'conversations.history');
        if (verdict) return verdict;
        continue;
      }
      mustLook = false;
    }
    const out = await client.postJson('chat.postMessage', {
      channel,
      text: job.message.text,
      blocks: job.message.blocks,
      metadata: { event_type: ALERT_EVENT_TYPE, event_payload: { day: job.dm.day, slot: job.dm.slot, run_id: job.runId } },
      unfurl_links: false,
      unfurl_media: false,
    });
    if (out.kind === 'ok') return { kind: 'posted', ts: typeof out.body.ts === 'string' ? out.body.ts : null, channel };
    // A 5xx or a network error may hide a post that landed: look before the next try.
    if (out.kind === 'transient') mustLook = true;
    const verdict = await after(out, 'chat.postMessage');
    if (verdict) return verdict;
  }
}

/** What to do about a refusal of a DM call. */
export function dmFix(error: string, needed?: unknown): string | null {
  switch (error) {
    case 'missing_scope':
      return `add the bot scope${typeof needed === 'string' ? ` ${needed}` : 's im:write and im:history'} under OAuth & Permissions and reinstall the app (direct alerts need them)`;
    case 'user_not_found':
    case 'user_disabled':
    case 'cannot_dm_bot':
      return 'this owner or watcher cannot get DMs: set another owner with /groups owner NAME @person';
    default:
      return fixFor(error, needed);
  }
}

type Found = { kind: 'found'; ts: string } | { kind: 'none' } | { kind: 'error'; out: Exclude<CallOutcome, { kind: 'ok' }> };

/** A DM in the channel since the day before the DM's day whose metadata tags it as this (day, slot). */
export async function findEarlierDm(client: WebApi, channel: string, dm: { day: string; slot: number }, tz: string): Promise<Found> {
  const [y, m, d] = dm.day.split('-').map(Number);
  const since = startOfDay({ year: y, month: m, day: d }, tz).getTime() - 24 * 3600_000;
  let cursor = '';
  for (let page = 0; page < ALERT_HISTORY_MAX_PAGES; page++) {
    const params: Record<string, string> = { channel, oldest: String(Math.floor(since / 1000)), include_all_metadata: 'true', limit: '100' };
    if (cursor) params.cursor = cursor;
    const out = await client.postForm('conversations.history', params);
    if (out.kind !== 'ok') return { kind: 'error', out };
    const messages = Array.isArray(out.body.messages) ? (out.body.messages as Record<string, unknown>[]) : [];
    for (const msg of messages) {
      const meta = msg.metadata as { event_type?: unknown; event_payload?: Record<string, unknown> } | undefined;
      if (meta?.event_type === ALERT_EVENT_TYPE && meta.event_payload?.day === dm.day && Number(meta.event_payload?.slot) === dm.slot && typeof msg.ts === 'string') {
        return { kind: 'found', ts: msg.ts };
      }
    }
    const next = (out.body.response_metadata as { next_cursor?: unknown } | undefined)?.next_cursor;
    if (!out.body.has_more || typeof next !== 'string' || next === '') return { kind: 'none' };
    cursor = next;
  }
  return { kind: 'none' };
}
