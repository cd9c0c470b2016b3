/**
 * The storage model. Per-company aggregates, kept exact at write time, so that
 * every read of `/groups` is an index range scan over small rollups.
 *
 * Scaling note (Citus): tables are in two co-location groups. Company tables are
 * distributed by `company_key`; person tables by `person_id`; the dedup table by
 * `message_id` (its compact form `message_days` by `source`). Every primary and unique key below includes its table's
 * distribution column, which is what Citus needs to enforce it on one shard.
 * Ungrouped activity is kept under the pseudo-company key '' (UNGROUPED_KEY), so
 * `/groups key` reads coverage from the same rollups.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, date, doublePrecision, index, integer, jsonb, pgTable, pgView, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A company (group): its display name and traits, as the latest `group` call set them. */
export const companies = pgTable('companies', {
  companyKey: text('company_key').primaryKey(),
  name: text('name'),
  traits: jsonb('traits').$type<Record<string, unknown>>().notNull().default({}),
  /** The keys of `traits`, oldest first (jsonb keeps no order): which to drop first when merged traits reach their bound (MERGED_TRAITS). */
  traitKeys: jsonb('trait_keys').$type<string[]>(),
  /** Event time of the call that set name/traits: an older event arriving late never overwrites a newer one. */
  traitsAt: tz('traits_at'),
  /** First and last activity (track/page/screen); null until the company has any. `new` trend reads first_seen_at. */
  firstSeenAt: tz('first_seen_at'),
  lastSeenAt: tz('last_seen_at'),
});

/**
 * One row per company per UTC day: the rollup every ranking reads. Ranking all
 * companies over a range, the 12-week series of one company and the trend's
 * recent/baseline windows are all sums over (company_key, day) ranges.
 * `people` is the number of distinct people active that day (exact: counted when
 * a company_person_days row is first created).
 */
export const companyDays = pgTable(
  'company_days',
  {
    companyKey: text('company_key').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    events: integer('events').notNull().default(0),
    keyActions: integer('key_actions').notNull().default(0),
    sessions: integer('sessions').notNull().default(0),
    people: integer('people').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.companyKey, t.day] }),
    // Ranking every company over a range scans by day first.
    index('company_days_day_idx').on(t.day, t.companyKey),
  ],
);

/**
 * What a company's people do: events per company, event name and UTC day (a track under
 * its event name, a page or screen under its name, else "page" or "screen"). `show` reads
 * one company's range of it. Names are bounded per company (EVENT_NAMES_PER_COMPANY in
 * ingest/event-names.ts): names past the bound count under "other events", so a product
 * that sends `Viewed /invoice/123` keeps the table small and the totals exact.
 */
export const companyEventDays = pgTable(
  'company_event_days',
  {
    companyKey: text('company_key').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    /** The day's event names, each once (a company's names past its bound as OTHER_EVENTS), and their counts, index for index. */
    events: text('events').array().notNull(),
    counts: integer('counts').array().notNull(),
  },
  // One row a company-day, its names in arrays: a write touches one row per company-day instead
  // of one per name (about 13 a day), and `show` reads one company's range of days.
  (t) => [primaryKey({ columns: [t.companyKey, t.day] })],
);

/**
 * company_event_days as one row per company, day and event name: how the reads (and the tests)
 * see the rollup.
 */
export const companyEventCounts = pgView('company_event_counts', {
  companyKey: text('company_key').notNull(),
  day: date('day', { mode: 'string' }).notNull(),
  event: text('event').notNull(),
  count: integer('count').notNull(),
}).as(sql`select d.company_key, d.day, u.event, u.count from company_event_days d cross join lateral unnest(d.events, d.counts) as u(event, count)`);

/**
 * The event names each company has in company_event_days, in the order they were first seen (at
 * most EVENT_NAMES_PER_COMPANY; not "other events"): how ingestion checks the bound with one
 * primary-key read per company, and grows it under that row's lock, so that concurrent requests
 * never pass it.
 */
export const companyEventNames = pgTable('company_event_names', {
  companyKey: text('company_key').primaryKey(),
  names: text('names').array().notNull(),
});

/**
 * A person at a company, with lifetime totals and last activity. Because every
 * range ends now, "distinct people active in the range" is exactly
 * `count(*) where last_seen_at >= range start`: no per-day distinct counting at read.
 */
export const companyPeople = pgTable(
  'company_people',
  {
    companyKey: text('company_key').notNull(),
    personId: text('person_id').notNull(),
    firstSeenAt: tz('first_seen_at').notNull(),
    lastSeenAt: tz('last_seen_at').notNull(),
    events: integer('events').notNull().default(0),
    keyActions: integer('key_actions').notNull().default(0),
    sessions: integer('sessions').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.companyKey, t.personId] }),
    // People active in a range, per company, without touching inactive ones.
    index('company_people_last_seen_idx').on(t.companyKey, t.lastSeenAt),
    index('company_people_active_idx').on(t.lastSeenAt, t.companyKey),
  ],
);

/**
 * A person's activity at a company per UTC day. Written at ingest to count
 * distinct people per day exactly; read only for one company at a time
 * (`show`: its people ranked by activity over a range).
 */
export const companyPersonDays = pgTable(
  'company_person_days',
  {
    companyKey: text('company_key').notNull(),
    personId: text('person_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    events: integer('events').notNull().default(0),
    keyActions: integer('key_actions').notNull().default(0),
    sessions: integer('sessions').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.companyKey, t.personId, t.day] })],
);

/** A person (userId, or `anon:` + anonymousId): display traits and current company. */
export const people = pgTable(
  'people',
  {
    personId: text('person_id').primaryKey(),
    /** The company as last set by a `group` call or an event naming one (rule 4 of the group key). */
    companyKey: text('company_key'),
    companyAt: tz('company_at'),
    name: text('name'),
    email: text('email'),
    traits: jsonb('traits').$type<Record<string, unknown>>().notNull().default({}),
    /** The keys of `traits`, oldest first (see companies.traitKeys). */
    traitKeys: jsonb('trait_keys').$type<string[]>(),
    traitsAt: tz('traits_at'),
    firstSeenAt: tz('first_seen_at').notNull(),
    /** Last activity event (track/page/screen), any company: `/groups key` people coverage. */
    lastActiveAt: tz('last_active_at'),
  },
  (t) => [index('people_last_active_idx').on(t.lastActiveAt)],
);

/**
 * A person's sessions. Gap sessions (no session id sent) are intervals per person and
 * company, keyed `gap:<start ms>:<company>` (`gap:<start ms>` when written before sessions
 * were per company), and merged exactly when events arrive late or out of order;
 * sent session ids are keyed `id:<id>`. `company_key`/`day` say where the
 * session was counted, so a merge can take its count back.
 */
export const personSessions = pgTable(
  'person_sessions',
  {
    personId: text('person_id').notNull(),
    sessionKey: text('session_key').notNull(),
    startedAt: tz('started_at').notNull(),
    endedAt: tz('ended_at').notNull(),
    companyKey: text('company_key').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.personId, t.sessionKey] }),
    index('person_sessions_span_idx').on(t.personId, t.endedAt),
  ],
);

const total = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0);

/**
 * The all-companies read model: per company, the sums `top`, `quiet` and
 * `report` need, valid for the day in summary_state.as_of (A). Summing
 * company_days live for 100,000 companies x ~100 days takes seconds; this is
 * one row per company. Windows relative to A (see domain/period.windowsFor):
 * recent_* = days A-14..A-1, base_* = A-98..A-15 (each metric column, people =
 * person-days); *_7/_30/_90 = days A-6..A, A-29..A, A-89..A; people_N = distinct
 * people with company_people.last_seen_at >= A-(N-1). Ingestion adds its
 * increments in the request's transaction; a once-per-day rollover recomputes
 * every row from company_days (src/db/queries/summary.ts). Distributed by
 * company_key, co-located with the company tables.
 */
export const companySummary = pgTable('company_summary', {
  companyKey: text('company_key').primaryKey(),
  recentEvents: total('recent_events'),
  recentKeyActions: total('recent_key_actions'),
  recentSessions: total('recent_sessions'),
  recentPeople: total('recent_people'),
  baseEvents: total('base_events'),
  baseKeyActions: total('base_key_actions'),
  baseSessions: total('base_sessions'),
  basePeople: total('base_people'),
  events7: total('events_7'),
  keyActions7: total('key_actions_7'),
  sessions7: total('sessions_7'),
  people7: total('people_7'),
  events30: total('events_30'),
  keyActions30: total('key_actions_30'),
  sessions30: total('sessions_30'),
  people30: total('people_30'),
  events90: total('events_90'),
  keyActions90: total('key_actions_90'),
  sessions90: total('sessions_90'),
  people90: total('people_90'),
  // The trend's noise (issue 12), per metric, computed by the daily rollover only (never
  // incremented): the company's own week-to-week dispersion over its baseline weeks (see
  // domain/trend ownDispersion; null when it had under 2 usable weeks) and how many of its
  // baseline weeks had any activity (gone quiet needs every one).
  phiEvents: doublePrecision('phi_events'),
  phiKeyActions: doublePrecision('phi_key_actions'),
  phiSessions: doublePrecision('phi_sessions'),
  phiPeople: doublePrecision('phi_people'),
  activeWeeksEvents: smallint('active_weeks_events').notNull().default(0),
  activeWeeksKeyActions: smallint('active_weeks_key_actions').notNull().default(0),
  activeWeeksSessions: smallint('active_weeks_sessions').notNull().default(0),
  activeWeeksPeople: smallint('active_weeks_people').notNull().default(0),
}, (t) => [
  // Rows whose noise is not measured yet: a baseline (every metric has events behind it) but
  // no active baseline week, i.e. written by ingestion after the day's rollover. Reads measure
  // them (summary.ts measureNewNoise); the index keeps "are there any?" a lookup, usually empty.
  index('company_summary_unmeasured_idx').on(t.companyKey).where(sql`base_events > 0 and active_weeks_events = 0`),
]);

/**
 * One row (id 1): the day company_summary is valid for. The migration seeds it
 * with 1970-01-01, so the first read builds the summary. Ingestion reads it
 * FOR SHARE before adding to the summary; the rollover updates it first, so the
 * two never interleave (a Citus reference table).
 */
export const summaryState = pgTable('summary_state', {
  id: smallint('id').primaryKey(),
  asOf: date('as_of', { mode: 'string' }).notNull(),
  /** The book's typical noise per metric (domain/trend NoisePrior), fitted by the rollover for as_of. */
  noisePrior: jsonb('noise_prior'),
});

/**
 * Message ids received in the last DEDUP_DAYS, per write key (kept as a SHA-256 digest,
 * never the key itself), so a client's retry never counts twice: the live path's dedup,
 * by this primary key. Rows arrive in received_at order, so a BRIN index (a few pages,
 * updated once per block range) serves the prune's range; a B-tree cost every ingested
 * event an index insert. `day` is the event's UTC day: the prune moves each row into
 * `message_days` under it (a row stored before it existed has none and is filed under the
 * day it arrived). The import asks, through the BRIN index on `day` (minmax-multi, so a few
 * old event times do not widen every range), which of its days hold rows.
 */
export const messages = pgTable(
  'messages',
  {
    source: text('source').notNull(),
    messageId: text('message_id').notNull(),
    receivedAt: tz('received_at').notNull().default(sql`now()`),
    day: date('day', { mode: 'string' }),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.source] }),
    index('messages_received_idx').using('brin', t.receivedAt),
    index('messages_day_idx').using('brin', t.day.op('date_minmax_multi_ops')),
    index('messages_undated_idx').on(t.source).where(sql`${t.day} is null`),
  ],
);

/**
 * Every message id ever stored, for good, compactly: per source, event day (UTC) and one of
 * MESSAGE_BUCKETS buckets, the 64-bit hashes of the ids (src/ingest/message-ids.ts). The
 * history import writes its ids here (no row per message), and the prune moves the live
 * rows of `messages` here, so a re-run of an import, or an import of an archive that
 * overlaps live traffic of months ago, counts nothing twice. About 9 bytes an id.
 */
export const messageDays = pgTable(
  'message_days',
  {
    source: text('source').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    bucket: smallint('bucket').notNull(),
    hashes: bigint('hashes', { mode: 'bigint' }).array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.day, t.bucket] })],
);

/**
 * One row per digest channel and week: the claim that makes the weekly post
 * happen at most once across restarts and processes (a unique row, not a lock).
 */
export const digestRuns = pgTable(
  'digest_runs',
  {
    channel: text('channel').notNull(),
    week: text('week').notNull(),
    status: text('status').$type<'claimed' | 'posted'>().notNull(),
    runId: text('run_id').notNull(),
    claimedAt: tz('claimed_at').notNull().default(sql`now()`),
    postedAt: tz('posted_at'),
    messageTs: text('message_ts'),
  },
  (t) => [primaryKey({ columns: [t.channel, t.week] })],
);

/**
 * The last problem posting the digest to a channel (channel_not_found,
 * not_in_channel, Slack down...), kept until a post succeeds, so `/groups digest`
 * can say what went wrong and how to fix it.
 */
export const digestProblems = pgTable('digest_problems', {
  channel: text('channel').primaryKey(),
  week: text('week').notNull(),
  /** Slack's error code or the failure ('channel_not_found', 'HTTP 503'). */
  error: text('error').notNull(),
  /** What to do about it, in words. */
  fix: text('fix'),
  /** The failure left it unknown whether Slack posted (5xx, network): the next run must look before posting. */
  mayHavePosted: boolean('may_have_posted').notNull().default(false),
  at: tz('at').notNull().default(sql`now()`),
});

/**
 * Slack Events API deliveries already handled, by `event_id`: a retry
 * (X-Slack-Retry-Num) of one of them is acknowledged and skipped, also when
 * another process sharing the database handled the first delivery. Rows older
 * than an hour are pruned (Slack retries within minutes).
 */
export const slackEventsSeen = pgTable('slack_events_seen', {
  eventId: text('event_id').primaryKey(),
  seenAt: tz('seen_at').notNull().default(sql`now()`),
});

/**
 * A company's owner as set in Slack (`/groups owner NAME @person`). It wins over the
 * OWNER_TRAIT trait until cleared (`/groups owner NAME none` deletes the row). A row with
 * a null user_id says "nobody" (an owner clicked "Not mine"), which also wins over the trait.
 */
export const companyOwners = pgTable('company_owners', {
  companyKey: text('company_key').primaryKey(),
  userId: text('user_id'),
  setBy: text('set_by'),
  setAt: tz('set_at').notNull().default(sql`now()`),
});

/**
 * `users.lookupByEmail` answers, kept a day: the Slack user of an owner's email, or
 * null for an email that matches nobody (a miss is cached too).
 */
export const slackUserLookups = pgTable('slack_user_lookups', {
  email: text('email').primaryKey(),
  userId: text('user_id'),
  lookedUpAt: tz('looked_up_at').notNull().default(sql`now()`),
});

/** Who watches which company (`/groups watch NAME`): each gets the company's direct alerts. */
export const companyWatchers = pgTable(
  'company_watchers',
  {
    companyKey: text('company_key').notNull(),
    userId: text('user_id').notNull(),
    createdAt: tz('created_at').notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.companyKey, t.userId] }), index('company_watchers_user_idx').on(t.userId)],
);

/**
 * Each company's current fall, as the alert runs saw it: `fall_no` counts its falls
 * (a recovery then a new fall is the next number); `falling` says whether it is in one now.
 */
export const companyFalls = pgTable('company_falls', {
  companyKey: text('company_key').primaryKey(),
  fallNo: integer('fall_no').notNull(),
  falling: boolean('falling').notNull(),
  changedAt: tz('changed_at').notNull().default(sql`now()`),
});

/**
 * One row per person who gets alerts: the lock row that serialises the claims for that
 * person across processes, and the DM channel (D…) of the bot with them.
 */
export const alertRecipients = pgTable('alert_recipients', {
  userId: text('user_id').primaryKey(),
  dmChannel: text('dm_channel'),
});

/**
 * One alert DM: a person, a day (DIGEST_TZ) and a slot 1..ALERT_DAILY_CAP. The claim
 * that sends it at most once, as digest_runs is for the digest.
 */
export const alertMessages = pgTable(
  'alert_messages',
  {
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    slot: smallint('slot').notNull(),
    status: text('status').$type<'claimed' | 'sent'>().notNull(),
    runId: text('run_id').notNull(),
    claimedAt: tz('claimed_at').notNull().default(sql`now()`),
    sentAt: tz('sent_at'),
    messageTs: text('message_ts'),
    /** The run gave up after a 5xx or network error: the DM may have landed; look before sending again. */
    mayHavePosted: boolean('may_have_posted').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.userId, t.day, t.slot] })],
);

/** Each (person, company, fall) alerted, and the DM (day, slot) that carries it: at most once by its key. */
export const alertsSent = pgTable(
  'alerts_sent',
  {
    userId: text('user_id').notNull(),
    companyKey: text('company_key').notNull(),
    fallNo: integer('fall_no').notNull(),
    day: text('day').notNull(),
    slot: smallint('slot').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.companyKey, t.fallNo] }), index('alerts_sent_message_idx').on(t.userId, t.day, t.slot)],
);
