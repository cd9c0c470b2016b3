/**
 * Who owns a company, and who watches it. No Slack rendering here.
 *
 * The owner, in order of precedence:
 *  1. set in Slack (`/groups owner NAME @person`, table company_owners): wins until
 *     cleared with `/groups owner NAME none`; a row with no user says "nobody"
 *     (an owner clicked "Not mine"), which wins over the trait too;
 *  2. the company trait named by OWNER_TRAIT (default `owner_email`), from the
 *     `group` call: a Slack user id (U…/W…) as it is, or an email resolved with
 *     `users.lookupByEmail`. Answers are cached in slack_user_lookups for a day,
 *     a miss (`users_not_found`) too; an email nobody in Slack has is shown as
 *     plain text and listed by `/groups key`.
 * Without the users:read.email scope (an install made before owners existed) the
 * lookup answers `missing_scope`: the email is shown as plain text with the fix,
 * and nothing else changes.
 */
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import { USER_ID, parseMention } from '../domain/owner-command.js';
import type { WebApi } from '../slack/webapi.js';
import type { Owner } from '../domain/types.js';

export interface OwnerDeps {
  db: Db;
  /** The Web API (null where there is no bot token, as in `npm run groups` without one: emails stay unresolved). */
  client: WebApi | null;
  /** OWNER_TRAIT. */
  ownerTrait: string;
  /** Emails looked up in Slack per call at most (default MAX_LOOKUPS_PER_CALL, for replies; the alert run allows more). */
  maxLookups?: number;
}

/** How long a `users.lookupByEmail` answer (hit or miss) is trusted. */
export const LOOKUP_CACHE_MS = 24 * 60 * 60_000;
/** At most this many emails looked up in Slack for one reply; the rest wait for the next. */
export const MAX_LOOKUPS_PER_CALL = 20;
/** The alert run looks up more: an owner not looked up is not alerted until a later run. */
export const MAX_LOOKUPS_PER_ALERT_RUN = 500;
/** The fix for an install that lacks the lookup scopes. */
export const LOOKUP_SCOPE_FIX = 'add the bot scopes users:read and users:read.email under OAuth & Permissions and reinstall the app';

export type { Owner } from '../domain/types.js';

const EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

/** What a trait value says about an owner, before any lookup. */
export function ownerFromTrait(value: unknown): { userId: string } | { email: string } | { text: string } | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const v = value.trim();
  if (USER_ID.test(v)) return { userId: v };
  const mention = parseMention(v);
  if (mention) return { userId: mention };
  if (EMAIL.test(v)) return { email: v.toLowerCase() };
  return { text: v };
}

type LookupResult = { userId: string | null } | { error: string };

/** Slack user ids for emails: the cache first (a day), then `users.lookupByEmail`. */
export async function lookupEmails(deps: OwnerDeps, emails: string[]): Promise<Map<string, LookupResult>> {
  const out = new Map<string, LookupResult>();
  const unique = [...new Set(emails)];
  if (unique.length === 0) return out;
  const cached = await rows<{ email: string; user_id: string | null }>(
    deps.db,
    sql`select email, user_id from slack_user_lookups
        where email in (select jsonb_array_elements_text(${JSON.stringify(unique)}::jsonb))
          and looked_up_at > now() - make_interval(secs => ${LOOKUP_CACHE_MS / 1000})`,
  );
  for (const c of cached) out.set(c.email, { userId: c.user_id });
  const missing = unique.filter((e) => !out.has(e));
  let calls = 0;
  let stop: string | null = deps.client ? null : 'no bot token';
  for (const email of missing) {
    if (stop || calls >= (deps.maxLookups ?? MAX_LOOKUPS_PER_CALL)) {
      out.set(email, { error: stop ?? 'looked up later' });
      continue;
    }
    calls++;
    const answer = await deps.client!.postForm('users.lookupByEmail', { email });
    let userId: string | null;
    if (answer.kind === 'ok') {
      const id = (answer.body.user as { id?: unknown } | undefined)?.id;
      userId = typeof id === 'string' && USER_ID.test(id) ? id : null;
    } else if (answer.kind === 'refused' && answer.error === 'users_not_found') {
      userId = null;
    } else {
      // missing_scope, invalid_auth, 429, 5xx: not an answer about this email, so not cached.
      out.set(email, { error: answer.error });
      if (answer.kind === 'refused' || answer.kind === 'rate-limited') stop = answer.error;
      continue;
    }
    await deps.db.execute(
      sql`insert into slack_user_lookups (email, user_id, looked_up_at) values (${email}, ${userId}, now())
          on conflict (email) do update set user_id = excluded.user_id, looked_up_at = excluded.looked_up_at`,
    );
    out.set(email, { userId });
  }
  return out;
}

/** The owners of these companies (every key gets an answer). */
export async function resolveOwners(deps: OwnerDeps, keys: string[]): Promise<Map<string, Owner>> {
  const out = new Map<string, Owner>();
  if (keys.length === 0) return out;
  const found = await rows<{ company_key: string; trait: unknown; overridden: boolean; user_id: string | null }>(
    deps.db,
    sql`select k.key as company_key, c.traits -> ${deps.ownerTrait} as trait, (o.company_key is not null) as overridden, o.user_id
        from jsonb_array_elements_text(${JSON.stringify([...new Set(keys)])}::jsonb) as k(key)
        left join companies c on c.company_key = k.key
        left join company_owners o on o.company_key = k.key`,
  );
  const fromTrait = new Map<string, ReturnType<typeof ownerFromTrait>>();
  for (const r of found) {
    if (r.overridden) {
      out.set(r.company_key, r.user_id ? { kind: 'user', userId: r.user_id, source: 'slack' } : { kind: 'none', nobody: true });
      continue;
    }
    const t = ownerFromTrait(typeof r.trait === 'string' ? r.trait : r.trait === null || r.trait === undefined ? null : String(r.trait));
    fromTrait.set(r.company_key, t);
  }
  const emails = [...fromTrait.values()].flatMap((t) => (t && 'email' in t ? [t.email] : []));
  const looked = await lookupEmails(deps, emails);
  for (const [key, t] of fromTrait) {
    if (!t) out.set(key, { kind: 'none', nobody: false });
    else if ('userId' in t) out.set(key, { kind: 'user', userId: t.userId, source: 'trait' });
    else if ('text' in t) out.set(key, { kind: 'unresolved', text: t.text, why: 'not-an-email' });
    else {
      const l = looked.get(t.email);
      if (l && 'userId' in l) out.set(key, l.userId ? { kind: 'user', userId: l.userId, source: 'trait' } : { kind: 'unresolved', text: t.email, why: 'not-in-slack' });
      else out.set(key, { kind: 'unresolved', text: t.email, why: 'lookup-failed', error: l && 'error' in l ? l.error : undefined });
    }
  }
  return out;
}

/** Sets the owner in Slack (`userId` null: "nobody", as "Not mine" does). */
export async function setOwner(db: Db, key: string, userId: string | null, setBy: string | null): Promise<void> {
  await db.execute(
    sql`insert into company_owners (company_key, user_id, set_by, set_at) values (${key}, ${userId}, ${setBy}, now())
        on conflict (company_key) do update set user_id = excluded.user_id, set_by = excluded.set_by, set_at = excluded.set_at`,
  );
}

/** Clears the owner set in Slack; the trait applies again. True when there was one. */
export async function clearOwner(db: Db, key: string): Promise<boolean> {
  const r = await rows(db, sql`delete from company_owners where company_key = ${key} returning company_key`);
  return r.length > 0;
}

/** True when the person was not watching yet. */
export async function watch(db: Db, key: string, userId: string): Promise<boolean> {
  const r = await rows(db, sql`insert into company_watchers (company_key, user_id) values (${key}, ${userId}) on conflict do nothing returning user_id`);
  return r.length > 0;
}

/** True when the person was watching. */
export async function unwatch(db: Db, key: string, userId: string): Promise<boolean> {
  const r = await rows(db, sql`delete from company_watchers where company_key = ${key} and user_id = ${userId} returning user_id`);
  return r.length > 0;
}

export async function isWatching(db: Db, key: string, userId: string): Promise<boolean> {
  const r = await rows(db, sql`select 1 as w from company_watchers where company_key = ${key} and user_id = ${userId}`);
  return r.length > 0;
}

/** Watchers of each company. */
export async function watchersOf(db: Db, keys: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (keys.length === 0) return out;
  const r = await rows<{ company_key: string; user_id: string }>(
    db,
    sql`select company_key, user_id from company_watchers
        where company_key in (select jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb)) order by company_key, created_at, user_id`,
  );
  for (const w of r) out.set(w.company_key, [...(out.get(w.company_key) ?? []), w.user_id]);
  return out;
}

/**
 * The companies a person owns or watches: owned in Slack, watched, or named by the
 * trait with their user id or an email Slack resolved to them (the cache, and their
 * own email from `users.info` when the scope allows).
 */
export async function companiesOf(deps: OwnerDeps, userId: string): Promise<{ owned: string[]; watched: string[] }> {
  let ownEmail: string | null = null;
  if (deps.client) {
    const info = await deps.client.postForm('users.info', { user: userId });
    const email = info.kind === 'ok' ? (info.body.user as { profile?: { email?: unknown } } | undefined)?.profile?.email : undefined;
    if (typeof email === 'string') ownEmail = email.toLowerCase();
  }
  const owned = await rows<{ company_key: string }>(
    deps.db,
    sql`select company_key from company_owners where user_id = ${userId}
        union
        select c.company_key from companies c
        where not exists (select 1 from company_owners o where o.company_key = c.company_key)
          and (btrim(c.traits ->> ${deps.ownerTrait}) = ${userId}
               or (${ownEmail}::text is not null and lower(btrim(c.traits ->> ${deps.ownerTrait})) = ${ownEmail}::text)
               or lower(btrim(c.traits ->> ${deps.ownerTrait})) in (select email from slack_user_lookups where user_id = ${userId}))`,
  );
  const watched = await rows<{ company_key: string }>(deps.db, sql`select company_key from company_watchers where user_id = ${userId}`);
  return { owned: owned.map((r) => r.company_key), watched: watched.map((r) => r.company_key) };
}

/** Emails named by the owner trait that match no Slack user (cached misses), with their companies. */
export async function ownersNotFound(deps: OwnerDeps): Promise<{ email: string; companies: { key: string; name: string | null }[] }[]> {
  const r = await rows<{ email: string; company_key: string; name: string | null }>(
    deps.db,
    sql`select l.email, c.company_key, c.name from slack_user_lookups l
        join companies c on lower(btrim(c.traits ->> ${deps.ownerTrait})) = l.email
        where l.user_id is null
          and not exists (select 1 from company_owners o where o.company_key = c.company_key)
        order by l.email, c.company_key`,
  );
  const by = new Map<string, { key: string; name: string | null }[]>();
  for (const x of r) by.set(x.email, [...(by.get(x.email) ?? []), { key: x.company_key, name: x.name }]);
  return [...by].map(([email, companies]) => ({ email, companies }));
}

/** Owner emails of companies not looked up yet (or too long ago), so `/groups key` can resolve them first. */
export async function ownerEmailsToCheck(deps: OwnerDeps, limit = MAX_LOOKUPS_PER_CALL): Promise<string[]> {
  const r = await rows<{ email: string }>(
    deps.db,
    sql`select distinct lower(btrim(c.traits ->> ${deps.ownerTrait})) as email from companies c
        where c.traits ->> ${deps.ownerTrait} like '%@%'
          and not exists (select 1 from company_owners o where o.company_key = c.company_key)
          and not exists (select 1 from slack_user_lookups l where l.email = lower(btrim(c.traits ->> ${deps.ownerTrait}))
                          and l.looked_up_at > now() - make_interval(secs => ${LOOKUP_CACHE_MS / 1000}))
        limit ${limit}`,
  );
  return r.map((x) => x.email).filter((e) => EMAIL.test(e));
}
