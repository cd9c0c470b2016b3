/**
 * Which message ids are stored: the dedup rules shared by the live path (store.ts), the
 * history import (history-store.ts) and the prune (db/queries/maintenance.ts).
 *
 * Two stores, one set:
 * - `messages`: one row per id received in the last DEDUP_DAYS, with its event's UTC day.
 *   The live path writes here; its primary key makes two live requests with one id wait
 *   on each other, so only one stores it.
 * - `message_days`: every id ever stored, as a 64-bit hash (the first 8 bytes of its MD5),
 *   per (source, event day, bucket). The history import writes here, and the prune moves
 *   the rows of `messages` here once they are DEDUP_DAYS old. An id is about 9 bytes here,
 *   against about 260 as a row and its index entry, and is kept for good: a re-run of an
 *   import months later, or an archive that overlaps live traffic of months ago, counts
 *   nothing twice.
 *
 * An id is stored when it is a row of `messages` with the same source (any day), or a hash of
 * `message_days` with the same source within a day of the event's day either side: as
 * Segment's own dedup, a window in time, here days rather than 24 hours, so a retry whose
 * time its clock correction moved across midnight still meets its first sending. The live
 * path and the import each check both, and they serialise on (source, day) with advisory
 * locks: the live path takes them shared (live requests never wait on each other for them),
 * the import and the prune exclusive.
 * Locks are taken in key order, in a statement of their own, before the statement that
 * checks, so that the check's snapshot sees what the transaction waited for.
 *
 * A 64-bit hash can mistake a new id for a stored one of the same source and day: with ten
 * million ids in one day, about once in 2 × 10^12 events.
 */
import { hash as digest } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';

/** Buckets per (source, day): a live check reads one bucket, about 1/64 of a day's ids. */
export const MESSAGE_BUCKETS = 64;

/** The 64-bit hash of a message id (text): the first 16 hex digits of its MD5, as a bigint. */
export function messageHash(id: SQL): SQL {
  return sql`('x' || left(md5(${id}), 16))::bit(64)::bigint`;
}

/**
 * The same hash computed in Node, as decimal text: the import computes it while it reads (in
 * its read workers, on every core) rather than in the database, where `md5` was the largest
 * part of a slice's first statement (about 2.3 µs an id). `test/message-ids.test.ts` checks
 * that both give the same value for the same ids.
 */
export function messageIdHash(id: string): string {
  return BigInt.asIntN(64, BigInt(`0x${digest('md5', id, 'hex').slice(0, 16)}`)).toString();
}

/** The bucket of a hash. */
export function messageBucket(hash: SQL): SQL {
  return sql`(${hash} & ${sql.raw(String(MESSAGE_BUCKETS - 1))})::smallint`;
}

/**
 * The (source, day) lock keys are folded into LOCK_KEYS advisory keys, so that a transaction
 * holds at most LOCK_KEYS + 1 locks whatever days its events span (one lock per day ran
 * PostgreSQL's shared lock table out of memory: a few batches of events on thousands of
 * different days, which any holder of a write key can send). Two pairs that fold into one
 * key only wait on each other more than they need to.
 */
export const LOCK_KEYS = 1024;
/** A live request whose days fold into more keys than this takes the one wide key instead. */
export const LIVE_LOCK_KEYS = 16;
const KEY_BASE = 727_274_100_000;
/** The wide key: taken shared by a live request spanning many days, exclusively by every import slice and prune. */
const WIDE_KEY = KEY_BASE - 1;

/** The advisory key of (source s, day d): a day number, not the date's text (which DateStyle changes). */
function lockKey(s: SQL, d: SQL): SQL {
  return sql`(${KEY_BASE}::bigint + ((hashtextextended(${s} || ' ' || (${d} - date '2000-01-01')::text, 0) % ${LOCK_KEYS}) + ${LOCK_KEYS}) % ${LOCK_KEYS})`;
}

/**
 * Takes the (source, day) locks of `pairs`, a relation with text column `s` and date column
 * `d`, in key order: shared for the live path (its days alone; the wide key alone when they
 * fold into more than LIVE_LOCK_KEYS keys), exclusive for the import and the prune (the wide
 * key, and the days either side, which their checks and moves reach).
 * Its own statement, so that the statements after it see what the transaction waited for.
 */
export function lockMessageDays(pairs: SQL, mode: 'shared' | 'exclusive'): SQL {
  if (mode === 'shared') {
    return sql`with k as (select distinct ${lockKey(sql`s`, sql`d`)} as k from ${pairs}),
      n as (select count(*) as n from k)
      select count(*)::int as n from (
        select pg_advisory_xact_lock_shared(k) from (
          select k from k where (select n from n) <= ${LIVE_LOCK_KEYS}
          union all select ${WIDE_KEY}::bigint where (select n from n) > ${LIVE_LOCK_KEYS}
        ) q order by k
      ) l`;
  }
  return sql`select count(*)::int as n from (
      select pg_advisory_xact_lock(k) from (
        select ${WIDE_KEY}::bigint as k
        union select ${lockKey(sql`s`, sql`d + o`)} from ${pairs} cross join generate_series(-1, 1) as o
      ) q order by k
    ) l`;
}

/**
 * Appends the hashes of `fresh` (columns s, d, h) to `message_days`: one upsert per
 * (source, day, bucket). The caller holds the (source, day) locks exclusively.
 */
export function appendMessageDays(fresh: SQL): SQL {
  return sql`insert into message_days (source, day, bucket, hashes)
    select s, d, b, array_agg(h) from (select s, d, h, ${messageBucket(sql`h`)} as b from ${fresh}) f
    group by s, d, b
    order by s, d, b
    on conflict (source, day, bucket) do update set hashes = message_days.hashes || excluded.hashes`;
}

/**
 * Every stored id as (source, day, h), from both stores: a relation for counts and checks
 * (`day` is null for a row stored before the column existed).
 */
export const STORED_MESSAGE_IDS = `(select source, day, ('x' || left(md5(message_id), 16))::bit(64)::bigint as h from messages
  union all select source, day, unnest(hashes) from message_days)`;
