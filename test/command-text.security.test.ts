/**
 * Control characters in what a user types or sends back (a command's text, a button's
 * value, a Home view's metadata) reach the database as a name or key that matches
 * nothing: never a database error ("could not be read"), in Slack, App Home or the
 * terminal's replies (`npm run groups` runs groupsReply, as the listener does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companyDetail, show } from '../src/app/company-reads.js';
import { groupsReply, type ReplyContext } from '../src/app/reply.js';
import { DEFAULT_RANGE } from '../src/domain/command.js';
import {
  companyPeople,
  companyRecord,
  companyStatsLive,
  companyStatsOf,
  findCompanies,
  weeklySeries,
} from '../src/db/queries/companies.js';
import { post, startTestApp } from './harness.js';
import { blockAction, clickButton, slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

/** Every C0 control character, DEL, and both halves of a surrogate pair alone. */
const CONTROLS = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\u007f', '\uD800', '\uDFFF'];
const label = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
const COULD_NOT = /could not be read|did not work/;

describe('control characters in command text', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  let ctx: ReplyContext;
  const now = new Date();
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    const t = new Date(now.getTime() - 3_600_000).toISOString();
    const r = await post(`${app.url}/v1/batch`, {
      batch: [
        { type: 'group', userId: 'u1', groupId: 'acct_acme', traits: { name: 'Acme Inc' }, timestamp: t },
        { type: 'track', userId: 'u1', event: 'Report Created', timestamp: t },
        // A name that holds a control character itself (ingestion keeps all but NUL).
        { type: 'group', userId: 'u2', groupId: 'acct_tab', traits: { name: 'Tab\tCo' }, timestamp: t },
        { type: 'track', userId: 'u2', event: 'Report Created', timestamp: t },
      ],
    });
    expect(r.status).toBe(200);
    ctx = { db: app.database.db, keyActions: [], keyPath: null };
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it.each(CONTROLS.map((c) => [label(c), c]))('%s: every read that takes a name or key answers "nothing", without asking', async (_l, c) => {
    const db = app.database.db;
    const opts = { now, rangeDays: 30, metric: 'events' as const };
    expect(await findCompanies(db, `ac${c}me`)).toEqual({ how: 'none', matches: [] });
    await expect(findCompanies(db, c)).resolves.toBeDefined(); // whitespace alone trims to nothing: never an error
    expect(await companyRecord(db, `acct${c}acme`)).toBeNull();
    expect((await companyStatsOf(db, `acct${c}acme`, opts)).stats).toBeNull();
    expect((await companyStatsOf(db, `acct${c}acme`, { ...opts, rangeDays: 12 })).stats).toBeNull();
    expect(await companyStatsLive(db, { ...opts, key: `acct${c}acme` })).toEqual([]);
    expect((await weeklySeries(db, `acct${c}acme`, now, 'events')).every((w) => w.value === 0)).toBe(true);
    expect(await companyPeople(db, `acct${c}acme`, { now, rangeDays: 30, limit: 5 })).toEqual([]);
    expect(await companyDetail(ctx, `acct${c}acme`, { now, range: DEFAULT_RANGE, metric: 'events' })).toBeNull();
    expect((await show(ctx, `acct${c}acme`, { now, range: DEFAULT_RANGE, metric: 'events' })).kind).not.toBe('company');
  });

  it.each(CONTROLS.map((c) => [label(c), c]))('%s: show, top and the help answer as for any other text (the terminal\'s replies)', async (_l, c) => {
    for (const text of [`show ac${c}me`, `show ${c}`, `show acct_acme${c}`, `${c}`, `top${c}`, `top 7d ${c}`]) {
      const reply = await groupsReply(ctx, text, now);
      expect(reply.terminal, JSON.stringify(text)).not.toMatch(COULD_NOT);
      expect(reply.message.text.length).toBeGreaterThan(0);
    }
    expect((await groupsReply(ctx, `show ac${c}me`, now)).terminal).toMatch(/No company matches|companies match/);
  });

  it('findCompanies: the exact key, else names (or a key) by prefix, else by substring; LIKE wildcards are literal', async () => {
    const db = app.database.db;
    const keys = async (q: string) => {
      const r = await findCompanies(db, q);
      return `${r.how}: ${r.matches.map((m) => m.key).sort().join(',')}`;
    };
    expect(await keys('acct_acme')).toBe('key: acct_acme');
    expect(await keys('ACCT_ACME')).toBe('prefix: acct_acme');
    expect(await keys('acme')).toBe('prefix: acct_acme');
    expect(await keys('acme inc')).toBe('prefix: acct_acme');
    expect(await keys('tab')).toBe('prefix: acct_tab');
    expect(await keys('cme')).toBe('substring: acct_acme');
    expect(await keys('acct_t')).toBe('substring: acct_tab');
    expect(await keys('_')).toBe('substring: acct_acme,acct_tab');
    expect(await keys('%')).toBe('none: ');
    expect(await keys('zzz')).toBe('none: ');
  });

  it('a name that holds a control character is still found', async () => {
    expect((await groupsReply(ctx, 'show acct_tab', now)).terminal).toContain('Tab Co');
  });

  it('over HTTP: NUL and friends in a slash command are a name that matches nothing', async () => {
    for (const c of ['\u0000', '\u0001', '\u001b', '\u007f', '\uD800']) {
      const r = await slashCommand(app.url, `show ac${c}me`, slack.responseUrl);
      expect(r.status).toBe(200);
      expect(r.json.text, label(c)).toMatch(/No company matches/);
      expect(r.json.text).not.toMatch(COULD_NOT);
    }
    const form = 'command=%2Fgroups&text=show%20ac%00me&user_id=U1&channel_id=C1&team_id=T1&response_url=' + encodeURIComponent(slack.responseUrl);
    expect(decodeURIComponent('ac%00me')).toContain('\u0000'); // what Slack's encoding of a NUL decodes to
    const { sendSigned } = await import('./helpers/slack.js');
    const raw = await sendSigned(app.url, form, 'application/x-www-form-urlencoded');
    expect(raw.json.text).toMatch(/No company matches/);
  });

  it('a Details button whose value holds a NUL: "no company", not an error', async () => {
    const before = slack.callsTo('response_url').length;
    const r = await clickButton(app.url, { action_id: 'groups:show:0', value: 'acct\u0000acme' }, slack.responseUrl);
    expect(r.status).toBe(200);
    const [answer] = (await slack.waitFor('response_url', before + 1)).slice(before);
    expect(String(answer.body.text)).toMatch(/No company matches/);
    expect(String(answer.body.text)).not.toMatch(COULD_NOT);
  });

  it('App Home: a button value or view metadata holding a NUL gets the list with a note, not the error page', async () => {
    const view = (privateMetadata: string) => ({ id: 'V1', type: 'home', private_metadata: privateMetadata, hash: '1.a', blocks: [], state: { values: {} } });
    const homeClick = (action: Record<string, unknown>, privateMetadata = '') =>
      blockAction(app.url, {
        type: 'block_actions',
        user: { id: 'U1', team_id: 'T1' },
        api_app_id: 'A1',
        token: 't',
        container: { type: 'view', view_id: 'V1' },
        team: { id: 'T1' },
        view: view(privateMetadata),
        actions: [{ block_id: 'b1', action_ts: '1', ...action }],
      });
    const before = slack.callsTo('views.publish').length;
    expect((await homeClick({ type: 'button', action_id: 'groups:show:0', value: 'acct\u0000acme' })).status).toBe(200);
    const metadata = JSON.stringify({ v: 1, view: 'detail', range: '30d', metric: 'events', page: 1, key: 'acct\u0000acme' });
    const choice = { type: 'static_select', action_id: 'groups:range', selected_option: { value: '7d', text: { type: 'plain_text', text: '7 days' } } };
    expect((await homeClick(choice, metadata)).status).toBe(200);
    const published = (await slack.waitFor('views.publish', before + 2)).slice(before);
    for (const call of published) {
      const text = JSON.stringify(call.body.view);
      expect(text).not.toMatch(/could not be loaded/);
      expect(text).toMatch(/is no longer here/);
      expect(text).toContain('Acme Inc');
    }
  });
});
