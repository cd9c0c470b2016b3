/**
 * The Groups page in App Home, at the wire: signed `app_home_opened` events and
 * `block_actions` clicks as Slack sends them, answered with `views.publish` calls
 * recorded by a fake Slack Web API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { loadWorkedExample, post, startTestApp } from './harness.js';
import { blockAction, eventCallback, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import {
  allText,
  buttonNamed,
  escaped,
  expectValidView,
  listParts,
  mrkdwnTexts,
  selectOf,
  viewBytes,
  type Element,
  type ViewLike,
} from './helpers/view.js';

type App = Awaited<ReturnType<typeof startTestApp>>;

interface Published {
  user_id: string;
  view: ViewLike;
}

/** Runs `send`, then waits for the next views.publish and returns it. */
async function nextPublish(slack: FakeSlack, send: () => Promise<{ status: number }>): Promise<Published> {
  const before = slack.callsTo('views.publish').length;
  const r = await send();
  expect(r.status).toBe(200);
  const calls = await slack.waitFor('views.publish', before + 1);
  expect(calls).toHaveLength(before + 1);
  const body = calls[before].body as unknown as Published;
  expectValidView(body.view);
  return body;
}

function openHome(app: App, slack: FakeSlack, user = 'U1', view?: ViewLike) {
  return nextPublish(slack, () =>
    eventCallback(app.url, { type: 'app_home_opened', user, channel: 'D1', tab: 'home', event_ts: '1700000000.000100', ...(view ? { view: homeViewPayload(view) } : {}) }),
  );
}

/** The view as Slack sends it back in a payload: with an id, hash and state. */
function homeViewPayload(view: ViewLike, privateMetadata = view.private_metadata) {
  return {
    id: 'V123',
    team_id: 'T1',
    type: 'home',
    blocks: view.blocks,
    private_metadata: privateMetadata ?? '',
    callback_id: '',
    state: { values: {} },
    hash: '1700000000.abc',
    title: { type: 'plain_text', text: 'View Title' },
    clear_on_close: false,
    notify_on_close: false,
    close: null,
    submit: null,
    previous_view_id: null,
    root_view_id: 'V123',
    app_id: 'A1',
    external_id: '',
    app_installed_team_id: 'T1',
    bot_id: 'B1',
  };
}

/** A click on a button or a choice in a select of a Home view, as Slack sends it. */
function clickIn(app: App, slack: FakeSlack, view: ViewLike, action: Record<string, unknown>, opts: { privateMetadata?: string; user?: string } = {}) {
  return nextPublish(slack, () =>
    blockAction(app.url, {
      type: 'block_actions',
      user: { id: opts.user ?? 'U1', username: 'ada', name: 'ada', team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      container: { type: 'view', view_id: 'V123' },
      trigger_id: '1.2.3',
      team: { id: 'T1', domain: 'acme' },
      enterprise: null,
      is_enterprise_install: false,
      view: homeViewPayload(view, opts.privateMetadata ?? view.private_metadata),
      actions: [{ block_id: 'b1', action_ts: '1700000001.000200', ...action }],
    }),
  );
}

function press(button: Element) {
  return { type: 'button', action_id: button.action_id, value: button.value, text: button.text };
}

function choose(view: ViewLike, actionId: string, value: string) {
  const select = selectOf(view, actionId)!;
  const option = select.options!.find((o) => o.value === value)!;
  expect(option).toBeTruthy();
  return { type: 'static_select', action_id: actionId, selected_option: option, placeholder: { type: 'plain_text', text: 'x' } };
}

function ranking(view: ViewLike): string[] {
  return listParts(view).ranked.map((t) => /^\*\d+\. (.*)\*\n/.exec(t)?.[1] ?? t);
}

function quietNames(view: ViewLike): string[] {
  return listParts(view).quiet.map((t) => /^\*\d+\. (.*)\*\n/.exec(t)?.[1] ?? t);
}

async function ingest(app: App, calls: Record<string, unknown>[]) {
  for (let i = 0; i < calls.length; i += 500) {
    const r = await post(`${app.url}/v1/batch`, { batch: calls.slice(i, i + 500) });
    expect(r.status).toBe(200);
  }
}

describe('App Home with the worked example', () => {
  let app: App;
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl } });
    await loadWorkedExample(app.url);
  }, 180_000);
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it('app_home_opened publishes the list: Acme Inc, Northwind Ltd, Globex; Globex going quiet', async () => {
    const { user_id, view } = await openHome(app, slack, 'U42');
    expect(user_id).toBe('U42');
    expect(view.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Groups' } });
    expect(ranking(view)).toEqual(['Acme Inc', 'Northwind Ltd', 'Globex']);
    const { ranked } = listParts(view);
    expect(ranked[0]).toMatch(/14 people · 1,200 key actions · ↑ up$/);
    expect(ranked[1]).toMatch(/9 people · 800 key actions · .* steady$/);
    expect(ranked[2]).toMatch(/11 people · 120 key actions · ⇊ down sharply$/);
    expect(quietNames(view)).toEqual(['Globex']);
    expect(selectOf(view, 'groups:range')!.initial_option!.value).toBe('30d');
    expect(selectOf(view, 'groups:metric')!.initial_option!.value).toBe('key_actions');
    // Every event of the example carries its company: no group-key warning.
    expect(allText(view)).not.toContain('group key is missing');
  });

  it('publishes nothing for the Messages tab, nor for an unsigned event', async () => {
    const before = slack.callsTo('views.publish').length;
    const messages = await eventCallback(app.url, { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'messages', event_ts: '1.2' });
    expect(messages.status).toBe(200);
    const unsigned = await eventCallback(app.url, { type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'home', event_ts: '1.2' }, { signature: 'v0=00' });
    expect(unsigned.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.callsTo('views.publish')).toHaveLength(before);
  });

  it('Details gives the detail view; Back gives the list again', async () => {
    const { view: list } = await openHome(app, slack);
    const details = listParts(list).rankedButtons[0];
    expect(details.value).toBe('acct_acme');
    const { user_id, view: detail } = await clickIn(app, slack, list, press(details));
    expect(user_id).toBe('U1');
    expect(detail.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Acme Inc' } });
    const text = allText(detail);
    expect(text).toContain('Key `acct_acme`');
    expect(text).toContain('*plan*: Enterprise');
    expect(text).toMatch(/\*People, last 30 days\*\n14 active · 14 known in all/);
    expect(text).toContain('*Key actions*\n1,200');
    expect(text).toMatch(/\*Trend\*\n↑ up/);
    expect(text).toMatch(/\*Weekly key actions, last 12 weeks\*\n[▁▂▃▄▅▆▇█]{12} /);
    // its 14 people ranked by activity, each with last seen
    const people = text.split('\n').filter((l) => /^\d+\. .* · [\d,]+ key actions? · last seen /.test(l));
    expect(people).toHaveLength(14);
    const counts = people.map((l) => Number(/ · ([\d,]+) key action/.exec(l)![1].replace(/,/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1200);
    expect(JSON.parse(detail.private_metadata!)).toMatchObject({ view: 'detail', key: 'acct_acme', range: '30d', metric: 'key_actions', page: 1 });

    const back = buttonNamed(detail, '← Back to all companies')!;
    expect(back).toBeTruthy();
    const { view: again } = await clickIn(app, slack, detail, press(back));
    expect(ranking(again)).toEqual(['Acme Inc', 'Northwind Ltd', 'Globex']);
    expect(quietNames(again)).toEqual(['Globex']);
  });

  it("a click publishes with the clicked view's hash; hash_conflict (a newer page is up) is dropped, not retried", async () => {
    const { view: list } = await openHome(app, slack);
    expect(slack.callsTo('views.publish').at(-1)!.body.hash).toBeUndefined(); // opening the tab always shows the list
    const details = listParts(list).rankedButtons[0];
    // The first click's page is up; the second click on the same (now old) view is refused as Slack would.
    slack.respond.set('views.publish', (call) => (call.body.hash === '1700000000.abc' ? { body: { ok: false, error: 'hash_conflict' } } : undefined));
    try {
      const logsBefore = app.logs.length;
      const published = await clickIn(app, slack, list, press(details));
      expect((published as unknown as { hash?: string }).hash).toBe('1700000000.abc');
      const count = slack.callsTo('views.publish').length;
      await new Promise((r) => setTimeout(r, 500));
      expect(slack.callsTo('views.publish')).toHaveLength(count); // not retried
      const logs = app.logs.slice(logsBefore).join('\n');
      expect(logs).toContain('a newer Groups page was published since this click');
      expect(logs).not.toContain('views.publish failed');
    } finally {
      slack.respond.delete('views.publish');
    }
  });

  it('Details under "Going quiet" opens that company', async () => {
    const { view: list } = await openHome(app, slack);
    const { view } = await clickIn(app, slack, list, press(listParts(list).quietButtons[0]));
    expect(view.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Globex' } });
    expect(allText(view)).toMatch(/⇊ down sharply/);
  });

  it('the range and metric selectors re-render the list in place', async () => {
    const { view: list } = await openHome(app, slack);
    const { view: week } = await clickIn(app, slack, list, choose(list, 'groups:range', '7d'));
    expect(selectOf(week, 'groups:range')!.initial_option!.value).toBe('7d');
    expect(mrkdwnTexts(week).some((t) => t.includes('last 7 days · by key actions'))).toBe(true);
    expect(JSON.parse(week.private_metadata!)).toMatchObject({ view: 'list', range: '7d', metric: 'key_actions', page: 1 });
    expect(ranking(week)).toEqual(['Acme Inc', 'Northwind Ltd', 'Globex']);

    const { view: sessions } = await clickIn(app, slack, week, choose(week, 'groups:metric', 'events'));
    expect(selectOf(sessions, 'groups:metric')!.initial_option!.value).toBe('events');
    expect(selectOf(sessions, 'groups:range')!.initial_option!.value).toBe('7d');
    expect(listParts(sessions).ranked[0]).toMatch(/ events · /);
    expect(JSON.parse(sessions.private_metadata!)).toMatchObject({ range: '7d', metric: 'events' });

    // A new opening of the tab keeps the range and metric chosen.
    const { view: reopened } = await openHome(app, slack, 'U1', sessions);
    expect(JSON.parse(reopened.private_metadata!)).toMatchObject({ view: 'list', range: '7d', metric: 'events' });
  });

  it('the selectors re-render a company in place', async () => {
    const { view: list } = await openHome(app, slack);
    const { view: detail } = await clickIn(app, slack, list, press(listParts(list).rankedButtons[1]));
    expect(detail.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Northwind Ltd' } });
    const { view: sessions } = await clickIn(app, slack, detail, choose(detail, 'groups:metric', 'sessions'));
    expect(sessions.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Northwind Ltd' } });
    expect(allText(sessions)).toContain('*Weekly sessions, last 12 weeks*');
    const { view: week } = await clickIn(app, slack, sessions, choose(sessions, 'groups:range', '90d'));
    expect(allText(week)).toContain('*People, last 90 days*');
    expect(JSON.parse(week.private_metadata!)).toMatchObject({ view: 'detail', key: 'acct_northwind', range: '90d', metric: 'sessions' });
  });

  it('a company that no longer exists gets the list again with a short note', async () => {
    const { view: list } = await openHome(app, slack);
    const gone = { ...listParts(list).rankedButtons[0], value: 'acct_gone' };
    const { view } = await clickIn(app, slack, list, press(gone));
    expect(mrkdwnTexts(view)[0]).toBe('⚠️ That company (acct_gone) is no longer here, so here is the list of all companies again.');
    expect(ranking(view)).toEqual(['Acme Inc', 'Northwind Ltd', 'Globex']);
  });

  it('a stale or garbled view gets the default list, with a note where the click needed it', async () => {
    const { view: list } = await openHome(app, slack);
    const page = { type: 'button', action_id: 'groups:page:1', value: '3', text: { type: 'plain_text', text: 'Next →' } };
    for (const metadata of ['', '{"v":0}', 'not json', JSON.stringify({ v: 1, view: 'list', range: '30d', metric: 'revenue', page: 1 })]) {
      const { view } = await clickIn(app, slack, list, page, { privateMetadata: metadata });
      expect(mrkdwnTexts(view)[0]).toBe('⚠️ That view was out of date, so here is the list of all companies again.');
      expect(ranking(view)).toEqual(['Acme Inc', 'Northwind Ltd', 'Globex']);
      expect(JSON.parse(view.private_metadata!)).toEqual({ v: 1, view: 'list', range: '30d', metric: 'key_actions', page: 1 });
    }
    // Details still works from a garbled view: the company is in the button.
    const { view: detail } = await clickIn(app, slack, list, press(listParts(list).rankedButtons[2]), { privateMetadata: 'garbled' });
    expect(detail.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Globex' } });
  });

  it('ignores actions this app did not make, and bad values', async () => {
    const before = slack.callsTo('views.publish').length;
    const { view: list } = await openHome(app, slack);
    const send = (action: Record<string, unknown>) =>
      blockAction(app.url, {
        type: 'block_actions',
        user: { id: 'U1' },
        container: { type: 'view', view_id: 'V123' },
        view: homeViewPayload(list),
        actions: [action],
      });
    expect((await send({ type: 'static_select', action_id: 'groups:metric', selected_option: { value: 'revenue' } })).status).toBe(200);
    expect((await send({ type: 'button', action_id: 'groups:page:1', value: 'two' })).status).toBe(200);
    expect((await send({ type: 'button', action_id: 'groups:show:1', value: '' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.callsTo('views.publish')).toHaveLength(before + 1);
  });

  it('Details and Back still work in /groups replies, through response_url', async () => {
    const message = (action: Record<string, unknown>) =>
      blockAction(app.url, {
        type: 'block_actions',
        user: { id: 'U1' },
        container: { type: 'message', message_ts: '1.2', channel_id: 'C1', is_ephemeral: true },
        response_url: slack.responseUrl,
        message: { blocks: [{ type: 'header', block_id: 'cmd:top 30d', text: { type: 'plain_text', text: 'x' } }] },
        actions: [action],
      });
    const before = slack.callsTo('response_url').length;
    const publishes = slack.callsTo('views.publish').length;
    expect((await message({ type: 'button', action_id: 'groups:show:0', value: 'acct_acme' })).status).toBe(200);
    const [shown] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(shown.body.replace_original).toBe(true);
    expect(JSON.stringify(shown.body.blocks)).toContain('Acme Inc');
    expect((await message({ type: 'button', action_id: 'groups:back', value: 'top 30d' })).status).toBe(200);
    const [back] = (await slack.waitFor('response_url', before + 2)).slice(before + 1);
    expect(String(back.body.text)).toMatch(/Most active companies/);
    expect(slack.callsTo('views.publish')).toHaveLength(publishes);
  });
});

describe('App Home with 120 companies, nasty names and ungrouped traffic', () => {
  let app: App;
  let slack: FakeSlack;
  const NASTY = ['<!channel>', '<@U123>', '<https://x|y>', '&amp;'];
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  // Company i has 50 + i events over the last days (the 4 nasty ones the most), so the ranking is known.
  const name = (i: number) => (i >= 116 ? NASTY[i - 116] : `Company ${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    const calls: Record<string, unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const userId = `u${i}`;
      calls.push({ type: 'identify', userId, messageId: `id-${i}`, timestamp: at(6000), traits: { name: i === 119 ? '<!here> Mallory' : `Person ${i}` } });
      calls.push({ type: 'group', userId, messageId: `g-${i}`, timestamp: at(6000), groupId: `co_${i}`, traits: { name: name(i), '<b>': '<!subteam^S1>' } });
      for (let j = 0; j < 50 + i; j++) calls.push({ type: 'track', userId, messageId: `t-${i}-${j}`, timestamp: at(10 + j * 7), event: 'Viewed', context: { groupId: `co_${i}` } });
    }
    // Traffic with no company: 4,000 events against 13,140 with one (77 % with a company).
    for (let j = 0; j < 4_000; j++) calls.push({ type: 'track', anonymousId: `anon-${j % 40}`, messageId: `anon-${j}`, timestamp: at(5 + (j % 5000)), event: 'Viewed' });
    await ingest(app, calls);
  }, 180_000);
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it('pages the list within 100 blocks and 250 KB; Next and Previous re-render', async () => {
    const { view: first } = await openHome(app, slack);
    expect(first.blocks.length).toBeLessThanOrEqual(100);
    expect(viewBytes(first)).toBeLessThan(250_000);
    expect(ranking(first)).toHaveLength(25);
    expect(ranking(first).slice(0, 4)).toEqual(NASTY.map(escaped).reverse());
    expect(ranking(first)[4]).toBe('Company 115');
    expect(allText(first)).toContain('Page 1 of 5');
    expect(buttonNamed(first, /Previous/)).toBeUndefined();

    const { view: second } = await clickIn(app, slack, first, press(buttonNamed(first, /Next/)!));
    expect(ranking(second)[0]).toBe('Company 094');
    expect(listParts(second).ranked[0]).toMatch(/^\*26\. Company 094\*\n1 person · 144 events · /);
    expect(allText(second)).toContain('Page 2 of 5');
    expect(JSON.parse(second.private_metadata!)).toMatchObject({ view: 'list', page: 2 });

    const { view: third } = await clickIn(app, slack, second, press(buttonNamed(second, /Next/)!));
    expect(ranking(third)[0]).toBe('Company 069');
    const { view: back } = await clickIn(app, slack, third, press(buttonNamed(third, /Previous/)!));
    expect(ranking(back)[0]).toBe('Company 094');

    // A page past the end shows the last.
    const { view: last } = await clickIn(app, slack, back, { type: 'button', action_id: 'groups:page:1', value: '99' });
    expect(ranking(last)).toHaveLength(20);
    expect(ranking(last)[19]).toBe('Company 000');
    expect(buttonNamed(last, /Next/)).toBeUndefined();

    // Back from a company returns to the page it was opened from.
    const { view: detail } = await clickIn(app, slack, second, press(listParts(second).rankedButtons[3]));
    expect(detail.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Company 091' } });
    const { view: again } = await clickIn(app, slack, detail, press(buttonNamed(detail, '← Back to all companies')!));
    expect(ranking(again)[0]).toBe('Company 094');
  });

  it('a range change starts again at page 1', async () => {
    const { view: first } = await openHome(app, slack);
    const { view: second } = await clickIn(app, slack, first, press(buttonNamed(first, /Next/)!));
    const { view } = await clickIn(app, slack, second, choose(second, 'groups:range', '90d'));
    expect(JSON.parse(view.private_metadata!)).toMatchObject({ page: 1, range: '90d' });
    expect(ranking(view)).toHaveLength(25);
  });

  it('warns about the group key when under 90 % of recent traffic has a company', async () => {
    const { view } = await openHome(app, slack);
    const text = allText(view);
    expect(text).toMatch(/The group key is missing from part of your traffic\*: \d+ % of events in the last 7 days carry a company \(under 90 %\)/);
    expect(text).toContain("analytics.track({ userId, event: 'Report Created', context: { groupId: 'acct_123' } })");
    expect(text).toContain('`/groups key`');
  });

  it('escapes every name in the list and in the detail', async () => {
    const { view: list } = await openHome(app, slack);
    const md = mrkdwnTexts(list).join('\n');
    for (const n of NASTY) {
      expect(md).toContain(escaped(n));
    }
    expect(md).toContain('&amp;amp;');
    // the company named <@U123> (co_117), whose traits and person are nasty too
    const button = listParts(list).rankedButtons.find((b) => b.value === 'co_117')!;
    const { view: detail } = await clickIn(app, slack, list, press(button));
    const dmd = mrkdwnTexts(detail).join('\n');
    expect(dmd).toContain('*&lt;b&gt;*: &lt;!subteam^S1&gt;');
    expect(dmd).toContain('Person 117');
    const { view: here } = await clickIn(app, slack, list, press(listParts(list).rankedButtons.find((b) => b.value === 'co_119')!));
    expect(mrkdwnTexts(here).join('\n')).toContain('&lt;!here&gt; Mallory');
  });
});

describe('App Home when the data cannot be read', () => {
  let app: App;
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    await app.database.close();
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase().catch(() => {});
    await slack?.close();
  });

  it('publishes a short apology with a button that tries again', async () => {
    const { view } = await openHome(app, slack);
    expect(mrkdwnTexts(view)).toEqual(['⚠️ Sorry, the Groups page could not be loaded just now. Try again in a minute.']);
    const again = buttonNamed(view, 'Try again')!;
    expect(again.action_id).toBe('groups:back:0');
    expect(app.logs.some((l) => l.includes('the Groups page could not be built'))).toBe(true);
  });
});
