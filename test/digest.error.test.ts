/**
 * The digest when things go wrong, at the wire: Slack answering 500, 429 or
 * refusing the channel, the network failing, a crash between the post and the
 * mark, stale claims, concurrent runs. Each test posts to a channel of its own.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_FIX, DIGEST_EVENT_TYPE, digestWeek, lastProblem, runDigest, type DigestDeps } from '../src/app/weekly-digest.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, startTestApp, testDatabase, usingPostgres, type TestDatabase } from './harness.js';
import { ageClaim, channelMemory, digestRow, memoryLog, refused, type ChannelMemory } from './helpers/digest.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

let fake: FakeSlack;
let memory: ChannelMemory;
let tdb: TestDatabase;
let db: Database['db'];
const TZ = 'UTC';
const week = () => digestWeek(new Date(), TZ).week;

beforeAll(async () => {
  fake = await startFakeSlack();
  memory = channelMemory(fake);
  tdb = await testDatabase();
  db = tdb.database.db;
});

afterAll(async () => {
  await tdb?.drop();
  await fake?.close();
});

function deps(channel: string, extra: Partial<DigestDeps> = {}) {
  const logged = memoryLog();
  return {
    logged,
    deps: {
      db,
      client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }),
      channel,
      tz: TZ,
      keyActions: [],
      log: logged.log,
      retryDelaysMs: [10, 20, 40],
      ...extra,
    } satisfies DigestDeps,
  };
}

const postsCalls = (channel: string) => fake.callsTo('chat.postMessage').filter((c) => c.body.channel === channel);
const historyCalls = (channel: string) => fake.callsTo('conversations.history').filter((c) => c.body.channel === channel);

describe('5xx, network errors and 429', () => {
  it('a 500 and then success gives one post (looking for the first one before trying again)', async () => {
    const ch = 'C0ERR500';
    memory.script('chat.postMessage', ch, { status: 500, body: 'oops' });
    const { deps: d } = deps(ch);
    expect(await runDigest(d)).toBe('posted');
    expect(postsCalls(ch)).toHaveLength(2);
    expect(memory.postsTo(ch)).toHaveLength(1);
    // Once before the first post, once more after the 500 (which might have landed).
    expect(historyCalls(ch)).toHaveLength(2);
    expect((await digestRow(db, ch, week()))?.status).toBe('posted');
    expect(await lastProblem(db, ch)).toBeNull();
  });

  it('a 429 with Retry-After: 1 gives one post, after the wait', async () => {
    const ch = 'C0ERR429';
    memory.script('chat.postMessage', ch, { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } });
    const { deps: d, logged } = deps(ch);
    expect(await runDigest(d)).toBe('posted');
    const calls = postsCalls(ch);
    expect(calls).toHaveLength(2);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(1000);
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect(logged.lines.join('\n')).toMatch(/rate-limited; waiting 1 s/);
  });

  it('5xx every time: gives up after 4 tries, leaves the week unclaimed, logs channel, week and error; a later firing posts once', async () => {
    const ch = 'C0ERR503';
    memory.always('chat.postMessage', ch, { status: 503, body: 'unavailable' });
    const { deps: d, logged } = deps(ch);
    expect(await runDigest(d)).toBe('failed');
    expect(postsCalls(ch)).toHaveLength(4);
    expect(await digestRow(db, ch, week())).toBeNull();
    const error = logged.entries().find((e) => e.level === 'error')!;
    expect(error.msg).toContain(ch);
    expect(error.msg).toContain(week());
    expect(error.msg).toContain('HTTP 503');
    expect(error).toMatchObject({ channel: ch, week: week() });
    const problem = await lastProblem(db, ch);
    expect(problem).toMatchObject({ error: expect.stringContaining('HTTP 503'), mayHavePosted: true });

    memory.always('chat.postMessage', ch, null);
    const before = historyCalls(ch).length;
    expect(await runDigest(deps(ch).deps)).toBe('posted');
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect(historyCalls(ch).length).toBeGreaterThan(before);
    expect(await lastProblem(db, ch)).toBeNull();
  });

  it('a 5xx that did land: the retry finds it in the channel and posts nothing more', async () => {
    const ch = 'C0ERRLAND';
    // Slack stores the message, then the answer is lost in a 502.
    const inner = fake.respond.get('chat.postMessage')!;
    let first = true;
    fake.respond.set('chat.postMessage', async (call) => {
      const answer = await inner(call);
      if (call.body.channel === ch && first) {
        first = false;
        return { status: 502, body: 'bad gateway' };
      }
      return answer;
    });
    try {
      expect(await runDigest(deps(ch).deps)).toBe('already-posted');
    } finally {
      fake.respond.set('chat.postMessage', inner);
    }
    expect(postsCalls(ch)).toHaveLength(1);
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect(await digestRow(db, ch, week())).toMatchObject({ status: 'posted', message_ts: memory.postsTo(ch)[0].ts });
  });

  it('a network error: retried, then the firing gives up and leaves the week unclaimed', async () => {
    const ch = 'C0ERRNET';
    const { deps: d, logged } = deps(ch, { client: createWebApi({ apiUrl: 'http://127.0.0.1:9/api/', token: BOT_TOKEN, timeoutMs: 2000 }) });
    expect(await runDigest(d)).toBe('failed');
    expect(await digestRow(db, ch, week())).toBeNull();
    expect(logged.lines.filter((l) => l.includes('trying again'))).toHaveLength(3);
    expect(logged.entries().find((e) => e.level === 'error')?.msg).toMatch(/could not post .* to C0ERRNET: network/);
  });
});

describe('a crash between the post and the mark', () => {
  it('leaves one post: the claim goes stale, the next run finds the post by its metadata and marks it', async () => {
    const ch = 'C0CRASH';
    const crash = new Error('process died');
    const first = deps(ch, { runId: 'run-crashed', hooks: { afterPost: () => Promise.reject(crash) } });
    await expect(runDigest(first.deps)).rejects.toBe(crash);
    expect(memory.postsTo(ch)).toHaveLength(1);
    const posted = memory.postsTo(ch)[0];
    expect(posted.metadata).toEqual({ event_type: DIGEST_EVENT_TYPE, event_payload: { week: week(), run_id: 'run-crashed' } });
    expect(await digestRow(db, ch, week())).toMatchObject({ status: 'claimed', run_id: 'run-crashed' });

    // Soon after (a restart): the claim is still fresh, so nobody touches the week.
    expect(await runDigest(deps(ch).deps)).toBe('claimed-elsewhere');
    expect(postsCalls(ch)).toHaveLength(1);

    // Ten minutes on, the claim is stale: taken over, the earlier post is found, nothing is posted.
    await ageClaim(db, ch, week(), 11);
    const recovery = deps(ch, { runId: 'run-recovery' });
    expect(await runDigest(recovery.deps)).toBe('already-posted');
    expect(postsCalls(ch)).toHaveLength(1);
    expect(await digestRow(db, ch, week())).toMatchObject({ status: 'posted', message_ts: posted.ts });
    const history = historyCalls(ch).at(-1)!;
    expect(history.body).toMatchObject({ channel: ch, include_all_metadata: 'true', limit: '100' });
    expect(Number(history.body.oldest)).toBeLessThan(Number(posted.ts));
    expect(recovery.logged.lines.join('\n')).toMatch(/took over a stale claim/);

    // And later firings see it posted.
    expect(await runDigest(deps(ch).deps)).toBe('already-posted');
    expect(postsCalls(ch)).toHaveLength(1);
  });

  it('finds the earlier post beyond the first page of history', async () => {
    const ch = 'C0CRASHPG';
    await expect(runDigest(deps(ch, { hooks: { afterPost: () => Promise.reject(new Error('died')) } }).deps)).rejects.toThrow('died');
    // 250 later messages in the channel push the digest to the third page.
    for (let i = 0; i < 250; i++) {
      memory.posted.push({ channel: ch, ts: `${Math.floor(Date.now() / 1000)}.${String(900000 + i)}`, text: `chatter ${i}`, blocks: [], metadata: undefined });
    }
    await ageClaim(db, ch, week(), 30);
    const before = historyCalls(ch).length;
    expect(await runDigest(deps(ch).deps)).toBe('already-posted');
    expect(historyCalls(ch).length - before).toBe(3);
    expect(historyCalls(ch).at(-1)!.body.cursor).toBeTruthy();
    expect(postsCalls(ch)).toHaveLength(1);
  });

  it('a crash before the post: the stale claim is taken over and the digest posted once', async () => {
    const ch = 'C0CRASHPRE';
    await db.execute(sql`insert into digest_runs (channel, week, status, run_id, claimed_at) values (${ch}, ${week()}, 'claimed', 'run-died-early', now() - interval '15 minutes')`);
    expect(await runDigest(deps(ch).deps)).toBe('posted');
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect((await digestRow(db, ch, week()))?.status).toBe('posted');
  });

  it('a stale claim and no channels:history scope: does not post blind; says which scope to add', async () => {
    const ch = 'C0NOSCOPE';
    await db.execute(sql`insert into digest_runs (channel, week, status, run_id, claimed_at) values (${ch}, ${week()}, 'claimed', 'run-x', now() - interval '15 minutes')`);
    memory.always('conversations.history', ch, refused('missing_scope', { needed: 'channels:history', provided: 'chat:write,commands' }));
    const { deps: d, logged } = deps(ch);
    expect(await runDigest(d)).toBe('failed');
    expect(postsCalls(ch)).toHaveLength(0);
    expect(logged.lines.join('\n')).toContain('add the bot scope channels:history');
    expect(await lastProblem(db, ch)).toMatchObject({ error: 'missing_scope' });
    expect(await digestRow(db, ch, week())).toBeNull();
  });

  it('a fresh week and no channels:history scope: posts anyway (nothing is in doubt) and warns', async () => {
    const ch = 'C0NOSCOPE2';
    memory.always('conversations.history', ch, refused('missing_scope', { needed: 'channels:history' }));
    const { deps: d, logged } = deps(ch);
    expect(await runDigest(d)).toBe('posted');
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect(logged.entries().some((e) => e.level === 'warn' && /could not look for an earlier post/.test(e.msg))).toBe(true);
  });
});

describe('the channel is wrong', () => {
  it.each(['channel_not_found', 'not_in_channel', 'is_archived'])('%s: no retry, no post, the fix in the log, the week left unclaimed', async (error) => {
    const ch = `C0BAD${error.length}${error[0].toUpperCase()}`;
    memory.always('chat.postMessage', ch, refused(error));
    const { deps: d, logged } = deps(ch);
    expect(await runDigest(d)).toBe('failed');
    expect(postsCalls(ch)).toHaveLength(1);
    expect(memory.postsTo(ch)).toHaveLength(0);
    expect(await digestRow(db, ch, week())).toBeNull();
    const line = logged.entries().find((e) => e.level === 'error')!;
    expect(line.msg).toContain(error);
    expect(line.msg).toContain(ch);
    expect(line.msg).toContain(error === 'is_archived' ? 'unarchive' : '/invite @leadmaps');
    expect(await lastProblem(db, ch)).toMatchObject({ error, mayHavePosted: false });
  });

  it('/groups digest (a signed slash command) shows the problem and its fix; a later good post clears it', async () => {
    const ch = 'C0NOTFOUND';
    memory.always('chat.postMessage', ch, refused('channel_not_found'));
    expect(await runDigest(deps(ch).deps)).toBe('failed');
    const app = await startTestApp({ database: tdb.database, env: { DIGEST_CHANNEL: ch, SLACK_API_URL: fake.apiUrl } });
    try {
      const res = await slashCommand(app.url, 'digest', fake.responseUrl);
      expect(res.status).toBe(200);
      expect(res.json.response_type).toBe('ephemeral');
      const all = JSON.stringify(res.json.blocks);
      expect(all).toContain('channel_not_found');
      expect(all).toContain('/invite @leadmaps');
      expect(all).toContain('has not been posted yet');
      expect(res.json.text).toContain('channel_not_found');

      memory.always('chat.postMessage', ch, null);
      expect(await runDigest(deps(ch).deps)).toBe('posted');
      const again = await slashCommand(app.url, 'digest', fake.responseUrl);
      const blocks = JSON.stringify(again.json.blocks);
      expect(blocks).not.toContain('channel_not_found');
      expect(blocks).toContain('already posted');
    } finally {
      await app.stop();
    }
    expect(CHANNEL_FIX).toContain('DIGEST_CHANNEL');
  });
});

describe('concurrent runs', () => {
  it('eight runs at once, on separate connections where the database has them: one post', async () => {
    const ch = 'C0RACE';
    const extra: Database[] = [];
    if (usingPostgres) for (let i = 0; i < 3; i++) extra.push(await openDatabase({ databaseUrl: tdb.url, migrate: false, max: 3 }));
    try {
      const dbs = [db, ...extra.map((e) => e.db)];
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => runDigest(deps(ch, { db: dbs[i % dbs.length] }).deps)));
      expect(outcomes.filter((o) => o === 'posted')).toHaveLength(1);
      expect(outcomes.every((o) => o === 'posted' || o === 'claimed-elsewhere' || o === 'already-posted')).toBe(true);
      expect(memory.postsTo(ch)).toHaveLength(1);
    } finally {
      for (const e of extra) await e.close();
    }
  });
});
