/**
 * The reads behind an activity chart: one company's metric and distinct active
 * people per block of 7 days, oldest first, the last block ending today.
 */
import { sql, type SQL } from 'drizzle-orm';
import { weekBlocks } from '../../domain/period.js';
import type { Metric } from '../../domain/types.js';
import { rows, type Db } from '../client.js';

/** company_days column per metric (people: person-days, as the trend counts them). */
const COLUMN: Record<Metric, SQL> = {
  key_actions: sql.raw('key_actions'),
  events: sql.raw('events'),
  sessions: sql.raw('sessions'),
  people: sql.raw('people'),
};

export interface WeekActivity {
  start: string;
  value: number;
  people: number;
}

/** `weeks` blocks of 7 days ending today: the metric's sum and the distinct people active in each. */
export async function weeklyActivity(db: Db, key: string, now: Date, metric: Metric, weeks: number): Promise<WeekActivity[]> {
  if (!Object.prototype.hasOwnProperty.call(COLUMN, metric)) throw new Error(`unknown metric ${String(metric)}`);
  const blocks = weekBlocks(now, weeks);
  const first = blocks[0].start;
  const today = blocks[blocks.length - 1].end;
  // Block index counted back from today: 0 is the block ending today.
  const [values, people] = await Promise.all([
    rows<{ back: number; v: number }>(
      db,
      sql`select ((${today}::date - day) / 7)::int as back, sum(${COLUMN[metric]})::float8 as v
          from company_days where company_key = ${key} and day between ${first}::date and ${today}::date
          group by 1`,
    ),
    rows<{ back: number; n: number }>(
      db,
      sql`select ((${today}::date - day) / 7)::int as back, count(distinct person_id)::int as n
          from company_person_days where company_key = ${key} and day between ${first}::date and ${today}::date
          group by 1`,
    ),
  ]);
  const v = new Map(values.map((r) => [Number(r.back), Number(r.v)]));
  const p = new Map(people.map((r) => [Number(r.back), Number(r.n)]));
  return blocks.map((b, i) => {
    const back = blocks.length - 1 - i;
    return { start: b.start, value: v.get(back) ?? 0, people: p.get(back) ?? 0 };
  });
}
