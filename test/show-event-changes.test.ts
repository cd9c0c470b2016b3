/**
 * What changed in a company's events (issue 16 points 2 and 3), at the wire: events sent
 * through the ingestion API; a signed `/groups show`, the App Home detail view (signed
 * app_home_opened and a Details click), the weekly digest and a direct alert through the fake
 * Slack Web API. A company that stopped one feature while the others held has that feature,
 * and only it, under Stopped; an event that went from 2 a week to nothing is not news; hostile
 * event names reach Slack escaped everywhere.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlerts } from '../src/app/direct-alerts.js';
import { setOwner } from '../src/app/owners.js';
import { runDigest } from '../src/app/weekly-digest.js';
import { rows } from '../src/db/client.js';
import { dayString, utcDay } from '../src/domain/period.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, post, startTestApp } from './harness.js';
import { channelMemory, memoryLog, type ChannelMemory } from './helpers/digest.js';
import { blockAction, eventCallback, slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { allText, elements, expectValidView, mrkdwnTexts, type ViewLike } from './helpers/view.js';

const NOW = new Date();
const HOSTILE = ['<!channel>', '<@U123>', '<https://x|y>', '&amp;'] as const;
const ESCAPED: Record<(typeof HOSTILE)[number], string> = {
  '<!channel>': '&lt;!channel&gt;',
  '<@U123>': '&lt;@U123&gt;',
  '<https://x|y>': '&lt;https://x|y&gt;',
  '&amp;': '&amp;amp;',
};
const DAYS = 100;

/** `n` tracks of `event` on the day `back` days before today (minutes after midnight UTC: always in the past). */
function tracks(key: string, event: string, back: number, n: number): Record<string, unknown>[] {
  const day = utcDay(NOW, -back).getTime();
  return Array.from({ length: n }, (_, j) => ({
    type: 'track',
    userId: `${key}-u${j % 3}`,
    event,
    timestamp: new Date(day + (j + 1) * 60_000).toISOString(),
    messageId: `${key}-${event}-${back}-${j}`,
    context: { groupId: key },
  }));
}

/** The first day (back) of each of the 12 baseline weeks: week i holds back 98 - 7i down to 92 - 7i. */
const weekStart = (i: number) => 98 - 7 * i;

function stopco(): Record<string, unknown>[] {
  const key = 'acct_stopco';
  const calls: Record<string, unknown>[] = [{ type: 'group', userId: `${key}-u0`, groupId: key, traits: { name: 'Stopco' }, timestamp: utcDay(NOW, -DAYS).toISOString() }];
  for (let back = DAYS; back >= 1; back--) {
    calls.push(...tracks(key, 'Report Created', back, 6), ...tracks(key, 'Invite Sent', back, 3));
    // Shared dashboards every day until 22 days ago, then never again.
    if (back >= 22) calls.push(...tracks(key, 'Dashboard Shared', back, 4));
  }
  // 2 exports in every other baseline week, none since: 2 → 0, and used in only half the weeks.
  for (const i of [0, 2, 4, 6, 8, 10]) calls.push(...tracks(key, 'Export CSV', weekStart(i) - 1, 2));
  return calls;
}

/** A steady company: 6 Report Created a day for DAYS days. */
function upgradeco(): Record<string, unknown>[] {
  const key = 'acct_upgradeco';
  const calls: Record<string, unknown>[] = [{ type: 'group', userId: `${key}-u0`, groupId: key, traits: { name: 'Upgradeco' }, timestamp: utcDay(NOW, -DAYS).toISOString() }];
  for (let back = DAYS; back >= 1; back--) calls.push(...tracks(key, 'Report Created', back, 6));
  return calls;
}

function hostile(): Record<string, unknown>[] {
  const key = 'acct_hostile';
  const calls: Record<string, unknown>[] = [{ type: 'group', userId: `${key}-u0`, groupId: key, traits: { name: 'Hostile Co' }, timestamp: utcDay(NOW, -DAYS).toISOString() }];
  for (let back = DAYS; back >= 1; back--) {
    const recent = back <= 14;
    calls.push(...tracks(key, '<!channel>', back, recent ? 1 : 10), ...tracks(key, '<@U123>', back, recent ? 1 : 8), ...tracks(key, '<https://x|y>', back, recent ? 1 : 12));
    if (back >= 22) calls.push(...tracks(key, '&amp;', back, 5));
  }
  return calls;
}

type Block = { type: string; text?: { type: string; text: string } };
const sectionStarting = (blocks: Block[], heading: string) => blocks.find((b) => b.type === 'section' && b.text?.text.startsWith(`*${heading}`))?.text?.text ?? '';

/** Nothing hostile got through unescaped, and `&amp;` arrived as `&amp;amp;`. */
function expectEscaped(texts: string[]) {
  const all = texts.join('\n');
  for (const h of HOSTILE.filter((h) => h.startsWith('<'))) expect(all).not.toContain(h);
  expect(all).not.toMatch(/&(?!(amp|lt|gt);)/);
}

describe('show, App Home, digest and alerts: Fell most and Stopped', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  let memory: ChannelMemory;

  beforeAll(async () => {
    slack = await startFakeSlack();
    memory = channelMemory(slack);
    slack.respond.set('conversations.open', (call) => ({ body: { ok: true, channel: { id: `D${String(call.body.users)}` } } }));
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    const calls = [...stopco(), ...hostile(), ...upgradeco()];
    for (let i = 0; i < calls.length; i += 500) expect((await post(`${app.url}/v1/batch`, { batch: calls.slice(i, i + 500) })).status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it('a company that stopped one feature while the others held: that feature, and only it, under Stopped; 2 → 0 is not news', async () => {
    const reply = (await slashCommand(app.url, 'show Stopco', slack.responseUrl)).json as { text: string; blocks: Block[] };
    const lastUsed = utcDay(NOW, -22).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
    expect(sectionStarting(reply.blocks, 'Stopped').split('\n')).toEqual([
      '*Stopped: used in most weeks before, not at all in the last 14 days*',
      `Dashboard Shared: about 26 a week in 11 of 12 weeks before; none since ${lastUsed}`,
    ]);
    // Export CSV went from 2 a week (in half the weeks) to none: the test says chance, so nothing fell.
    expect(sectionStarting(reply.blocks, 'Fell most').split('\n').slice(1)).toEqual(['No event fell more than its usual swing explains.']);
    // What they do: the held features with their (zero) change.
    const what = sectionStarting(reply.blocks, 'What they do').split('\n');
    expect(what).toContain('1. Report Created · 174 · 0 %');
    expect(what).toContain('2. Invite Sent · 87 · 0 %');
    expect(reply.text).toContain('Stopped: used in most weeks before');
  });

  it('hostile event names are escaped in show, under What they do, Fell most and Stopped', async () => {
    const r = await slashCommand(app.url, 'show Hostile Co', slack.responseUrl);
    const reply = r.json as { text: string; blocks: Block[] };
    const fell = sectionStarting(reply.blocks, 'Fell most').split('\n').slice(1);
    expect(fell).toEqual([
      `${ESCAPED['<https://x|y>']}: 84 a week → 7 (−92 %)`,
      `${ESCAPED['<!channel>']}: 70 a week → 7 (−90 %)`,
      `${ESCAPED['<@U123>']}: 56 a week → 7 (−88 %)`,
    ]);
    expect(sectionStarting(reply.blocks, 'Stopped')).toContain(`\n${ESCAPED['&amp;']}: about 32 a week in 11 of 12 weeks before`);
    const what = sectionStarting(reply.blocks, 'What they do');
    for (const h of HOSTILE) expect(what).toContain(ESCAPED[h]);
    expectEscaped([reply.text, ...reply.blocks.map((b) => b.text?.text ?? '')]);
  });

  it('the App Home detail view carries the same, escaped', async () => {
    const published = async (send: () => Promise<{ status: number }>) => {
      const before = slack.callsTo('views.publish').length;
      expect((await send()).status).toBe(200);
      const calls = await slack.waitFor('views.publish', before + 1);
      const view = (calls[before].body as unknown as { view: ViewLike }).view;
      expectValidView(view);
      return view;
    };
    const list = await published(() => eventCallback(app.url, { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1700000000.000100' }));
    const details = elements(list).find((e) => e.type === 'button' && e.value === 'acct_hostile')!;
    expect(details).toBeTruthy();
    const detail = await published(() =>
      blockAction(app.url, {
        type: 'block_actions',
        user: { id: 'U1', username: 'ada', name: 'ada', team_id: 'T1' },
        api_app_id: 'A1',
        token: 'legacy',
        container: { type: 'view', view_id: 'V123' },
        trigger_id: '1.2.3',
        team: { id: 'T1', domain: 'acme' },
        view: { id: 'V123', type: 'home', blocks: list.blocks, private_metadata: list.private_metadata ?? '', state: { values: {} }, hash: '1.a' },
        actions: [{ type: 'button', block_id: 'b1', action_ts: '1700000001.000200', action_id: details.action_id, value: details.value, text: details.text }],
      }),
    );
    const text = allText(detail);
    expect(text).toContain('Fell most');
    expect(text).toContain(`${ESCAPED['<!channel>']}: 70 a week → 7 (−90 %)`);
    expect(text).toContain(`${ESCAPED['&amp;']}: about 32 a week`);
    expectEscaped(mrkdwnTexts(detail));
  });

  it('the digest: each falling company with its "fell most:" line, at most 3 events, escaped', async () => {
    const log = memoryLog();
    const client = createWebApi({ apiUrl: slack.apiUrl, token: BOT_TOKEN });
    expect(await runDigest({ db: app.database.db, client, channel: 'C0EVENTS', tz: 'UTC', keyActions: [], log: log.log, now: NOW })).toBe('posted');
    const [m] = memory.postsTo('C0EVENTS');
    const texts = (m.blocks as Block[]).map((b) => b.text?.text ?? '');
    const hostileItem = texts.find((t) => t.includes('Hostile Co'))!;
    expect(hostileItem.split('\n').at(-1)).toBe(`fell most: ${ESCAPED['&amp;']} −100 %, ${ESCAPED['<https://x|y>']} −92 %, ${ESCAPED['<!channel>']} −90 %`);
    expect(m.text).toContain(`fell most: ${ESCAPED['&amp;']} −100 %`);
    expectEscaped([m.text, ...texts]);
  });

  it('a direct alert carries the "fell most:" line, escaped', async () => {
    const db = app.database.db;
    await setOwner(db, 'acct_hostile', 'UOWNER', 'UADMIN');
    const client = createWebApi({ apiUrl: slack.apiUrl, token: BOT_TOKEN });
    const r = await runAlerts({ db, client, tz: 'UTC', keyActions: [], ownerTrait: 'owner_email', log: memoryLog().log, now: NOW, retryDelaysMs: [10] });
    expect(r.sent).toBe(1);
    const [dm] = memory.postsTo('DUOWNER');
    const texts = (dm.blocks as Block[]).map((b) => b.text?.text ?? '');
    const line = `fell most: ${ESCAPED['&amp;']} −100 %, ${ESCAPED['<https://x|y>']} −92 %, ${ESCAPED['<!channel>']} −90 %`;
    expect(texts.some((t) => t.split('\n').includes(line))).toBe(true);
    expect(dm.text).toContain(line);
    expectEscaped([dm.text, ...texts]);
  });
  it('an install from before the event rollup: events are judged only over the days the rollup holds', async () => {
    // The company's own rollups hold 100 days; its event rows are cut to the last 35 days, as on
    // an install upgraded to migration 0009 five weeks ago. A steady event is steady (0 %), not
    // +300 % against 84 days of which 63 were never counted.
    const cut = async (days: number) =>
      rows(app.database.db, sql`delete from company_event_days where company_key = 'acct_upgradeco' and day < ${dayString(utcDay(NOW, -days))}::date`);
    await cut(35);
    let reply = (await slashCommand(app.url, 'show Upgradeco', slack.responseUrl)).json as { blocks: Block[] };
    expect(sectionStarting(reply.blocks, 'What they do').split('\n')).toContain('1. Report Created · 174 · 0 %');
    expect(sectionStarting(reply.blocks, 'Fell most').split('\n').slice(1)).toEqual(['No event fell more than its usual swing explains.']);
    // 20 days of event rows: too young to judge, like a company first seen 20 days ago.
    await cut(20);
    reply = (await slashCommand(app.url, 'show Upgradeco', slack.responseUrl)).json as { blocks: Block[] };
    expect(sectionStarting(reply.blocks, 'What they do').split('\n')).toContain('1. Report Created · 120');
    expect(sectionStarting(reply.blocks, 'Fell most')).toBe('');
    expect(sectionStarting(reply.blocks, 'Stopped')).toBe('');
  });
});
