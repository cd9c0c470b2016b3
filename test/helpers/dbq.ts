/** Raw reads of the rollups, for asserting what ingestion stored. */
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../../src/db/client.js';

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
    sql`select (select count(*) from messages)::int as messages, (select count(*) from people)::int as people,
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
