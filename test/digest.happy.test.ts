/**
 * The weekly digest when all goes well, at the wire: its content on the worked
 * example, one post per channel and week across runs, restarts, two schedulers
 * and (with PostgreSQL) two real `npm start` processes sharing the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDigest, DIGEST_EVENT_TYPE, digestWeek, runDigest, type DigestDeps } from '../src/app/weekly-digest.js';
import { startDigestSchedule } from '../src/app/digest-schedule.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, SIGNING_SECRET, startTestApp, testConfig, testDatabase, usingPostgres, WRITE_KEY, type TestDatabase } from './harness.js';
import { channelMemory, digestRow, loadWorkedExample, memoryLog, sleep, type ChannelMemory } from './helpers/digest.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { childEnv } from './helpers/child-env.js';

let fake: FakeSlack;
let memory: ChannelMemory;
let tdb: TestDatabase;
let db: Database['db'];
const NOW = new Date();
const TZ = 'UTC';
const WEEK = digestWeek(NOW, TZ);
const KEY_ACTIONS = EXAMPLE_KEY_ACTIONS;

beforeAll(async () => {
  fake = await startFakeSlack();
  memory = channelMemory(fake);
  tdb = await testDatabase();
  db = tdb.database.db;
  await loadWorkedExample(db, NOW);
});

afterAll(async () => {
  await tdb?.drop();
  await fake?.close();
});

function deps(channel: string, extra: Partial<DigestDeps> = {}): DigestDeps {
  return {
    db,
    client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }),
    channel,
    tz: TZ,
    keyActions: KEY_ACTIONS,
    log: memoryLog().log,
    ...extra,
  };
}

/** The mrkdwn of every block before the divider: the falling list. */
function fallingPart(blocks: any[]): string {
  const end = blocks.findIndex((b) => b.type === 'divider');
  return JSON.stringify(blocks.slice(0, end));
}

describe('content, on the worked example', () => {
  it('lists Globex as falling, not Acme Inc nor Northwind Ltd; Acme Inc is in the good news', async () => {
    const built = await buildDigest({ db, keyActions: KEY_ACTIONS }, { now: NOW, tz: TZ });
    expect(built.week).toBe(WEEK.week);
    expect(built.input.falling.map((r) => r.name)).toEqual(['Globex']);
    expect(built.input.growing.map((r) => r.name)).toContain('Acme Inc');
    expect(built.input.counts.total).toBe(3);
    expect(built.input.metric).toBe('key_actions');
    expect(built.reply.terminal).toContain(`Weekly digest · ${WEEK.label}`);
    expect(built.reply.terminal).toContain('Globex');
  });

  it('the posted message: title with the week, Globex with its numbers and a button, the good news, the counts', async () => {
    const ch = 'C0CONTENT';
    expect(await runDigest(deps(ch))).toBe('posted');
    const [m] = memory.postsTo(ch);
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { text: `Weekly digest · ${WEEK.label}` } });
    const falling = fallingPart(m.blocks);
    expect(falling).toContain('Globex');
    expect(falling).not.toContain('Acme');
    expect(falling).not.toContain('Northwind');
    expect(falling).toMatch(/key actions in the last \d+ days, was about [\d,]+, \u2212\d+ %/);
    expect(falling).toMatch(/"type":"button"/);
    const rest = JSON.stringify(m.blocks.slice(m.blocks.findIndex((b: any) => b.type === 'divider')));
    expect(rest).toContain('Growing most: Acme Inc');
    expect(rest).toContain('Accounts: 3 active');
    expect(m.text).toContain('Globex');
  });
});

describe('once per channel and week', () => {
  it('posts with chat.postMessage, our own call: JSON, bearer token, metadata, no unfurls, no link_names or parse', async () => {
    const ch = 'C0WIRE';
    expect(await runDigest(deps(ch, { runId: 'run-wire' }))).toBe('posted');
    const calls = fake.callsTo('chat.postMessage').filter((c) => c.body.channel === ch);
    expect(calls).toHaveLength(1);
    const { body, headers } = calls[0];
    expect(headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(body).toMatchObject({
      channel: ch,
      metadata: { event_type: DIGEST_EVENT_TYPE, event_payload: { week: WEEK.week, run_id: 'run-wire' } },
      unfurl_links: false,
      unfurl_media: false,
    });
    expect(body).not.toHaveProperty('link_names');
    expect(body).not.toHaveProperty('parse');
    expect(typeof body.text).toBe('string');
    expect(Array.isArray(body.blocks)).toBe(true);
    expect(await digestRow(db, ch, WEEK.week)).toMatchObject({ status: 'posted', run_id: 'run-wire', message_ts: memory.postsTo(ch)[0].ts });
  });

  it('a restart (a new run, a new schedule) posts no second one', async () => {
    const ch = 'C0RESTART';
    expect(await runDigest(deps(ch))).toBe('posted');
    expect(await runDigest(deps(ch))).toBe('already-posted');
    const outcomes: string[] = [];
    const schedule = startDigestSchedule({
      config: testConfig({ DIGEST_CHANNEL: ch, DIGEST_CRON: '*/2 * * * * *', SLACK_API_URL: fake.apiUrl, KEY_ACTIONS: KEY_ACTIONS.join(',') }),
      database: tdb.database,
      log: memoryLog().log,
      onRun: (o) => outcomes.push(o),
    });
    try {
      while (outcomes.length < 2) await sleep(100);
    } finally {
      await schedule.stop();
    }
    expect(outcomes.slice(0, 2)).toEqual(['already-posted', 'already-posted']);
    expect(memory.postsTo(ch)).toHaveLength(1);
  });

  it("two schedulers sharing one database, firing every 2 seconds, post exactly one digest", async () => {
    const ch = 'C0TWOSCHED';
    const second = usingPostgres ? await openDatabase({ databaseUrl: tdb.url, migrate: false, max: 3 }) : tdb.database;
    const config = testConfig({ DIGEST_CHANNEL: ch, DIGEST_CRON: '*/2 * * * * *', SLACK_API_URL: fake.apiUrl, KEY_ACTIONS: KEY_ACTIONS.join(',') });
    const outcomes: string[][] = [[], []];
    const logs = [memoryLog(), memoryLog()];
    const schedules = [tdb.database, second].map((database, i) =>
      startDigestSchedule({ config, database, log: logs[i].log, onRun: (o) => outcomes[i].push(o) }),
    );
    try {
      await fake.waitFor('chat.postMessage', fake.callsTo('chat.postMessage').length + 1, 10_000);
      // Three more firings each.
      const until = Date.now() + 15_000;
      while ((outcomes[0].length < 4 || outcomes[1].length < 4) && Date.now() < until) await sleep(100);
    } finally {
      await Promise.all(schedules.map((s) => s.stop()));
      if (second !== tdb.database) await second.close();
    }
    const all = [...outcomes[0], ...outcomes[1]];
    expect(all.filter((o) => o === 'posted')).toHaveLength(1);
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.every((o) => o === 'posted' || o === 'already-posted' || o === 'claimed-elsewhere')).toBe(true);
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.body.channel === ch)).toHaveLength(1);
    expect((await digestRow(db, ch, WEEK.week))?.status).toBe('posted');
  });

  it('/groups digest previews this week\'s digest, ephemerally, saying it was already posted', async () => {
    const ch = 'C0CONTENT';
    const app = await startTestApp({ database: tdb.database, env: { DIGEST_CHANNEL: ch, SLACK_API_URL: fake.apiUrl, KEY_ACTIONS: KEY_ACTIONS.join(',') } });
    try {
      const res = await slashCommand(app.url, 'digest', fake.responseUrl);
      expect(res.status).toBe(200);
      expect(res.json.response_type).toBe('ephemeral');
      expect(res.json.blocks[0]).toMatchObject({ type: 'header', text: { text: `Weekly digest · ${WEEK.label}` } });
      const all = JSON.stringify(res.json.blocks);
      expect(all).toContain(`This week's digest (${WEEK.week}) was already posted to <#${ch}>`);
      expect(fallingPart(res.json.blocks)).toContain('Globex');
      // A preview posts nothing.
      expect(memory.postsTo(ch)).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });
});

describe.skipIf(!usingPostgres)('two `npm start` processes sharing one PostgreSQL database', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  function start(channel: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    let out = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: childEnv({
        DATABASE_URL: tdb.url,
        SLACK_API_URL: fake.apiUrl,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        INGEST_WRITE_KEYS: WRITE_KEY,
        KEY_ACTIONS: KEY_ACTIONS.join(','),
        DIGEST_CHANNEL: channel,
        DIGEST_CRON: '*/2 * * * * *',
        DIGEST_TZ: TZ,
        PORT: '0',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => out, exited };
  }

  async function waitForOutput(p: { output: () => string }, pattern: RegExp, ms = 30_000) {
    const until = Date.now() + ms;
    while (!pattern.test(p.output())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output:\n${p.output()}`);
      await sleep(100);
    }
  }

  it('post exactly one digest; a restart posts no second one; SIGTERM stops them cleanly', async () => {
    const ch = 'C0PROCS';
    const posts = () => fake.callsTo('chat.postMessage').filter((c) => c.body.channel === ch);
    const a = start(ch);
    const b = start(ch);
    await waitForOutput(a, /digest: posting to C0PROCS on '\*\/2 \* \* \* \* \*' \(UTC\)/);
    await waitForOutput(b, /digest: posting to C0PROCS on/);
    const until = Date.now() + 20_000;
    while (posts().length === 0 && Date.now() < until) await sleep(100);
    expect(posts()).toHaveLength(1);
    // Both keep firing every 2 seconds: each sees the week taken.
    await waitForOutput(a, /already posted to C0PROCS|being posted by another run/);
    await waitForOutput(b, /already posted to C0PROCS|being posted by another run/);
    await sleep(4_500);
    expect(posts()).toHaveLength(1);
    expect(`${a.output()}${b.output()}`.match(/"digest: posted /g)).toHaveLength(1);

    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);

    const c = start(ch);
    await waitForOutput(c, /already posted to C0PROCS/);
    await sleep(2_500);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(posts()).toHaveLength(1);
    expect(memory.postsTo(ch)).toHaveLength(1);
    expect((await digestRow(db, ch, WEEK.week))?.status).toBe('posted');
  }, 90_000);
});
