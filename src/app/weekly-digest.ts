/**
 * The weekly quiet-account digest: build it, and post it at most once per
 * channel and week (the week as DIGEST_TZ counts it), whatever the number of
 * firings, restarts or processes sharing the database. No scheduler here
 * (src/app/digest-schedule.ts fires this), no Bolt client (src/slack/webapi.ts).
 *
 * Exactly once, step by step:
 *  1. Claim: in one transaction, insert the (channel, week) row of digest_runs as
 *     'claimed' by this run; on conflict read it FOR UPDATE: 'posted' -> nothing
 *     to do; 'claimed' by a live run -> nothing to do; 'claimed' but stale (its run
 *     died) -> take it over with this run's id.
 *  2. Look before posting: `conversations.history` of the channel since the
 *     week's start, for a message whose metadata says `leadmaps_digest` for this
 *     week. Found -> mark posted with its ts, post nothing. (A post can have
 *     landed without being marked: a crash between post and mark, or a 5xx or
 *     network error after Slack took it.)
 *  3. Post with `chat.postMessage`, tagged with metadata { week, run_id }.
 *  4. Mark 'posted' with the message ts.
 * A post that fails releases the claim (deletes the row), so a later firing tries
 * again; a crash leaves a claim that goes stale and is taken over at step 1.
 *
 * The chart of the falling companies (docs/charts.md): with PUBLIC_URL an image
 * block in the post. Without, between steps 2 and 3 the chart is uploaded and
 * shared in the channel as `leadmaps-digest-<week>.png` (files.getUploadURLExternal,
 * the bytes to its upload_url, files.completeUploadExternal with channel_id), and
 * the post refers to it. Before uploading, the run looks in the channel for that
 * file, so a run that died after sharing it (or whose post failed) is not shared
 * twice; a chart that cannot be drawn or uploaded never stops the digest.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../db/client.js';
import { DEFAULT_RANGE } from '../domain/command.js';
import { zonedWeek } from '../domain/week.js';
import { errorText, type Logger } from '../log.js';
import { DIGEST_MAX_LISTED, digestMessage, type DigestInput } from '../render/blocks.js';
import { escapeMrkdwn, relativeTime } from '../render/format.js';
import { digestText } from '../render/terminal.js';
import type { CallOutcome, WebApi } from '../slack/webapi.js';
import { companyRows, defaultMetric, fellMostOf, growingRows, quietRows, reportCounts, type GroupsContext } from './company-reads.js';
import type { Reply } from './reply.js';
import { CHART_RANGE, digestChartInput, renderDigestChart, type Chart } from './charts.js';
import type { ChartImage, ChartLinks } from './chart-links.js';
import type { Metric } from '../domain/types.js';
import { resolveOwners, type OwnerDeps } from './owners.js';
import { sleep } from './cron-job.js';

/** Message metadata event type that tags a digest post. */
export const DIGEST_EVENT_TYPE = 'leadmaps_digest';
/** A claim older than this belongs to a run that died: another run may take it over. */
export const STALE_CLAIM_MS = 10 * 60_000;
/** Waits between tries after a 5xx or a network error: 3 retries, then give up for this firing. */
export const RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000];
/** At most this many 429 waits in one run. */
export const MAX_RATE_LIMIT_WAITS = 5;
/** conversations.history pages read looking for an earlier post (100 messages each). */
export const HISTORY_MAX_PAGES = 20;

export const CHANNEL_FIX = 'invite the bot to the channel with /invite @leadmaps, or check DIGEST_CHANNEL is a channel id (C…)';

/** What to do about a Slack error, in words; null when there is nothing specific to say. */
export function fixFor(error: string, needed?: unknown): string | null {
  switch (error) {
    case 'channel_not_found':
    case 'not_in_channel':
      return CHANNEL_FIX;
    case 'is_archived':
      return 'the channel is archived: unarchive it, or set DIGEST_CHANNEL to another channel id';
    case 'missing_scope':
      return `add the bot scope${typeof needed === 'string' ? ` ${needed}` : ''} under OAuth & Permissions and reinstall the app`;
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'token_expired':
    case 'account_inactive':
      return 'check SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…) and that the app is still installed';
    case 'restricted_action':
    case 'ekm_access_denied':
      return 'a workspace setting stops the bot from posting in this channel';
    default:
      return null;
  }
}

export function digestWeek(now: Date, tz: string): { week: string; label: string } {
  const w = zonedWeek(now, tz);
  return { week: w.week, label: w.label };
}

export interface BuiltDigest {
  week: string;
  label: string;
  reply: Reply;
  input: DigestInput;
}

/** This week's digest: falling accounts over the 30-day range, the growing ones, the report counts. */
export async function buildDigest(ctx: GroupsContext, opts: { now: Date; tz: string; owners?: OwnerDeps }): Promise<BuiltDigest> {
  const { week, label } = digestWeek(opts.now, opts.tz);
  const metric = defaultMetric(ctx);
  const all = await companyRows(ctx, { now: opts.now, range: DEFAULT_RANGE, metric });
  const input: DigestInput = {
    weekLabel: label,
    falling: quietRows(all),
    growing: growingRows(all),
    counts: reportCounts(all),
    metric,
    now: opts.now,
  };
  // The events that fell most of each listed company: one read for all of them.
  const [owners, fellMost] = await Promise.all([
    opts.owners ? resolveOwners(opts.owners, input.falling.map((r) => r.key)) : undefined,
    fellMostOf(ctx, input.falling.slice(0, DIGEST_MAX_LISTED), opts.now),
  ]);
  if (owners) input.owners = owners;
  input.fellMost = fellMost;
  return { week, label, input, reply: { message: digestMessage(input), terminal: digestText(input) } };
}

// ---------------------------------------------------------------------------
// The claim row and the problem row

type Claim =
  | { kind: 'claimed'; takenOver: boolean; from?: string }
  | { kind: 'posted'; ts: string | null }
  | { kind: 'elsewhere'; runId: string };

export async function claimWeek(db: Db, channel: string, week: string, runId: string, staleMs = STALE_CLAIM_MS): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const claim = await db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const inserted = await rows<{ run_id: string }>(
        t,
        sql`insert into digest_runs (channel, week, status, run_id, claimed_at)
            values (${channel}, ${week}, 'claimed', ${runId}, now())
            on conflict (channel, week) do nothing
            returning run_id`,
      );
      if (inserted.length > 0) return { kind: 'claimed', takenOver: false } as Claim;
      const [row] = await rows<{ status: string; run_id: string; message_ts: string | null; age_ms: number | string }>(
        t,
        sql`select status, run_id, message_ts, (extract(epoch from (now() - claimed_at)) * 1000)::float8 as age_ms
            from digest_runs where channel = ${channel} and week = ${week} for update`,
      );
      if (!row) return null; // released between the insert and the read: try again
      if (row.status === 'posted') return { kind: 'posted', ts: row.message_ts } as Claim;
      if (row.run_id !== runId && Number(row.age_ms) < staleMs) return { kind: 'elsewhere', runId: row.run_id } as Claim;
      await t.execute(sql`update digest_runs set run_id = ${runId}, claimed_at = now() where channel = ${channel} and week = ${week}`);
      return { kind: 'claimed', takenOver: true, from: row.run_id } as Claim;
    });
    if (claim) return claim;
  }
  return { kind: 'elsewhere', runId: 'unknown' };
}

/** Still ours? Refreshes the claim's time so a long wait (429) never looks like a dead run. */
async function touchClaim(db: Db, channel: string, week: string, runId: string): Promise<boolean> {
  const r = await rows(
    db,
    sql`update digest_runs set claimed_at = now()
        where channel = ${channel} and week = ${week} and run_id = ${runId} and status = 'claimed' returning run_id`,
  );
  return r.length > 0;
}

async function releaseClaim(db: Db, channel: string, week: string, runId: string): Promise<void> {
  await db.execute(sql`delete from digest_runs where channel = ${channel} and week = ${week} and run_id = ${runId} and status = 'claimed'`);
}

async function markPosted(db: Db, channel: string, week: string, runId: string, ts: string | null): Promise<void> {
  await db.execute(
    sql`insert into digest_runs (channel, week, status, run_id, claimed_at, posted_at, message_ts)
        values (${channel}, ${week}, 'posted', ${runId}, now(), now(), ${ts})
        on conflict (channel, week) do update
          set status = 'posted', posted_at = now(), message_ts = excluded.message_ts, run_id = excluded.run_id
          where digest_runs.status <> 'posted'`,
  );
}

export interface DigestProblem {
  channel: string;
  week: string;
  error: string;
  fix: string | null;
  mayHavePosted: boolean;
  at: Date;
}

async function recordProblem(db: Db, p: Omit<DigestProblem, 'at'>): Promise<void> {
  await db.execute(
    sql`insert into digest_problems (channel, week, error, fix, may_have_posted, at)
        values (${p.channel}, ${p.week}, ${p.error}, ${p.fix}, ${p.mayHavePosted}, now())
        on conflict (channel) do update
          set week = excluded.week, error = excluded.error, fix = excluded.fix, at = excluded.at,
              may_have_posted = excluded.may_have_posted
                or (digest_problems.may_have_posted and digest_problems.week = excluded.week)`,
  );
}

async function clearProblem(db: Db, channel: string): Promise<void> {
  await db.execute(sql`delete from digest_problems where channel = ${channel}`);
}

export async function lastProblem(db: Db, channel: string): Promise<DigestProblem | null> {
  const [r] = await rows<{ channel: string; week: string; error: string; fix: string | null; may_have_posted: boolean; at: Date | string }>(
    db,
    sql`select channel, week, error, fix, may_have_posted, at from digest_problems where channel = ${channel}`,
  );
  return r ? { channel: r.channel, week: r.week, error: r.error, fix: r.fix, mayHavePosted: r.may_have_posted, at: new Date(r.at) } : null;
}

export interface WeekStatus {
  status: 'posted' | 'claimed' | 'none';
  postedAt: Date | null;
  messageTs: string | null;
}

export async function weekStatus(db: Db, channel: string, week: string): Promise<WeekStatus> {
  const [r] = await rows<{ status: 'posted' | 'claimed'; posted_at: Date | string | null; message_ts: string | null }>(
    db,
    sql`select status, posted_at, message_ts from digest_runs where channel = ${channel} and week = ${week}`,
  );
  if (!r) return { status: 'none', postedAt: null, messageTs: null };
  return { status: r.status, postedAt: r.posted_at ? new Date(r.posted_at) : null, messageTs: r.message_ts };
}

// ---------------------------------------------------------------------------
// Running one firing

export type DigestOutcome = 'posted' | 'already-posted' | 'claimed-elsewhere' | 'failed';

export interface DigestDeps {
  db: Db;
  /** A Web API caller with no retries of its own. */
  client: WebApi;
  channel: string;
  tz: string;
  keyActions: readonly string[];
  log: Logger;
  now?: Date;
  runId?: string;
  /** Waits after a 5xx or network error (default 1 s, 2 s, 4 s). */
  retryDelaysMs?: readonly number[];
  staleClaimMs?: number;
  /** Stop waiting and give up this firing (graceful stop). */
  signal?: AbortSignal;
  /**
   * The falling companies' chart: `link` (PUBLIC_URL) puts an image block with a signed URL in the post;
   * `upload` shares the PNG in the channel first. Absent: no chart.
   */
  chart?: { kind: 'link'; image: (week: string, now: Date) => Promise<ChartImage | null> } | { kind: 'upload'; draw?: (input: NonNullable<Awaited<ReturnType<typeof digestChartInput>>>) => Promise<Chart> };
  /**
   * Test seams: a throw from `afterPost` stands for the process dying between the post and the mark;
   * from `afterChartShared`, dying between sharing the chart and posting.
   */
  hooks?: { afterPost?: (ts: string | null) => void | Promise<void>; afterChartShared?: (fileId: string) => void | Promise<void> };
  /** OWNER_TRAIT: when set, each falling company names its owner (src/app/owners.ts). */
  ownerTrait?: string;
}

/** Thrown through the run by a test hook that stands for the process dying. */
class ProcessDied extends Error {
  constructor(readonly cause: unknown) {
    super('the process died');
  }
}

type Delivery =
  | { kind: 'posted'; ts: string | null }
  | { kind: 'found'; ts: string }
  | { kind: 'lost-claim' }
  | { kind: 'failed'; error: string; fix: string | null; mayHavePosted: boolean };

export async function runDigest(deps: DigestDeps): Promise<DigestOutcome> {
  const { db, channel, log } = deps;
  const now = deps.now ?? new Date();
  const runId = deps.runId ?? randomUUID();
  const week = zonedWeek(now, deps.tz);
  const where = { channel, week: week.week, runId };

  let claim: Claim;
  try {
    claim = await claimWeek(db, channel, week.week, runId, deps.staleClaimMs ?? STALE_CLAIM_MS);
  } catch (error) {
    log.error(`digest: could not claim ${week.week} for ${channel} (database): ${errorText(error)}. A later firing tries again.`, { ...where, error });
    return 'failed';
  }
  if (claim.kind === 'posted') {
    log.info(`digest: ${week.week} already posted to ${channel}; nothing to do`, { ...where, ts: claim.ts });
    return 'already-posted';
  }
  if (claim.kind === 'elsewhere') {
    log.info(`digest: ${week.week} for ${channel} is being posted by another run; nothing to do`, { ...where, other: claim.runId });
    return 'claimed-elsewhere';
  }
  if (claim.takenOver) log.warn(`digest: took over a stale claim on ${week.week} for ${channel} (its run stopped); looking for its post first`, { ...where, from: claim.from });

  let delivery: Delivery;
  try {
    const ctx = { db, keyActions: deps.keyActions };
    const owners = deps.ownerTrait ? { db, client: deps.client, ownerTrait: deps.ownerTrait } : undefined;
    const built = await buildDigest(ctx, { now, tz: deps.tz, owners });
    const problem = await lastProblem(db, channel);
    const mustLook = claim.takenOver || Boolean(problem?.mayHavePosted && problem.week === week.week);
    let message = built.reply.message;
    let upload: (() => Promise<Chart | null>) | undefined;
    if (deps.chart && built.input.falling.length > 0) {
      if (deps.chart.kind === 'link') {
        const image = await deps.chart.image(week.week, now);
        if (image) message = digestMessage({ ...built.input, chart: image });
      } else {
        const draw = deps.chart.draw ?? renderDigestChart;
        upload = async () => {
          const input = await digestChartInput(ctx, built.input.falling, built.label, now, built.input.metric);
          return input ? draw(input) : null;
        };
      }
    }
    const withChart = (chart: { fileId: string; permalink?: string }) => digestMessage({ ...built.input, chart });
    delivery = await deliver(deps, { week: week.week, weekStart: week.start, runId, message, mustLook, upload, withChart });
  } catch (error) {
    if (error instanceof ProcessDied) throw error.cause; // a test's stand-in for a crash: the claim stays, as it would
    delivery = { kind: 'failed', error: errorText(error), fix: null, mayHavePosted: false };
  }

  if (delivery.kind === 'lost-claim') {
    log.warn(`digest: lost the claim on ${week.week} for ${channel} to another run; stopping this one`, where);
    return 'claimed-elsewhere';
  }
  if (delivery.kind === 'failed') {
    await releaseClaim(db, channel, week.week, runId).catch((error) => log.warn('digest: could not release the claim; it goes stale in 10 minutes', { ...where, error }));
    await recordProblem(db, { channel, week: week.week, error: delivery.error, fix: delivery.fix, mayHavePosted: delivery.mayHavePosted }).catch(() => {});
    const fix = delivery.fix ? ` Fix: ${delivery.fix}.` : ' A later firing tries again.';
    log.error(`digest: could not post ${week.week} to ${channel}: ${delivery.error}.${fix}`, { ...where, error: delivery.error, ...(delivery.fix ? { fix: delivery.fix } : {}) });
    return 'failed';
  }
  if (delivery.kind === 'found') {
    await markPosted(db, channel, week.week, runId, delivery.ts);
    await clearProblem(db, channel);
    log.warn(`digest: ${week.week} was already in ${channel} (ts ${delivery.ts}) though not marked; marked it, posted nothing`, where);
    return 'already-posted';
  }
  // Between the post and the mark: a crash here is what step 2 recovers from.
  await deps.hooks?.afterPost?.(delivery.ts);
  try {
    await markPosted(db, channel, week.week, runId, delivery.ts);
    await clearProblem(db, channel);
  } catch (error) {
    // The claim stays; once stale, the next run finds this post in the channel and marks it.
    log.error(`digest: posted ${week.week} to ${channel} but could not mark it (database); the next run will find the post and mark it`, { ...where, error });
    return 'posted';
  }
  log.info(`digest: posted ${week.week} to ${channel}`, { ...where, ts: delivery.ts });
  return 'posted';
}

async function deliver(
  deps: DigestDeps,
  job: {
    week: string;
    weekStart: Date;
    runId: string;
    message: Reply['message'];
    mustLook: boolean;
    /** Draws the chart to upload before posting (no PUBLIC_URL). */
    upload?: () => Promise<Chart | null>;
    withChart?: (chart: { fileId: string; permalink?: string }) => Reply['message'];
  },
): Promise<Delivery> {
  const { client, channel, db, log } = deps;
  const delays = deps.retryDelaysMs ?? RETRY_DELAYS_MS;
  let retriesLeft = delays.length;
  let rateLimitWaits = 0;
  /** Whether a post may have landed already: look for it before posting (again). */
  let mustLook = job.mustLook;
  let looked = false;
  let lastError = '';
  let message = job.message;
  /** The chart step runs once a run, whatever the retries of the post. */
  let chartDone = false;
  let seenChart: SharedChart | null | 'unread' = 'unread';

  // One wait after a failed call, or the verdict that this firing is over.
  const after = async (out: Exclude<CallOutcome, { kind: 'ok' }>, what: string): Promise<Delivery | null> => {
    lastError = out.error;
    if (out.kind === 'rate-limited') {
      if (++rateLimitWaits > MAX_RATE_LIMIT_WAITS) return { kind: 'failed', error: `still rate-limited after ${MAX_RATE_LIMIT_WAITS} waits`, fix: null, mayHavePosted: mustLook };
      log.warn(`digest: ${what} rate-limited; waiting ${out.retryAfterS} s as Slack asks`, { channel, week: job.week });
      return (await sleep(out.retryAfterS * 1000, deps.signal)) ? null : { kind: 'failed', error: 'stopped while waiting', fix: null, mayHavePosted: mustLook };
    }
    if (out.kind === 'transient') {
      if (retriesLeft === 0) return { kind: 'failed', error: `${out.error} (after ${delays.length + 1} tries)`, fix: null, mayHavePosted: mustLook };
      const delay = delays[delays.length - retriesLeft--];
      log.warn(`digest: ${what} failed (${out.error}); trying again in ${delay} ms`, { channel, week: job.week });
      return (await sleep(delay, deps.signal)) ? null : { kind: 'failed', error: `stopped after ${out.error}`, fix: null, mayHavePosted: mustLook };
    }
    return { kind: 'failed', error: out.error, fix: fixFor(out.error, out.body.needed), mayHavePosted: mustLook };
  };

  for (;;) {
    if (deps.signal?.aborted) return { kind: 'failed', error: lastError ? `stopped after ${lastError}` : 'stopped', fix: null, mayHavePosted: mustLook };
    if (!(await touchClaim(db, channel, job.week, job.runId))) return { kind: 'lost-claim' };

    if (!looked || mustLook) {
      const found = await findEarlierPost(client, channel, job.week, job.weekStart);
      if (found.kind === 'found') return { kind: 'found', ts: found.ts };
      seenChart = found.kind === 'none' ? found.chart ?? null : 'unread';
      if (found.kind === 'error') {
        if (found.out.kind === 'refused' && !mustLook) {
          // Nothing suggests an earlier post: a missing channels:history scope must not stop the digest.
          log.warn(`digest: could not look for an earlier post in ${channel} (${found.out.error}); posting, as no earlier run left one in doubt`, {
            channel,
            week: job.week,
            fix: fixFor(found.out.error, found.out.body.needed) ?? undefined,
          });
        } else {
          const verdict = await after(found.out, 'conversations.history');
          if (verdict) return verdict;
          continue;
        }
      }
      looked = true;
      mustLook = false;
    }

    if (job.upload && !chartDone) {
      chartDone = true;
      const shared = await shareChart(deps, job.week, job.weekStart, job.upload, seenChart);
      if (shared && job.withChart) message = job.withChart(shared);
      if (shared) {
        try {
          await deps.hooks?.afterChartShared?.(shared.fileId);
        } catch (error) {
          throw new ProcessDied(error);
        }
      }
      if (!(await touchClaim(db, channel, job.week, job.runId))) return { kind: 'lost-claim' };
    }

    const out = await client.postJson('chat.postMessage', {
      channel,
      text: message.text,
      blocks: message.blocks,
      metadata: { event_type: DIGEST_EVENT_TYPE, event_payload: { week: job.week, run_id: job.runId } },
      unfurl_links: false,
      unfurl_media: false,
    });
    if (out.kind === 'ok') return { kind: 'posted', ts: typeof out.body.ts === 'string' ? out.body.ts : null };
    // A 5xx or a network error may hide a post that landed: look again before the next try.
    if (out.kind === 'transient') mustLook = true;
    const verdict = await after(out, 'chat.postMessage');
    if (verdict) return verdict;
  }
}

type Found = { kind: 'found'; ts: string } | { kind: 'none'; chart?: SharedChart } | { kind: 'error'; out: Exclude<CallOutcome, { kind: 'ok' }> };

/** The week's chart as shared in the channel. */
export interface SharedChart {
  fileId: string;
  permalink?: string;
}

/** The week's chart file among a page of messages, if there. */
function chartIn(messages: Record<string, unknown>[], week: string): SharedChart | undefined {
  const name = chartFileName(week);
  for (const m of messages) {
    const files = Array.isArray(m.files) ? (m.files as Record<string, unknown>[]) : [];
    const f = files.find((x) => x.name === name && typeof x.id === 'string');
    if (f) return { fileId: f.id as string, permalink: typeof f.permalink === 'string' ? f.permalink : undefined };
  }
  return undefined;
}

/**
 * A message in the channel since the week's start whose metadata tags it as this week's digest;
 * when there is none, the week's chart if an earlier run shared it (the same pages, read once).
 */
export async function findEarlierPost(client: WebApi, channel: string, week: string, since: Date): Promise<Found> {
  let cursor = '';
  let chart: SharedChart | undefined;
  for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
    const params: Record<string, string> = {
      channel,
      oldest: (Math.floor(since.getTime() / 1000) - 1).toString(),
      include_all_metadata: 'true',
      limit: '100',
    };
    if (cursor) params.cursor = cursor;
    const out = await client.postForm('conversations.history', params);
    if (out.kind !== 'ok') return { kind: 'error', out };
    const messages = Array.isArray(out.body.messages) ? (out.body.messages as Record<string, unknown>[]) : [];
    for (const m of messages) {
      const meta = m.metadata as { event_type?: unknown; event_payload?: Record<string, unknown> } | undefined;
      if (meta?.event_type === DIGEST_EVENT_TYPE && meta.event_payload?.week === week && typeof m.ts === 'string') return { kind: 'found', ts: m.ts };
    }
    chart ??= chartIn(messages, week);
    const next = (out.body.response_metadata as { next_cursor?: unknown } | undefined)?.next_cursor;
    if (!out.body.has_more || typeof next !== 'string' || next === '') return { kind: 'none', chart };
    cursor = next;
  }
  return { kind: 'none', chart };
}

/** The name the week's chart goes by in the channel: how a later run finds it. */
export function chartFileName(week: string): string {
  return `leadmaps-digest-${week}.png`;
}

/** Waits before looking again for a chart whose share may still be in Slack's processing (about a second). */
export const CHART_LOOK_DELAYS_MS: readonly number[] = [1000, 2000];

/**
 * The week's chart, shared in the channel once: found there from an earlier run, or
 * uploaded now. Any failure is logged and gives null: the digest goes without its chart.
 */
async function shareChart(
  deps: DigestDeps,
  week: string,
  since: Date,
  draw: () => Promise<Chart | null>,
  /** What this run's look at the channel saw: the chart, nothing, or 'unread' (the history could not be read). */
  seen: SharedChart | null | 'unread',
): Promise<SharedChart | null> {
  const { client, channel, log } = deps;
  const where = { channel, week };
  const warn = (why: string, fields: Record<string, unknown> = {}) => {
    log.warn(`digest: posting without the chart: ${why}`, { ...where, ...fields });
    return null;
  };
  if (seen !== null && seen !== 'unread') {
    log.info(`digest: the chart of ${week} is already in ${channel} (an earlier run shared it); reusing it`, { ...where, file: seen.fileId });
    return seen;
  }
  let chart: Chart | null;
  try {
    chart = await draw();
  } catch (error) {
    return warn('the chart could not be drawn', { error });
  }
  if (!chart) return null;
  const filename = chartFileName(week);
  const url = await client.postForm('files.getUploadURLExternal', { filename, length: String(chart.png.bytes.length), alt_txt: chart.alt.slice(0, 1000) });
  if (url.kind !== 'ok') return warn(`files.getUploadURLExternal: ${url.error}`, url.kind === 'refused' ? { fix: fixFor(url.error, url.body.needed) ?? undefined } : {});
  const uploadUrl = url.body.upload_url;
  const fileId = url.body.file_id;
  if (typeof uploadUrl !== 'string' || typeof fileId !== 'string') return warn('files.getUploadURLExternal gave no upload_url or file_id');
  const sent = await client.upload(uploadUrl, chart.png.bytes, filename);
  if (sent.kind !== 'ok') return warn(`the upload failed (${sent.error}); nothing was shared`);
  const title = `Falling companies · ${week}`;
  const done = await client.postJson('files.completeUploadExternal', { files: [{ id: fileId, title }], channel_id: channel });
  if (done.kind === 'ok') {
    const file = Array.isArray(done.body.files) ? (done.body.files[0] as Record<string, unknown> | undefined) : undefined;
    return { fileId, permalink: typeof file?.permalink === 'string' ? file.permalink : undefined };
  }
  if (done.kind === 'refused') return warn(`files.completeUploadExternal: ${done.error}`, { fix: fixFor(done.error, done.body.needed) ?? undefined });
  // 5xx, network error or 429 on completing: the share may have landed. Look (it takes Slack a moment), never complete twice.
  for (const delay of CHART_LOOK_DELAYS_MS) {
    if (!(await sleep(delay, deps.signal))) break;
    const found = await findChartShare(client, channel, week, since);
    if (found.kind === 'found') return found.chart;
  }
  return warn(`files.completeUploadExternal: ${done.error}; the chart may still appear in the channel, on its own`);
}

type ChartFound = { kind: 'found'; chart: SharedChart } | { kind: 'none' } | { kind: 'error'; error: string };

/** The week's chart file among the channel's messages since the week's start. */
export async function findChartShare(client: WebApi, channel: string, week: string, since: Date): Promise<ChartFound> {
  const found = await findEarlierPost(client, channel, week, since);
  if (found.kind === 'error') return { kind: 'error', error: found.out.error };
  if (found.kind === 'none') return found.chart ? { kind: 'found', chart: found.chart } : { kind: 'none' };
  return { kind: 'none' };
}


/**
 * The digest's chart as config says: with PUBLIC_URL (and a signing secret to sign with) an image
 * block whose URL the bot serves; otherwise an upload into the channel.
 */
export function digestChartFor(config: { publicUrl: string | undefined; slack: { signingSecret: string | undefined } }, links: ChartLinks | undefined, metric: Metric): DigestDeps['chart'] {
  if (config.publicUrl && config.slack.signingSecret && links) return { kind: 'link', image: (week, now) => links.digest(week, metric, CHART_RANGE, now) };
  return { kind: 'upload' };
}

// ---------------------------------------------------------------------------
// `/groups digest`: the preview, with where this week's post stands

export interface PreviewDeps {
  ctx: GroupsContext;
  /** Owners named in the preview as in the post. */
  owners?: OwnerDeps;
  channel: string | undefined;
  cron: string;
  tz: string;
}

/** This week's digest as it would be posted, plus a line on whether it was, and the channel's last problem. */
export function digestPreview(deps: PreviewDeps): (now: Date) => Promise<Reply> {
  return async (now) => {
    const built = await buildDigest(deps.ctx, { now, tz: deps.tz, owners: deps.owners });
    const notes: { mrkdwn: string; plain: string }[] = [];
    if (!deps.channel) {
      const s = 'Preview only: no digest is scheduled (DIGEST_CHANNEL is not set).';
      notes.push({ mrkdwn: s, plain: s });
    } else {
      const [status, problem] = await Promise.all([weekStatus(deps.ctx.db, deps.channel, built.week), lastProblem(deps.ctx.db, deps.channel)]);
      const ch = escapeMrkdwn(deps.channel);
      const when = status.postedAt ? ` ${relativeTime(status.postedAt, now)}` : '';
      const line =
        status.status === 'posted'
          ? { mrkdwn: `✅ This week's digest (${built.week}) was already posted to <#${ch}>${when}.`, plain: `This week's digest (${built.week}) was already posted to ${deps.channel}${when}.` }
          : status.status === 'claimed'
            ? { mrkdwn: `⏳ This week's digest (${built.week}) is being posted to <#${ch}> now.`, plain: `This week's digest (${built.week}) is being posted to ${deps.channel} now.` }
            : {
                mrkdwn: `Preview: this week's digest (${built.week}) has not been posted yet; it goes to <#${ch}> on \`${escapeMrkdwn(deps.cron)}\` (${escapeMrkdwn(deps.tz)}).`,
                plain: `Preview: this week's digest (${built.week}) has not been posted yet; it goes to ${deps.channel} on '${deps.cron}' (${deps.tz}).`,
              };
      notes.push(line);
      if (problem) {
        const fix = problem.fix ? ` Fix: ${problem.fix}.` : '';
        const text = `Last attempt to post to ${deps.channel} failed ${relativeTime(problem.at, now)}: ${problem.error}.${fix}`;
        notes.push({ mrkdwn: `⚠️ ${escapeMrkdwn(text)}`, plain: `Problem: ${text}` });
      }
    }
    const [head, ...rest] = built.reply.message.blocks;
    const context = { type: 'context' as const, elements: notes.map((n) => ({ type: 'mrkdwn' as const, text: n.mrkdwn })) };
    return {
      message: {
        text: [...notes.map((n) => n.mrkdwn), built.reply.message.text].join('\n'),
        blocks: head ? [head, context, ...rest].slice(0, 50) : [context],
      },
      terminal: [...notes.map((n) => n.plain), '', built.reply.terminal].join('\n'),
    };
  };
}
