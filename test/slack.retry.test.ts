/**
 * Slack's Events API retries (X-Slack-Retry-Num / X-Slack-Retry-Reason): a
 * delivery whose event_id was handled before is acknowledged and skipped, also
 * when another process sharing the database handled the first one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rows } from '../src/db/client.js';
import { pruneSeenEvents, SEEN_EVENT_TTL_MS } from '../src/slack/dedupe.js';
import { startTestApp, type TestApp } from './harness.js';
import { eventCallback, startFakeSlack, type FakeSlack } from './helpers/slack.js';

const homeOpened = { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1700000000.000100' };
const retry = (n: number) => ({ headers: { 'x-slack-retry-num': String(n), 'x-slack-retry-reason': 'http_timeout' } });

describe('Slack event retries', () => {
  let slack: FakeSlack;
  let a: Awaited<ReturnType<typeof startTestApp>>;
  let b: TestApp;
  beforeAll(async () => {
    slack = await startFakeSlack();
    a = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    // A second process on the same database.
    b = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl }, database: a.database });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await a?.dropDatabase();
    await slack?.close();
  });

  const publishesSoon = async () => {
    await new Promise((r) => setTimeout(r, 600));
    return slack.callsTo('views.publish').length;
  };

  it('the same event delivered twice (second with X-Slack-Retry-Num: 1) publishes once', async () => {
    const before = slack.callsTo('views.publish').length;
    expect((await eventCallback(a.url, homeOpened, { eventId: 'EvRetry1' })).status).toBe(200);
    await slack.waitFor('views.publish', before + 1);
    const again = await eventCallback(a.url, homeOpened, { eventId: 'EvRetry1', ...retry(1) });
    expect(again.status).toBe(200);
    expect(await publishesSoon()).toBe(before + 1);
    expect(a.logs.some((l) => l.includes('skipped a Slack event delivered again') && l.includes('"retryNum":1'))).toBe(true);
  });

  it('a retry reaching another process sharing the database is skipped too; a new event is not', async () => {
    const before = slack.callsTo('views.publish').length;
    await eventCallback(a.url, homeOpened, { eventId: 'EvRetry2' });
    await slack.waitFor('views.publish', before + 1);
    expect((await eventCallback(b.url, homeOpened, { eventId: 'EvRetry2', ...retry(2) })).status).toBe(200);
    expect(await publishesSoon()).toBe(before + 1);
    await eventCallback(b.url, homeOpened, { eventId: 'EvRetry3' });
    await slack.waitFor('views.publish', before + 2);
  });

  it('retries arriving together are handled once', async () => {
    const before = slack.callsTo('views.publish').length;
    const all = await Promise.all([0, 1, 2, 3].map((n) => eventCallback(n % 2 ? b.url : a.url, homeOpened, { eventId: 'EvBurst', ...(n ? retry(n) : {}) })));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await publishesSoon()).toBe(before + 1);
  });

  it('seen ids are pruned after an hour', async () => {
    const db = a.database.db;
    await db.execute(sql`insert into slack_events_seen (event_id, seen_at) values ('EvOld', now() - interval '2 hours')`);
    await pruneSeenEvents(db, new Date());
    const left = await rows<{ event_id: string }>(db, sql`select event_id from slack_events_seen order by event_id`);
    expect(left.map((r) => r.event_id)).not.toContain('EvOld');
    expect(left.map((r) => r.event_id)).toContain('EvRetry1');
    expect(SEEN_EVENT_TTL_MS).toBe(3_600_000);
  });
});
