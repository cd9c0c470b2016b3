/** Raw reads of the rollups, for asserting what ingestion stored. */
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../../src/db/client.js';
import { STORED_MESSAGE_IDS, messageHash } from '../../src/ingest/message-ids.js';

export async function companyTotals(db: Db) {
  return rows<{ company_key: string; events: number; key_actions: number; sessions: number; person_days: number }>(
    db,
    sql`select company_key, sum(events)::int as events, sum(key_actions)::int as key_actions,
               sum(sessions)::int as sessions, sum(people)::int as person_days
        from company_days group by company_key order by company_key`,
  );
}

export async function tableCounts(db: Db) {
  const [r] = await rows<Record<string, number>>(
    db,
    sql`select (select count(*) from ${sql.raw(STORED_MESSAGE_IDS)} ids)::int as messages, (select count(*) from people)::int as people,
               (select count(*) from companies)::int as companies, (select count(*) from company_days)::int as company_days,
               (select count(*) from company_people)::int as company_people, (select count(*) from person_sessions)::int as sessions`,
  );
  return r;
}

export async function company(db: Db, key: string) {
  const [r] = await rows<{ company_key: string; name: string | null; traits: Record<string, unknown> }>(
    db,
    sql`select company_key, name, traits from companies where company_key = ${key}`,
  );
  return r;
}

export async function person(db: Db, id: string) {
  const [r] = await rows<{ person_id: string; company_key: string | null; name: string | null; email: string | null }>(
    db,
    sql`select person_id, company_key, name, email from people where person_id = ${id}`,
  );
  return r;
}

/** How many of `ids` are stored, in either store of message ids (src/ingest/message-ids.ts), any source. */
export async function storedIdCount(db: Db, ids: readonly string[]): Promise<number> {
  const [r] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${sql.raw(STORED_MESSAGE_IDS)} s
        join (select distinct ${messageHash(sql`m`)} as h from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as j(m)) q on q.h = s.h`,
  );
  return r.n;
}

/** Every stored message id as `source day hash`, sorted: the same set whichever store holds it. */
export async function storedIdList(db: Db): Promise<string[]> {
  const r = await rows<{ r: string }>(db, sql`select source || ' ' || coalesce(day::text, '-') || ' ' || h::text as r from ${sql.raw(STORED_MESSAGE_IDS)} s order by 1`);
  return r.map((x) => x.r);
}

/**
 * Empties every table ingestion writes (both stores of message ids, people, companies, the
 * rollups and the summary), so a test starts from nothing; one list, so a new table is
 * added once.
 */
export async function emptyIngested(db: Db): Promise<void> {
  await db.execute(
    sql`truncate messages, message_days, people, companies, company_days, company_people, company_person_days, person_sessions, company_summary, company_event_days, company_event_names`,
  );
}
