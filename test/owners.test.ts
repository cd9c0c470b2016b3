/**
 * Owners and watches at the wire (issue 13): the owner trait resolved with
 * users.lookupByEmail (hit, miss, the day's cache), owner precedence, mentions
 * parsed from typed commands, watch / unwatch / mine, `show` and `key` naming owners.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { parseGroupsCommand } from '../src/domain/command.js';
import { unescapeSlack } from '../src/slack/commands.js';
import { loadWorkedExample, post, startTestApp } from './harness.js';
import { sendSigned, slashCommandFields, startFakeSlack, type FakeSlack } from './helpers/slack.js';

/** Slack's workspace, as users.lookupByEmail and users.info see it. */
const PEOPLE: Record<string, string> = { 'alice@acme.test': 'UALICE', 'bob@acme.test': 'UBOB' };

let app: Awaited<ReturnType<typeof startTestApp>>;
let slack: FakeSlack;
let scopeMissing = false;

/** `/groups TEXT` typed by `user`, as Slack sends it with should_escape (mentions as <@U…|name>). */
async function groups(text: string, user = 'UADA') {
  const form = new URLSearchParams({ ...slashCommandFields(text, slack.responseUrl), user_id: user }).toString();
  const r = await sendSigned(app.url, form, 'application/x-www-form-urlencoded');
  expect(r.status).toBe(200);
  return r.json as { text: string; blocks: any[]; response_type: string };
}

async function setTraits(key: string, name: string, traits: Record<string, unknown>) {
  const at = new Date().toISOString();
  const r = await post(`${app.url}/v1/group`, { userId: `owner-test-${key}`, groupId: key, traits: { name, ...traits }, timestamp: at, messageId: `t-${key}-${Math.random()}` });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  slack = await startFakeSlack();
  slack.respond.set('users.lookupByEmail', (call) => {
    if (scopeMissing) return { body: { ok: false, error: 'missing_scope', needed: 'users:read.email' } };
    const id = PEOPLE[String(call.body.email)];
    return { body: id ? { ok: true, user: { id, name: String(call.body.email) } } : { ok: false, error: 'users_not_found' } };
  });
  slack.respond.set('users.info', (call) => {
    const email = Object.entries(PEOPLE).find(([, id]) => id === call.body.user)?.[0];
    return { body: { ok: true, user: { id: call.body.user, profile: email ? { email } : {} } } };
  });
  app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl } });
  await loadWorkedExample(app.url);
});
afterAll(async () => {
  await app?.stop();
  await app?.dropDatabase();
  await slack?.close();
});

const lookups = () => slack.callsTo('users.lookupByEmail').map((c) => c.body.email);

describe('mentions typed in commands', () => {
  it.each([
    ['owner Acme Inc <@U0123ABC|alice>', { kind: 'owner', query: 'Acme Inc', set: { userId: 'U0123ABC' } }],
    ['owner Acme <@W0123ABC>', { kind: 'owner', query: 'Acme', set: { userId: 'W0123ABC' } }],
    ['owner Acme none', { kind: 'owner', query: 'Acme', set: { userId: null } }],
    ['owner Acme', { kind: 'owner', query: 'Acme', set: null }],
    ['owner Acme Inc Bob@Acme.test', { kind: 'owner', query: 'Acme Inc', set: { email: 'bob@acme.test' } }],
    ['watch Acme Inc', { kind: 'watch', query: 'Acme Inc' }],
    ['unwatch Globex', { kind: 'unwatch', query: 'Globex' }],
    ['mine', { kind: 'mine' }],
  ])('%s', (text, expected) => {
    expect(parseGroupsCommand(text, { keyActionsSet: true })).toEqual(expected);
  });

  it.each([
    ['owner', /`owner` takes a company and a person/],
    ['owner <@U0123ABC>', /company is missing/],
    ['owner Acme @alice', /not a Slack mention/],
    ['watch', /`watch` needs a company/],
    ['watch Acme <@U0123ABC>', /is for yourself/],
    ['mine all', /`mine` takes nothing more/],
  ])('%s is refused, saying how to write it', (text, problem) => {
    const c = parseGroupsCommand(text, { keyActionsSet: true });
    expect(c.kind).toBe('help');
    expect((c as { problem: string }).problem).toMatch(problem);
  });

  it('Slack wraps links and channels when it escapes: they read back as typed, mentions stay', () => {
    expect(unescapeSlack('show <https://acme.com|acme.com>')).toBe('show acme.com');
    expect(unescapeSlack('owner Tom &amp; Jerry <@U1ABC|ada>')).toBe('owner Tom & Jerry <@U1ABC|ada>');
    expect(unescapeSlack('show <#C123|general> <!here>')).toBe('show #general @here');
    // A user group is not a person: it reads back as its handle, and owner refuses it.
    expect(unescapeSlack('owner Globex <!subteam^S0123ABC|@team>')).toBe('owner Globex @team');
    expect(unescapeSlack('owner Globex <!subteam^S0123ABC>')).toBe('owner Globex @usergroup');
    const c = parseGroupsCommand(unescapeSlack('owner Globex <!subteam^S0123ABC|@team>'), { keyActionsSet: true });
    expect((c as { problem: string }).problem).toMatch(/“@team” is not a Slack mention/);
  });
});

describe('owners', () => {
  it('an owner_email trait is looked up once, cached for a day, and shown as a mention by show', async () => {
    await setTraits('acct_acme', 'Acme Inc', { plan: 'pro', owner_email: 'Alice@Acme.test' });
    const before = lookups().length;
    const r = await groups('show Acme Inc');
    expect(JSON.stringify(r.blocks)).toContain('Owner: <@UALICE>');
    expect(lookups().slice(before)).toEqual(['alice@acme.test']);
    await groups('show Acme Inc');
    expect(lookups().length).toBe(before + 1); // the cache answered
    // A day later the answer is looked up again.
    await app.database.db.execute(sql`update slack_user_lookups set looked_up_at = now() - interval '25 hours'`);
    await groups('show Acme Inc');
    expect(lookups().length).toBe(before + 2);
  });

  it('an email no one in Slack has: cached as a miss, plain text in show, listed by key under "owners not found in Slack"', async () => {
    await setTraits('acct_northwind', 'Northwind Ltd', { owner_email: 'gone@<b>north</b>.test' });
    await setTraits('acct_globex', 'Globex', { owner_email: 'carol@globex.test' });
    const before = lookups().length;
    const show = await groups('show Globex');
    const s = JSON.stringify(show.blocks);
    expect(s).toContain('Owner: carol@globex.test (not found in Slack)');
    expect(s).not.toContain('<@');
    await groups('show Globex');
    expect(lookups().slice(before)).toEqual(['carol@globex.test']); // the miss was cached
    const key = await groups('key');
    const k = JSON.stringify(key.blocks);
    expect(k).toContain('Owners not found in Slack');
    expect(k).toContain('carol@globex.test: Globex');
    // Not an email: shown escaped, never looked up.
    const nw = JSON.stringify((await groups('show Northwind')).blocks);
    expect(nw).toContain('gone@&lt;b&gt;north&lt;/b&gt;.test (not an email or a Slack user id)');
    expect(lookups()).not.toContain('gone@<b>north</b>.test');
  });

  it('a trait holding a Slack user id is the owner as it is, never looked up', async () => {
    await setTraits('acct_uid', 'Uid Co', { owner_email: 'U0TRAIT1' });
    const before = lookups().length;
    expect((await groups('owner Uid Co')).text).toContain('owned by <@U0TRAIT1> (from the owner_email trait)');
    expect(lookups().length).toBe(before);
  });

  it('set in Slack wins over the trait until cleared; "owner NAME" says who and from where', async () => {
    expect((await groups('owner Acme Inc')).text).toMatch(/Acme Inc\* is owned by <@UALICE> \(from the owner_email trait\)/);
    const set = await groups('owner Acme Inc <@UBOB|bob>');
    expect(set.text).toContain('now owned by <@UBOB>');
    expect((await groups('owner Acme Inc')).text).toMatch(/owned by <@UBOB> \(set in Slack\)/);
    expect(JSON.stringify((await groups('show Acme Inc')).blocks)).toContain('Owner: <@UBOB>');
    const cleared = await groups('owner Acme Inc none');
    expect(cleared.text).toMatch(/set in Slack is cleared\. Its owner_email trait names <@UALICE>, who owns it again/);
    expect(JSON.stringify((await groups('show Acme Inc')).blocks)).toContain('Owner: <@UALICE>');
  });

  it('an owner typed as an email (Slack sends it as a mailto link) is looked up; an unknown one changes nothing', async () => {
    const set = await groups('owner Acme Inc <mailto:bob@acme.test|bob@acme.test>');
    expect(set.text).toContain('now owned by <@UBOB>');
    const miss = await groups('owner Acme Inc <mailto:zoe@acme.test|zoe@acme.test>');
    expect(miss.text).toContain('Nothing changed: zoe@acme.test: no one in this workspace has that email');
    expect((await groups('owner Acme Inc')).text).toMatch(/owned by <@UBOB> \(set in Slack\)/);
    await groups('owner Acme Inc none');
  });

  it('a company that is not there: nothing changes, and the reply says so', async () => {
    const none = await groups('owner Initech <@UBOB>');
    expect(none.text).toMatch(/Initech/);
    const [n] = await rows<{ n: number }>(app.database.db, sql`select count(*)::int as n from company_owners`);
    expect(n.n).toBe(0);
  });

  it('without the users:read.email scope: the email as plain text with the fix, and nothing else breaks', async () => {
    scopeMissing = true;
    try {
      await setTraits('acct_newco', 'Newco', { owner_email: 'dan@newco.test' });
      await post(`${app.url}/v1/track`, { userId: 'n1', event: 'Report Created', context: { groupId: 'acct_newco' }, timestamp: new Date().toISOString() });
      const r = await groups('show Newco');
      expect(JSON.stringify(r.blocks)).toContain('dan@newco.test (not looked up: the app lacks the users:read.email scope)');
      const [c] = await rows<{ n: number }>(app.database.db, sql`select count(*)::int as n from slack_user_lookups where email = 'dan@newco.test'`);
      expect(c.n).toBe(0); // a refusal is no answer: not cached
      expect((await groups('top')).text).toContain('Acme Inc');
    } finally {
      scopeMissing = false;
    }
  });
});

describe('watch, unwatch, mine', () => {
  it('mine lists what the person owns (by trait, resolved to them) and watches, falling first', async () => {
    await setTraits('acct_blank', 'Blank', { owner_email: ' ' }); // no owner: not everyone's
    expect((await groups('mine', 'UZED')).text).toMatch(/You own or watch no company yet/);
    expect((await groups('watch Globex', 'UALICE')).text).toContain('You now watch *Globex*');
    expect((await groups('watch Globex', 'UALICE')).text).toContain('You already watch *Globex*');
    const mine = await groups('mine', 'UALICE');
    const lines = mine.blocks.filter((b) => b.type === 'section').map((b) => b.text.text as string);
    expect(lines[0]).toMatch(/^\*1\. Globex\*/); // falling first
    expect(lines[0]).toContain('you watch it');
    expect(lines[1]).toMatch(/^\*2\. Acme Inc\*[\s\S]*you own it/);
    expect(mine.blocks[1].elements[0].text).toContain('2 you own or watch · 1 falling');
    expect((await groups('unwatch Globex', 'UALICE')).text).toContain('You no longer watch *Globex*');
    expect((await groups('unwatch Globex', 'UALICE')).text).toContain('You were not watching *Globex*');
    const after = await groups('mine', 'UALICE');
    expect(JSON.stringify(after.blocks)).not.toContain('Globex');
  });

  it('watch checks that alerts can reach the person: without im:write the reply says so, with the fix', async () => {
    slack.respond.set('conversations.open', () => ({ body: { ok: false, error: 'missing_scope', needed: 'im:write' } }));
    try {
      const r = await groups('watch Acme Inc', 'UNOSCOPE');
      expect(r.text).toContain('You now watch *Acme Inc*');
      expect(r.text).toContain('⚠️ Alerts cannot reach <@UNOSCOPE> yet: Slack answered missing_scope. Fix: add the bot scope im:write');
      const set = await groups('owner Acme Inc <@UNOSCOPE>');
      expect(set.text).toContain('Alerts cannot reach <@UNOSCOPE> yet');
    } finally {
      slack.respond.set('conversations.open', (call) => ({ body: { ok: true, channel: { id: `D${String(call.body.users)}` } } }));
    }
    const ok = await groups('watch Globex', 'UNOSCOPE');
    expect(ok.text).not.toContain('⚠️');
    const [r] = await rows<{ dm_channel: string }>(app.database.db, sql`select dm_channel from alert_recipients where user_id = 'UNOSCOPE'`);
    expect(r.dm_channel).toBe('DUNOSCOPE'); // kept for the alert run
    await groups('owner Acme Inc none');
    await groups('unwatch Acme Inc', 'UNOSCOPE');
    await groups('unwatch Globex', 'UNOSCOPE');
  });

  it('help lists the new subcommands', async () => {
    const h = await groups('help');
    expect(h.text).toContain('/groups owner NAME @person|none');
    expect(h.text).toContain('/groups mine');
  });
});
