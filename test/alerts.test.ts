/**
 * Direct alerts at the wire (issue 13): DMs to user ids through a fake Slack Web
 * API that remembers what was posted, one alert per (person, company, fall),
 * a new alert after a recovery and a new fall, two runs on one database at once,
 * 429 and 5xx answers, the daily cap with folding, and the buttons that stop them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { startAlertSchedule } from '../src/app/alert-schedule.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertDay, ALERT_EVENT_TYPE, planDms, runAlerts, type AlertDeps } from '../src/app/direct-alerts.js';
import { alertReason } from '../src/render/alert-message.js';
import type { TrendWindows } from '../src/domain/types.js';
import { setOwner, watch } from '../src/app/owners.js';
import { openDatabase, rows, type Database, type Db } from '../src/db/client.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, SIGNING_SECRET, startTestApp, testConfig, testDatabase, usingPostgres, WRITE_KEY, type TestDatabase } from './harness.js';
import { channelMemory, memoryLog, sleep, type ChannelMemory } from './helpers/digest.js';
import { blockAction, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { childEnv } from './helpers/child-env.js';

const KEY_ACTIONS = ['Report Created'];
const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 10, 30, 9, 0, 0)); // a Monday, 09:00 UTC
const TZ = 'UTC';

let fake: FakeSlack;
let memory: ChannelMemory;
let tdb: TestDatabase;
let db: Db;

/** A company busy from 90 to 21 days before `now`, then silent: it has gone quiet, so it is falling. */
async function quietCompany(key: string, name: string, now = NOW, lastDaysAgo = 21) {
  const batch: Record<string, unknown>[] = [{ type: 'group', userId: `${key}-p0`, groupId: key, traits: { name }, timestamp: new Date(now.getTime() - 90 * DAY).toISOString(), messageId: `${key}-g` }];
  for (let d = 90; d >= lastDaysAgo; d--) {
    for (let j = 0; j < 12; j++) {
      batch.push({ type: 'track', userId: `${key}-p${j % 3}`, event: 'Report Created', context: { groupId: key }, timestamp: new Date(now.getTime() - d * DAY + j * 60_000).toISOString(), messageId: `${key}-${d}-${j}-${now.getTime()}` });
    }
  }
  const events = parseRequest({ batch }, { endpoint: 'batch', receivedAt: now, groupKeyPath: null });
  await ingestEvents(db, events, { source: 'test', keyActions: new Set(KEY_ACTIONS) });
}

/** Busy again over the last 14 days: the company recovers. */
async function recover(key: string, now = NOW) {
  const batch: Record<string, unknown>[] = [];
  for (let d = 14; d >= 1; d--) {
    for (let j = 0; j < 14; j++) batch.push({ type: 'track', userId: `${key}-p${j % 3}`, event: 'Report Created', context: { groupId: key }, timestamp: new Date(now.getTime() - d * DAY + j * 60_000).toISOString(), messageId: `${key}-r-${d}-${j}` });
  }
  await ingestEvents(db, parseRequest({ batch }, { endpoint: 'batch', receivedAt: now, groupKeyPath: null }), { source: 'test', keyActions: new Set(KEY_ACTIONS) });
}

function deps(extra: Partial<AlertDeps> = {}): AlertDeps {
  return {
    db,
    client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }),
    tz: TZ,
    keyActions: KEY_ACTIONS,
    ownerTrait: 'owner_email',
    log: memoryLog().log,
    now: NOW,
    retryDelaysMs: [10, 10, 10],
    ...extra,
  };
}

const dmsTo = (user: string) => memory.postsTo(`D${user}`);
const companiesIn = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);

beforeAll(async () => {
  fake = await startFakeSlack();
  memory = channelMemory(fake);
  fake.respond.set('conversations.open', (call) => ({ body: { ok: true, channel: { id: `D${String(call.body.users)}` } } }));
  tdb = await testDatabase();
  db = tdb.database.db;
  await quietCompany('acct_globex', 'Globex');
});

afterAll(async () => {
  await tdb?.drop();
  await fake?.close();
});

describe('the plan of a day under the cap', () => {
  it.each([
    [3, 0, [[1], [2], [3]]],
    [5, 0, [[1], [2], [3], [4], [5]]],
    [7, 0, [[1], [2], [3], [4], [5, 6, 7]]],
    [3, 4, [[1, 2, 3]]],
    [2, 5, []],
    [0, 0, []],
  ])('%i pending with %i DMs already today', (n, used, expected) => {
    expect(planDms(Array.from({ length: n }, (_, i) => i + 1), used)).toEqual(expected);
  });

  it.each([
    [{ recent: 0, baseline: 600, ageDays: 200 }, null, /^No activity at all in the last 14 days, after about 100 in a usual 14 days\.$/],
    [{ recent: 54, baseline: 600, ageDays: 200 }, -0.46, /^\u221246 % over the last 14 days against its own usual rate\.$/],
    // With the trend's measured swing: the reason sentence `show` gives (domain/trend trendReason).
    [{ recent: 54, baseline: 600, ageDays: 200 }, -0.46, /^\u221246 % over the last 14 days; its weekly swing is usually ±12 %\.$/, { swing: 0.12 }],
    [{ recent: 0, baseline: 600, ageDays: 200 }, null, /^No activity at all in the last 14 days, after about 100 in a usual 14 days, gone quiet after regular activity; its weekly swing is usually ±30 %\.$/, { swing: 0.3, goneQuiet: true }],
  ] as [TrendWindows, number | null, RegExp, { swing?: number; goneQuiet?: boolean }?][])('the reason: %j', (windows, change, expected, verdict = {}) => {
    const row = { key: 'k', name: 'K', activity: { people: 1, events: 1, keyActions: 1, sessions: 1 }, windows, trend: 'down' as const, change, ...verdict };
    expect(alertReason(row)).toMatch(expected);
  });

  it('the day is counted in DIGEST_TZ', () => {
    expect(alertDay(new Date('2026-11-30T23:30:00Z'), 'UTC')).toBe('2026-11-30');
    expect(alertDay(new Date('2026-11-30T23:30:00Z'), 'Europe/Paris')).toBe('2026-12-01');
  });
});

describe('one DM per person, company and fall', () => {
  it('the owner and each watcher get one DM at their user id, with the figures, the reason and their buttons', async () => {
    await setOwner(db, 'acct_globex', 'UOWNER', 'UADMIN');
    await watch(db, 'acct_globex', 'UWATCH');
    const r = await runAlerts(deps());
    expect(r).toMatchObject({ falling: 1, sent: 2, failed: 0 });
    expect(fake.callsTo('conversations.open').map((c) => c.body.users).sort()).toEqual(['UOWNER', 'UWATCH']);
    const [owner] = dmsTo('UOWNER');
    const [watcher] = dmsTo('UWATCH');
    expect(owner.metadata).toMatchObject({ event_type: ALERT_EVENT_TYPE, event_payload: { day: '2026-11-30', slot: 1 } });
    const o = companiesIn(owner);
    expect(o).toContain('*Globex* is falling');
    expect(o).toContain('you own it');
    expect(o).toMatch(/No activity at all in the last 14 days, after about [\d,]+ in a usual 14 days/);
    expect(o).toContain('"text":"Not mine"');
    expect(o).not.toContain('Stop watching');
    expect(companiesIn(watcher)).toContain('"text":"Stop watching"');
    expect(companiesIn(watcher)).toContain('you watch it');
  });

  it('no second DM while it stays down, in later firings or a restart', async () => {
    const posts = memory.posted.length;
    expect(await runAlerts(deps())).toMatchObject({ sent: 0 });
    expect(await runAlerts(deps({ now: new Date(NOW.getTime() + DAY) }))).toMatchObject({ sent: 0 });
    expect(memory.posted.length).toBe(posts);
  });

  it('someone who starts watching a company already falling is told once', async () => {
    await watch(db, 'acct_globex', 'ULATE');
    expect(await runAlerts(deps())).toMatchObject({ sent: 1 });
    expect(await runAlerts(deps())).toMatchObject({ sent: 0 });
    expect(dmsTo('ULATE')).toHaveLength(1);
  });

  it('a recovery, then a new fall, alerts again', async () => {
    await recover('acct_globex');
    const rec = await runAlerts(deps());
    expect(rec).toMatchObject({ falling: 0, sent: 0 });
    const [f] = await rows<{ falling: boolean; fall_no: number }>(db, sql`select falling, fall_no from company_falls where company_key = 'acct_globex'`);
    expect(f).toEqual({ falling: false, fall_no: 1 });
    // Thirty days on, with no activity since: quiet again, a second fall.
    const later = new Date(NOW.getTime() + 30 * DAY);
    const again = await runAlerts(deps({ now: later }));
    expect(again).toMatchObject({ falling: 1, sent: 3 });
    expect(dmsTo('UOWNER')).toHaveLength(2);
    expect(dmsTo('UWATCH')).toHaveLength(2);
    expect(await runAlerts(deps({ now: later }))).toMatchObject({ sent: 0 });
  });
});

describe('failures and concurrency', () => {
  it('429 then OK: waits Retry-After, one DM', async () => {
    await quietCompany('acct_hooli', 'Hooli');
    await setOwner(db, 'acct_hooli', 'URATE', null);
    memory.script('chat.postMessage', 'DURATE', { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } });
    const started = Date.now();
    const r = await runAlerts(deps());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(r.sent).toBe(1);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.body.channel === 'DURATE')).toHaveLength(2);
    expect(dmsTo('URATE')).toHaveLength(1);
  });

  it('500 then OK: looks in the DM before trying again, one DM', async () => {
    await watch(db, 'acct_hooli', 'UFIVE');
    memory.script('chat.postMessage', 'DUFIVE', { status: 500, body: 'oops' });
    const r = await runAlerts(deps());
    expect(r.sent).toBe(1);
    expect(fake.callsTo('conversations.history').some((c) => c.body.channel === 'DUFIVE')).toBe(true);
    expect(dmsTo('UFIVE')).toHaveLength(1);
  });

  it('a 500 after Slack took the DM: found in the DM, not sent twice', async () => {
    await watch(db, 'acct_hooli', 'ULANDED');
    const normal = fake.respond.get('chat.postMessage')!;
    let first = true;
    fake.respond.set('chat.postMessage', async (call) => {
      const answer = await normal(call);
      if (call.body.channel === 'DULANDED' && first) {
        first = false;
        return { status: 503, body: 'upstream' };
      }
      return answer;
    });
    try {
      const r = await runAlerts(deps());
      expect(r).toMatchObject({ sent: 0, found: 1 });
    } finally {
      fake.respond.set('chat.postMessage', normal);
    }
    expect(dmsTo('ULANDED')).toHaveLength(1);
    expect(await runAlerts(deps())).toMatchObject({ sent: 0 });
  });

  it('in doubt without im:history: the DM is never sent twice, and the log says why and how to fix it', async () => {
    await watch(db, 'acct_hooli', 'UNOHIST');
    memory.script('chat.postMessage', 'DUNOHIST', { status: 500, body: 'oops' });
    memory.always('conversations.history', 'DUNOHIST', { body: { ok: false, error: 'missing_scope', needed: 'im:history' } });
    const log = memoryLog();
    try {
      expect(await runAlerts(deps({ log: log.log }))).toMatchObject({ sent: 0, failed: 0 });
      expect(await runAlerts(deps())).toMatchObject({ sent: 0, failed: 0 });
    } finally {
      memory.always('conversations.history', 'DUNOHIST', null);
    }
    expect(log.lines.join('\n')).toMatch(/may or may not have arrived .* it is not sent again\. Fix: add the bot scope im:history/);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.body.channel === 'DUNOHIST')).toHaveLength(1);
  });

  it('missing im:write: nothing sent, the fix logged, and a later firing sends it once', async () => {
    await watch(db, 'acct_hooli', 'USCOPE');
    const open = fake.respond.get('conversations.open')!;
    fake.respond.set('conversations.open', () => ({ body: { ok: false, error: 'missing_scope', needed: 'im:write' } }));
    const log = memoryLog();
    try {
      expect(await runAlerts(deps({ log: log.log }))).toMatchObject({ sent: 0, failed: 1 });
    } finally {
      fake.respond.set('conversations.open', open);
    }
    expect(log.lines.join('\n')).toMatch(/could not DM USCOPE: missing_scope\. Fix: add the bot scope im:write/);
    expect(await runAlerts(deps())).toMatchObject({ sent: 1 });
    expect(dmsTo('USCOPE')).toHaveLength(1);
  });

  it('a crash between the post and the mark: the next run (once the claim is stale) finds the DM and sends no second', async () => {
    await watch(db, 'acct_hooli', 'UCRASH');
    await expect(runAlerts(deps({ hooks: { afterPost: () => Promise.reject(new Error('crash')) } }))).rejects.toThrow('crash');
    expect(dmsTo('UCRASH')).toHaveLength(1);
    // A live claim is left alone...
    expect(await runAlerts(deps())).toMatchObject({ sent: 0, elsewhere: 1 });
    // ...a stale one is taken over, and the DM found.
    await db.execute(sql`update alert_messages set claimed_at = claimed_at - interval '11 minutes' where user_id = 'UCRASH'`);
    expect(await runAlerts(deps())).toMatchObject({ sent: 0, found: 1 });
    expect(dmsTo('UCRASH')).toHaveLength(1);
    const [m] = await rows<{ status: string; message_ts: string }>(db, sql`select status, message_ts from alert_messages where user_id = 'UCRASH'`);
    expect(m).toEqual({ status: 'sent', message_ts: dmsTo('UCRASH')[0].ts });
  });

  it('a crash before the post: the claim it left is taken over once stale, looked for in the DM, and sent once', async () => {
    await watch(db, 'acct_hooli', 'UEARLY');
    const [fall] = await rows<{ fall_no: number }>(db, sql`select fall_no from company_falls where company_key = 'acct_hooli'`);
    // What a run that died after its claim and before its post leaves behind.
    await db.execute(sql`insert into alert_recipients (user_id) values ('UEARLY')`);
    await db.execute(sql`insert into alert_messages (user_id, day, slot, status, run_id, claimed_at) values ('UEARLY', '2026-11-30', 1, 'claimed', 'dead-run', now())`);
    await db.execute(sql`insert into alerts_sent (user_id, company_key, fall_no, day, slot) values ('UEARLY', 'acct_hooli', ${fall.fall_no}, '2026-11-30', 1)`);
    expect(await runAlerts(deps())).toMatchObject({ sent: 0, elsewhere: 1 }); // it might still be running
    await db.execute(sql`update alert_messages set claimed_at = claimed_at - interval '11 minutes' where user_id = 'UEARLY'`);
    const looked = fake.callsTo('conversations.history').length;
    expect(await runAlerts(deps())).toMatchObject({ sent: 1 });
    expect(fake.callsTo('conversations.history').slice(looked).some((c) => c.body.channel === 'DUEARLY')).toBe(true);
    expect(dmsTo('UEARLY')).toHaveLength(1);
    expect(companiesIn(dmsTo('UEARLY')[0])).toContain('Hooli');
    expect(await runAlerts(deps())).toMatchObject({ sent: 0 });
  });

  it('two processes on one database at once still alert once', async () => {
    await quietCompany('acct_initech', 'Initech');
    for (const u of ['UP1', 'UP2', 'UP3']) await watch(db, 'acct_initech', u);
    const second: Database | null = usingPostgres ? await openDatabase({ databaseUrl: tdb.url }) : null;
    try {
      const other = second ? { db: second.db } : {};
      const [a, b] = await Promise.all([runAlerts(deps()), runAlerts(deps(other))]);
      expect(a.sent + b.sent).toBe(3);
    } finally {
      await second?.close();
    }
    for (const u of ['UP1', 'UP2', 'UP3']) expect(dmsTo(u)).toHaveLength(1);
  });
});

describe('the daily cap', () => {
  it('at most 5 DMs a day: 4 alerts, then one DM that folds the rest; the next day the cap starts again', async () => {
    const keys = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
    for (const k of keys) {
      await quietCompany(`acct_${k}`, `Co ${k}`);
      await watch(db, `acct_${k}`, 'UCAP');
    }
    const r = await runAlerts(deps());
    expect(r.sent).toBe(5);
    const dms = dmsTo('UCAP');
    expect(dms).toHaveLength(5);
    const folded = dms[4];
    expect(folded.text).toMatch(/^3 more of your companies started falling/);
    expect(companiesIn(folded)).toContain('at most 5 alert messages a day');
    const named = keys.filter((k) => dms.some((m) => companiesIn(m).includes(`Co ${k}`)));
    expect(named).toEqual(keys); // every company told, none twice
    await watch(db, 'acct_hooli', 'UCAP');
    expect(await runAlerts(deps())).toMatchObject({ sent: 0 }); // the cap is reached today
    expect(await runAlerts(deps({ now: new Date(NOW.getTime() + DAY) }))).toMatchObject({ sent: 1 });
    expect(dmsTo('UCAP')).toHaveLength(6);
  });
});

describe('buttons that stop the alerts', () => {
  it('Stop watching and Not mine, clicked in the DM, change who is alerted', async () => {
    const app = await startTestApp({ database: tdb.database, env: { SLACK_API_URL: fake.apiUrl, KEY_ACTIONS: KEY_ACTIONS.join(',') } });
    try {
      const click = (user: string, action_id: string, value: string) =>
        blockAction(app.url, {
          type: 'block_actions',
          user: { id: user },
          container: { type: 'message', is_ephemeral: false },
          channel: { id: `D${user}` },
          response_url: fake.responseUrl,
          actions: [{ action_id, value, type: 'button' }],
        });
      expect((await click('UWATCH', 'groups:unwatch:1', 'acct_globex')).status).toBe(200);
      const [stop] = await fake.waitFor('response_url', 1);
      expect(String(stop.body.text)).toContain('You no longer watch *Globex*');
      const w = await rows(db, sql`select 1 from company_watchers where company_key = 'acct_globex' and user_id = 'UWATCH'`);
      expect(w).toHaveLength(0);
      expect((await click('UOWNER', 'groups:disown:1', 'acct_globex')).status).toBe(200);
      const replies = await fake.waitFor('response_url', 2);
      expect(String(replies[1].body.text)).toContain('Nobody owns *Globex* now');
      const [o] = await rows<{ user_id: string | null }>(db, sql`select user_id from company_owners where company_key = 'acct_globex'`);
      expect(o.user_id).toBeNull();
      // Someone who does not own it cannot disown it.
      expect((await click('USTRANGER', 'groups:disown:1', 'acct_hooli')).status).toBe(200);
      const third = await fake.waitFor('response_url', 3);
      expect(String(third[2].body.text)).toContain('You do not own *Hooli*');
      const [h] = await rows<{ user_id: string | null }>(db, sql`select user_id from company_owners where company_key = 'acct_hooli'`);
      expect(h.user_id).toBe('URATE');
      // Details answers beside the alert, which stays.
      expect((await click('UOWNER', 'groups:show:0', 'acct_globex')).status).toBe(200);
      const fourth = await fake.waitFor('response_url', 4);
      expect(fourth[3].body.replace_original).toBe(false);
      expect(JSON.stringify(fourth[3].body.blocks)).toContain('Globex');
    } finally {
      await app.stop();
    }
  });
});

describe('data in a DM', () => {
  it('a hostile company name reaches the DM escaped, in blocks and fallback; no mention but none', async () => {
    await quietCompany('acct_evil', '<!channel> Evil & <b>Co</b>');
    await watch(db, 'acct_evil', 'UEVILW');
    expect(await runAlerts(deps())).toMatchObject({ sent: 1 });
    const [m] = dmsTo('UEVILW');
    // mrkdwn (sections, context) and the fallback are escaped; the header is plain_text, which Slack never parses.
    const mrkdwn: string[] = [];
    JSON.stringify(m.blocks, (k, v) => (v && v.type === 'mrkdwn' ? (mrkdwn.push(v.text), v) : v));
    expect(mrkdwn.length).toBeGreaterThan(1);
    for (const part of [mrkdwn.join('\n'), m.text]) {
      expect(part).toContain('&lt;!channel&gt; Evil &amp; &lt;b&gt;Co&lt;/b&gt;');
      expect(part).not.toMatch(/<[!@#]/);
    }
  });
});

describe('schedules', () => {
  it('two schedulers sharing one database, firing every 2 seconds, alert once', async () => {
    await quietCompany('acct_sched', 'Sched Co');
    for (const u of ['US1', 'US2']) await watch(db, 'acct_sched', u);
    const second = usingPostgres ? await openDatabase({ databaseUrl: tdb.url, migrate: false, max: 3 }) : tdb.database;
    const config = testConfig({ ALERT_CRON: '*/2 * * * * *', SLACK_API_URL: fake.apiUrl, KEY_ACTIONS: KEY_ACTIONS.join(',') });
    const runs: unknown[] = [];
    const schedules = [tdb.database, second].map((database) => startAlertSchedule({ config, database, log: memoryLog().log, now: () => NOW, onRun: (o) => runs.push(o) }));
    try {
      const until = Date.now() + 20_000;
      while (runs.length < 4 && Date.now() < until) await sleep(100);
    } finally {
      await Promise.all(schedules.map((x) => x.stop()));
      if (second !== tdb.database) await second.close();
    }
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs).not.toContain('error');
    for (const u of ['US1', 'US2']) expect(dmsTo(u)).toHaveLength(1);
  }, 60_000);
});

describe.skipIf(!usingPostgres)('two `npm start` processes sharing one PostgreSQL database', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  function start(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
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
        ALERT_CRON: '*/2 * * * * *',
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

  it('each person gets one DM per fall, whatever the two processes fire; SIGTERM stops them cleanly', async () => {
    // Relative to the real clock: the processes read it.
    await quietCompany('acct_procs', 'Procs Co', new Date());
    for (const u of ['UPR1', 'UPR2']) await watch(db, 'acct_procs', u);
    const a = start();
    const b = start();
    const until = Date.now() + 30_000;
    while ((dmsTo('UPR1').length === 0 || dmsTo('UPR2').length === 0) && Date.now() < until) await sleep(100);
    // Both keep firing every 2 seconds.
    await sleep(5_000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(`${a.output()}${b.output()}`).toContain("alerts: checking falling companies for their owners and watchers on '*/2 * * * * *' (UTC)");
    for (const u of ['UPR1', 'UPR2']) expect(dmsTo(u)).toHaveLength(1);
  }, 90_000);
});
