/**
 * `/groups` at the wire: slash commands signed as Slack signs them, replies read
 * from the HTTP acknowledgement or from a local response_url server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN_ACTION_TEXT } from '../src/slack/index.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { loadWorkedExample, post, startTestApp } from './harness.js';
import { clickButton, messageButtonPayload, sendSigned, slashCommand, slashCommandFields, startFakeSlack, type FakeSlack } from './helpers/slack.js';

const HOSTILE = ['<!channel>', '<@U123>', '<https://evil.example|click me>', 'Tom &amp; Jerry'];

describe('/groups over HTTP', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl } });
    await loadWorkedExample(app.url);
    // Companies and people named to make Slack say what it should not.
    const t = new Date(Date.now() - 3_600_000).toISOString();
    const hostile = HOSTILE.flatMap((name, i) => [
      { type: 'group', userId: `h${i}`, groupId: `hostile-${i}`, traits: { name, plan: name }, timestamp: t },
      { type: 'identify', userId: `h${i}`, traits: { name: `${name} person` }, timestamp: t },
      { type: 'track', userId: `h${i}`, event: 'Report Created', timestamp: t },
    ]);
    expect((await post(`${app.url}/v1/batch`, { batch: hostile })).status).toBe(200);
    // An anonymous visitor of a company of its own.
    const anon = { type: 'page', anonymousId: 'visitor-77', name: 'Pricing', context: { groupId: 'acct_visited' }, timestamp: t };
    expect((await post(`${app.url}/v1/batch`, { batch: [anon] })).status).toBe(200);
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  const everyText = (reply: { text: string; blocks: unknown[] }) => {
    const out: string[] = [reply.text];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
        Object.values(o).forEach(walk);
      }
    };
    walk(reply.blocks);
    return out;
  };

  it.each(['top', 'TOP', '  top   7d ', 'top by sessions 90d', 'top 4w', 'top limit 2', 'quiet', 'report', 'key', 'help', '', 'show Acme', 'show acct_globex', 'show zzzz', 'show a'])(
    '"%s" answers ephemerally with blocks and a text fallback, within 3 seconds',
    async (text) => {
      const started = Date.now();
      const r = await slashCommand(app.url, text, slack.responseUrl);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.status).toBe(200);
      expect(r.json.response_type).toBe('ephemeral');
      expect(typeof r.json.text).toBe('string');
      expect(r.json.text.length).toBeGreaterThan(0);
      expect(Array.isArray(r.json.blocks)).toBe(true);
      expect(r.json.blocks.length).toBeGreaterThan(0);
      expect(r.json.blocks.length).toBeLessThanOrEqual(50);
      expect(r.json).not.toHaveProperty('link_names');
      expect(r.json).not.toHaveProperty('parse');
    },
  );

  it('names an unknown word and shows the help', async () => {
    const r = await slashCommand(app.url, 'frobnicate <!here>', slack.responseUrl);
    expect(r.json.text).toContain('frobnicate');
    expect(r.json.text).toContain('top');
    expect(r.json.text).not.toContain('<!here>');
  });

  it('a mistyped subcommand: "did you mean" the nearest one, the word named and escaped, the help below', async () => {
    const tpo = await slashCommand(app.url, 'tpo', slack.responseUrl);
    expect(tpo.status).toBe(200);
    expect(tpo.json.text).toContain("I don't know “tpo”: did you mean `top`?");
    expect(JSON.stringify(tpo.json.blocks)).toContain('did you mean `top`?');
    expect(tpo.json.text).toContain('/groups show NAME-OR-KEY'); // the help still follows
    const shwo = await slashCommand(app.url, 'shwo acme', slack.responseUrl);
    expect(shwo.json.text).toContain('“shwo”: did you mean `show`?');
    const hostile = await slashCommand(app.url, 't<p <!channel>', slack.responseUrl);
    expect(hostile.json.text).toContain('“t&lt;p”: did you mean `top`?');
    expect(JSON.stringify(hostile.json)).not.toMatch(/<!channel>|t<p/);
    const far = await slashCommand(app.url, 'frobnicate', slack.responseUrl);
    expect(far.json.text).toContain('“frobnicate”');
    expect(far.json.text).not.toContain('did you mean');
    for (const text of ['help', '']) {
      const r = await slashCommand(app.url, text, slack.responseUrl);
      expect(r.json.text).not.toMatch(/don't know|did you mean/);
      expect(r.json.text).toContain('/groups top');
    }
  });

  it('limit 2 lists two companies; top 7d ranks by the last 7 days', async () => {
    const r = await slashCommand(app.url, 'top limit 2', slack.responseUrl);
    expect(r.json.text).toContain('Acme Inc');
    expect(r.json.text).toContain('Northwind Ltd');
    expect(r.json.text).not.toMatch(/\n3\. /);
  });

  it('show: exact key, a name prefix, several matches, none with suggestions', async () => {
    expect((await slashCommand(app.url, 'show acct_northwind', slack.responseUrl)).json.text).toContain('Northwind Ltd');
    const acme = (await slashCommand(app.url, 'show acme', slack.responseUrl)).json;
    expect(acme.text).toContain('Acme Inc');
    expect(acme.text).toContain('acct_acme');
    expect(acme.text).toMatch(/14 active/);
    expect(acme.text).toMatch(/last seen/);
    expect(JSON.stringify(acme.blocks)).toMatch(/[▁▂▃▄▅▆▇█]{12}/);
    const several = (await slashCommand(app.url, 'show o', slack.responseUrl)).json.text;
    expect(several).toMatch(/match/);
    const none = (await slashCommand(app.url, 'show Acne', slack.responseUrl)).json.text;
    expect(none).toMatch(/No company matches/);
    expect(none).toContain('Acme Inc');
  });

  it('show names an anonymous visitor by its anonymousId', async () => {
    const r = (await slashCommand(app.url, 'show acct_visited', slack.responseUrl)).json;
    expect(r.text).toMatch(/^1\. visitor-77 · 0 key actions · last seen/m);
    expect(r.text).not.toContain('anon:');
  });

  it('escapes every piece of data and of the command text, in blocks and fallback', async () => {
    for (const text of ['top', 'show hostile-0', 'show hostile-1', 'show hostile-2', 'show hostile-3', 'show <!channel>', 'key']) {
      const r = await slashCommand(app.url, text, slack.responseUrl);
      for (const t of everyText(r.json)) {
        expect(t).not.toMatch(/<!channel>|<@U123>|<https:\/\/evil/);
        // Every & is the start of an entity we wrote.
        expect(t.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
      }
      const walkMrkdwn = JSON.stringify(r.json.blocks).match(/"type":"mrkdwn","text":"[^"]*(hostile|channel|evil|Jerry)[^"]*"(,"verbatim":true)?/g) ?? [];
      for (const m of walkMrkdwn) expect(m).toMatch(/"verbatim":true/);
    }
    const top = await slashCommand(app.url, 'top limit 20', slack.responseUrl);
    expect(top.json.text).toContain('&lt;!channel&gt;');
    expect(top.json.text).toContain('Tom &amp;amp; Jerry');
  });

  it('a form that repeats a field (text=…&text=…) is answered at once, with the first value', async () => {
    const from = app.logs.length;
    const fields = new URLSearchParams(slashCommandFields('top limit 2', slack.responseUrl));
    fields.append('text', 'quiet');
    const started = Date.now();
    const r = await sendSigned(app.url, fields.toString(), 'application/x-www-form-urlencoded');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.status).toBe(200);
    expect(r.json.response_type).toBe('ephemeral');
    expect(r.json.text).toMatch(/^Most active companies/);
    expect(r.json.text).toContain('Acme Inc');
    // Every field twice, the second values hostile: the first of each is used.
    const twice = new URLSearchParams();
    for (const [k, v] of Object.entries(slashCommandFields('show acme', slack.responseUrl))) {
      twice.append(k, v);
      twice.append(k, k === 'text' ? 'show <!channel>' : `${v}-second`);
    }
    const r2 = await sendSigned(app.url, twice.toString(), 'application/x-www-form-urlencoded');
    expect(r2.status).toBe(200);
    expect(r2.json.text).toContain('acct_acme');
    const problems = app.logs.slice(from).map((l) => JSON.parse(l) as { level: string }).filter((l) => l.level === 'warn' || l.level === 'error');
    expect(problems).toEqual([]);
  });

  it('a button payload sent twice in one form is handled once, with the first', async () => {
    const before = slack.callsTo('response_url').length;
    const click = (value: string) => JSON.stringify(messageButtonPayload({ action_id: 'groups:show:0', value }, slack.responseUrl));
    const form = new URLSearchParams();
    form.append('payload', click('acct_globex'));
    form.append('payload', click('acct_acme'));
    const r = await sendSigned(app.url, form.toString(), 'application/x-www-form-urlencoded');
    expect(r.status).toBe(200);
    const [detail] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(String(detail.body.text)).toContain('Globex');
    await new Promise((res) => setTimeout(res, 300));
    expect(slack.callsTo('response_url').length).toBe(before + 1);
  });

  it('two companies with one display name: top shows each one\'s key beside it, escaped', async () => {
    const t = new Date(Date.now() - 3_600_000).toISOString();
    const batch = ['twin_a', 'twin_<!here>'].flatMap((key, i) => [
      { type: 'group', userId: `tw${i}`, groupId: key, traits: { name: 'Twin Co' }, timestamp: t },
      { type: 'track', userId: `tw${i}`, event: 'Report Created', timestamp: t },
    ]);
    expect((await post(`${app.url}/v1/batch`, { batch })).status).toBe(200);
    const top = await slashCommand(app.url, 'top limit 50', slack.responseUrl);
    expect(top.json.text).toContain('Twin Co (twin_a)*');
    expect(top.json.text).toContain('Twin Co (twin_&lt;!here&gt;)*');
    expect(JSON.stringify(top.json.blocks)).toContain('Twin Co (twin_a)*');
    for (const text of everyText(top.json)) expect(text).not.toContain('<!here>'); // a button's value holds the key as it is
    // Names no other company shares stay as they were.
    expect(top.json.text).toMatch(/\*1\. Acme Inc\*\n/);
  });

  it('a Details button replaces the reply with the company, and Back returns to the list', async () => {
    const list = await slashCommand(app.url, 'top 30d', slack.responseUrl);
    const button = JSON.stringify(list.json.blocks).match(/"action_id":"(groups:show:\d+)","value":"acct_globex"/) ?? JSON.stringify(list.json.blocks).match(/"value":"acct_globex"[^}]*"action_id":"(groups:show:\d+)"/);
    expect(button).not.toBeNull();
    const before = slack.callsTo('response_url').length;
    const click = await clickButton(app.url, { action_id: button![1], value: 'acct_globex' }, slack.responseUrl, {
      message: { blocks: list.json.blocks, text: list.json.text },
      trigger_id: '1.2',
    });
    expect(click.status).toBe(200);
    const [detail] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(detail.body.replace_original).toBe(true);
    expect(String(detail.body.text)).toContain('Globex');
    expect(String(detail.body.text)).toMatch(/down sharply/);
    const back = JSON.stringify(detail.body.blocks).match(/"action_id":"(groups:back)","value":"([^"]*)"/);
    expect(back?.[2]).toBe('top 30d');
    await clickButton(app.url, { action_id: 'groups:back', value: back![2], action_ts: '2' }, slack.responseUrl);
    const [again] = (await slack.waitFor('response_url', before + 2)).slice(before + 1);
    expect(String(again.body.text)).toMatch(/Most active companies/);
    // The known buttons were answered once each: no listener but theirs answered them.
    expect(slack.callsTo('response_url').length).toBe(before + 2);
  });

  it('a button this app does not know is acknowledged at once and the person told, not left to time out', async () => {
    const before = slack.callsTo('response_url').length;
    const started = Date.now();
    const click = await clickButton(app.url, { action_id: 'groups:retired_button', value: 'x', action_ts: '3' }, slack.responseUrl);
    expect(click.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1500);
    const [told] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(told.body.text).toBe(UNKNOWN_ACTION_TEXT);
    expect(told.body.replace_original).toBe(false);
  });
});

describe('a slow reply never times Slack out', () => {
  it('acknowledges at once and answers through response_url', async () => {
    const slack = await startFakeSlack();
    const app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl }, bot: { ackBudgetMs: 0 } });
    try {
      const r = await slashCommand(app.url, 'top', slack.responseUrl);
      expect(r.status).toBe(200);
      expect(r.json.text).toMatch(/Working on it/);
      const [answer] = await slack.waitFor('response_url', 1);
      expect(answer.body.replace_original).toBe(true);
      expect(answer.body.response_type).toBe('ephemeral');
      expect(String(answer.body.text)).toMatch(/Most active companies|No company/);

      // A repeated response_url: the answer goes to the first one, and only there.
      const fields = new URLSearchParams(slashCommandFields('top', `${slack.responseUrl}-first`));
      fields.append('response_url', `${slack.apiUrl}second.response_url`);
      const r2 = await sendSigned(app.url, fields.toString(), 'application/x-www-form-urlencoded');
      expect(r2.status).toBe(200);
      expect(r2.json.text).toMatch(/Working on it/);
      const answers = await slack.waitFor('response_url', 2);
      expect(answers).toHaveLength(2);
      expect(answers[1].path).toBe('/response/1-first');
      expect(String(answers[1].body.text)).toMatch(/Most active companies|No company/);
      expect(slack.calls.filter((c) => c.path.includes('second'))).toEqual([]);
    } finally {
      await app.stop();
      await app.dropDatabase();
      await slack.close();
    }
  });
});
