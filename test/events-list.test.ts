/**
 * `/groups show NAME events [range]` (issue 16 point 4) at the wire: events sent through the
 * ingestion API, signed slash commands, and the Previous / Next buttons clicked as Slack sends
 * them (signed block_actions to /slack/events), the new page arriving at the test's response_url.
 * Exact counts, the order (most first, then by name), paging, "other events" past the bound,
 * hostile names escaped, forged and stale page values refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPageKey, signPageState } from '../src/app/event-page-token.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS_LABEL } from '../src/ingest/event-names.js';
import { EVENT_LIST_PAGE_SIZE } from '../src/render/event-list-message.js';
import { post, SIGNING_SECRET, startTestApp } from './harness.js';
import { clickButton, slashCommand, startFakeSlack, type FakeSlack, type RecordedCall } from './helpers/slack.js';

const HOSTILE = ['<!channel>', '<@U123>', '<https://x|y>', '&amp;'];

type Button = { type: string; text: { text: string }; action_id?: string; value?: string };
type Block = { type: string; text?: { text: string }; accessory?: Button; elements?: { type: string; text: { text: string } | string; action_id?: string; value?: string }[] };
type Message = { text: string; blocks: Block[]; replace_original?: boolean };

/** The event lines of a list message (its sections), in order. */
const eventLines = (m: Message) =>
  m.blocks
    .filter((b) => b.type === 'section')
    .flatMap((b) => (b.text?.text ?? '').split('\n'))
    .filter((l) => / · [\d,]+$/.test(l));
const pageLine = (m: Message) => (m.blocks[1]?.elements?.[0]?.text as string | undefined) ?? '';
const buttons = (m: Message) => [...m.blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : [])), ...m.blocks.flatMap((b) => (b.accessory ? [b.accessory] : []))].filter((e) => e.type === 'button');
const button = (m: Message, label: string) => buttons(m).find((b) => (b.text as { text: string }).text.includes(label));
/** Every piece of text Slack would render: the fallback and each block's mrkdwn. */
const everyText = (m: Message) => [m.text, ...m.blocks.flatMap((b) => [b.text?.text ?? '', ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : e.text?.text ?? ''))])];

describe('show NAME events', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  const recent = (min: number) => new Date(Date.now() - 3_600_000 - min * 60_000).toISOString();
  const old = new Date(Date.now() - 60 * 86_400_000).toISOString();
  const track = (key: string, event: string, i: number, timestamp = recent(i % 50)) => ({ type: 'track', userId: `${key}-u${i % 3}`, event, timestamp, context: { groupId: key } });
  const times = (n: number, key: string, event: string, timestamp?: string) => Array.from({ length: n }, (_, i) => track(key, event, i, timestamp));
  /** acct_many: 120 names, Feature 001 .. Feature 120, each 1 to 3 times. */
  const many = Array.from({ length: 120 }, (_, i) => ({ name: `Feature ${String(i + 1).padStart(3, '0')}`, count: 1 + ((i * 7) % 3) }));
  const manyOrder = [...many].sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));

  async function click(value: string, actionId = 'groups:events:1'): Promise<RecordedCall> {
    const before = slack.callsTo('response_url').length;
    const r = await clickButton(app.url, { action_id: actionId, value }, slack.responseUrl, { trigger_id: '1.2' });
    expect(r.status).toBe(200);
    return (await slack.waitFor('response_url', before + 1)).slice(before)[0];
  }
  const command = async (text: string) => {
    const r = await slashCommand(app.url, text, slack.responseUrl);
    expect(r.status).toBe(200);
    return r.json as Message;
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    const batch: Record<string, unknown>[] = [
      { type: 'group', userId: 'acct_acme-u0', groupId: 'acct_acme', traits: { name: 'ACME Corp' }, timestamp: recent(0) },
      ...times(1200, 'acct_acme', 'Report Created'),
      ...times(3, 'acct_acme', 'Invite Sent'),
      ...times(2, 'acct_acme', HOSTILE[0]),
      ...times(2, 'acct_acme', HOSTILE[1]),
      ...times(1, 'acct_acme', HOSTILE[2]),
      ...times(1, 'acct_acme', HOSTILE[3]),
      { type: 'page', userId: 'acct_acme-u1', timestamp: recent(1), context: { groupId: 'acct_acme' } },
      ...times(4, 'acct_acme', 'Old Only', old),
      { type: 'group', userId: 'acct_many-u0', groupId: 'acct_many', traits: { name: 'Many Names Ltd' }, timestamp: recent(0) },
      ...many.flatMap((e) => times(e.count, 'acct_many', e.name)),
      { type: 'group', userId: 'gx-e', groupId: 'acct_gx_east', traits: { name: 'Globex East' }, timestamp: recent(0) },
      { type: 'group', userId: 'gx-w', groupId: 'acct_gx_west', traits: { name: 'Globex West' }, timestamp: recent(0) },
      ...times(2, 'acct_gx_west', 'West Only'),
      // An event really called "other events" (one sent with spaces around it, which are trimmed).
      { type: 'group', userId: 'oe-u0', groupId: 'acct_named_other', traits: { name: 'Named Other Inc' }, timestamp: recent(0) },
      ...times(4, 'acct_named_other', 'other events'),
      track('acct_named_other', '  other events ', 5),
      track('acct_named_other', 'Signup', 6),
      // 25 companies whose names share a word: more than a reply lists.
      ...Array.from({ length: 25 }, (_, i) => ({ type: 'group', userId: `mc-${i}`, groupId: `acct_mc_${i}`, traits: { name: `Manyco ${i}` }, timestamp: recent(0) })),
    ];
    for (let i = 0; i < batch.length; i += 400) expect((await post(`${app.url}/v1/batch`, { batch: batch.slice(i, i + 400) })).status).toBe(200);
    // acct_wide: 25 names past the bound, each once, in this order: the first EVENT_NAMES_PER_COMPANY are kept.
    const wide = Array.from({ length: EVENT_NAMES_PER_COMPANY + 25 }, (_, i) => track('acct_wide', `Viewed /invoice/${String(i).padStart(3, '0')}`, i));
    expect((await post(`${app.url}/v1/batch`, { batch: wide })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it('a signed /groups show ACME events lists every event with its exact count, most first then by name, names escaped', async () => {
    const m = await command('show ACME events');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Events · ACME Corp' } });
    expect(pageLine(m)).toBe('Key `acct_acme` · last 30 days · page 1 of 1 · 7 events · 1,210 in all');
    // Ties by name in code-point order ("&" < "<" < "p"); "Old Only" is outside the 30 days.
    expect(eventLines(m)).toEqual(['1. Report Created · 1,200', '2. Invite Sent · 3', '3. &lt;!channel&gt; · 2', '4. &lt;@U123&gt; · 2', '5. &amp;amp; · 1', '6. &lt;https://x|y&gt; · 1', '7. page · 1']);
    expect(buttons(m)).toEqual([]); // one page: no Previous, no Next
    expect(m.text).toContain('1. Report Created · 1,200');
    for (const t of everyText(m)) {
      for (const h of HOSTILE.slice(0, 3)) expect(t).not.toContain(h);
      // Every & starts an entity: the name "&amp;" shows as typed, not as "&".
      expect(t.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
  });

  it('the range: 90d counts the older event too; 1w and "4 weeks" are read as ranges', async () => {
    const m = await command('show acct_acme events 90d');
    expect(pageLine(m)).toBe('Key `acct_acme` · last 90 days · page 1 of 1 · 8 events · 1,214 in all');
    expect(eventLines(m).slice(0, 3)).toEqual(['1. Report Created · 1,200', '2. Old Only · 4', '3. Invite Sent · 3']);
    expect(pageLine(await command('show ACME Corp events 1w'))).toContain('last week · page 1 of 1 · 7 events · 1,210 in all');
    expect(pageLine(await command('show ACME Corp events 4 weeks'))).toContain('last 4 weeks');
  });

  it(`a company with 120 names: page 1 of 3, and Next replaces the message with page 2 (names ${EVENT_LIST_PAGE_SIZE + 1} to ${2 * EVENT_LIST_PAGE_SIZE})`, async () => {
    const first = await command('show Many Names events');
    expect(pageLine(first)).toBe('Key `acct_many` · last 30 days · page 1 of 3 · 120 events · 240 in all');
    expect(eventLines(first)).toEqual(manyOrder.slice(0, EVENT_LIST_PAGE_SIZE).map((e, i) => `${i + 1}. ${e.name} · ${e.count}`));
    expect(button(first, 'Previous')).toBeUndefined();
    const next = button(first, 'Next')!;
    expect(next.action_id).toMatch(/^groups:events:\d+$/);

    const call = await click(next.value!, next.action_id);
    expect(call.body.replace_original).toBe(true);
    expect(call.body.response_type).toBe('ephemeral');
    const second = call.body as unknown as Message;
    expect(pageLine(second)).toBe('Key `acct_many` · last 30 days · page 2 of 3 · 120 events · 240 in all');
    expect(eventLines(second)).toEqual(manyOrder.slice(EVENT_LIST_PAGE_SIZE, 2 * EVENT_LIST_PAGE_SIZE).map((e, i) => `${EVENT_LIST_PAGE_SIZE + i + 1}. ${e.name} · ${e.count}`));
    expect(second.text).toContain(`${EVENT_LIST_PAGE_SIZE + 1}. ${manyOrder[EVENT_LIST_PAGE_SIZE].name}`);

    // Previous goes back to page 1; Next twice reaches page 3, which has no Next.
    const back = (await click(button(second, 'Previous')!.value!, button(second, 'Previous')!.action_id)).body as unknown as Message;
    expect(eventLines(back)).toEqual(eventLines(first));
    const third = (await click(button(second, 'Next')!.value!)).body as unknown as Message;
    expect(pageLine(third)).toContain('page 3 of 3');
    expect(eventLines(third)).toHaveLength(120 - 2 * EVENT_LIST_PAGE_SIZE);
    expect(button(third, 'Next')).toBeUndefined();
  });

  it(`a company past the bound: "${OTHER_EVENTS_LABEL}" comes last, with its count and a note, on the last page`, async () => {
    let page = await command('show acct_wide events');
    expect(pageLine(page)).toBe(`Key \`acct_wide\` · last 30 days · page 1 of 6 · 200 events and “${OTHER_EVENTS_LABEL}” · 225 in all`);
    for (let p = 2; p <= 6; p++) page = (await click(button(page, 'Next')!.value!)).body as unknown as Message;
    expect(pageLine(page)).toContain('page 6 of 6');
    expect(eventLines(page)).toEqual([`_${OTHER_EVENTS_LABEL}_ · 25`]);
    expect(JSON.stringify(page.blocks)).toContain(`this company sends over ${EVENT_NAMES_PER_COMPANY} distinct event names`);
    expect(page.text).toContain(`${OTHER_EVENTS_LABEL} · 25`);
  });

  it('an event really called "other events" is an event like any other: numbered, counted, no note', async () => {
    const m = await command('show Named Other events');
    expect(pageLine(m)).toBe('Key `acct_named_other` · last 30 days · page 1 of 1 · 2 events · 6 in all');
    expect(eventLines(m)).toEqual(['1. other events · 5', '2. Signup · 1']);
    expect(JSON.stringify(m.blocks)).not.toContain('distinct event names');
  });

  it('several matches: the choices, each with an Events button that opens its list', async () => {
    const m = await command('show globex events');
    expect(m.text).toMatch(/^2 companies match “globex”/);
    const west = buttons(m).find((b) => JSON.parse(b.value!).k === 'acct_gx_west')!;
    expect((west.text as { text: string }).text).toBe('Events');
    const list = (await click(west.value!, west.action_id)).body as unknown as Message;
    expect(list.replace_original).toBe(true);
    expect(eventLines(list)).toEqual(['1. West Only · 2']);
  });

  it('more matches than a reply lists: says so, lists the first 20, for show and for show … events', async () => {
    for (const text of ['show Manyco', 'show Manyco events']) {
      const m = await command(text);
      expect(m.text).toMatch(/^More than 20 companies match “Manyco”; the first 20, type more of the name to narrow them\. Pick one:/);
      expect(buttons(m)).toHaveLength(20);
    }
    // Exactly as many as listed: a plain count.
    const two = await command('show globex');
    expect(two.text).toMatch(/^2 companies match “globex”\. Pick one:/);
  });

  it('no match: says so, with the closest names', async () => {
    const m = await command('show Globx events');
    expect(m.text).toContain('No company matches “Globx”');
    expect(m.text).toContain('Globex');
  });

  it('a forged, tampered or stale page value gets a clear reply, and the list stays', async () => {
    const first = await command('show Many Names events');
    const value = JSON.parse(button(first, 'Next')!.value!);
    for (const forged of [JSON.stringify({ ...value, o: 80 }), JSON.stringify({ ...value, k: 'acct_acme' }), 'not json', JSON.stringify({ ...value, s: 'A'.repeat(43) })]) {
      const call = await click(forged);
      expect(call.body.replace_original).toBe(false);
      expect(String(call.body.text)).toContain('This page button could not be checked');
    }
    // Signed with the right key, but made two days ago.
    const stale = signPageState(eventPageKey(SIGNING_SECRET), { key: 'acct_many', range: { days: 30, label: '30d' }, offset: 40, madeAt: new Date(Date.now() - 2 * 86_400_000) })!;
    const call = await click(stale);
    expect(call.body.replace_original).toBe(false);
    expect(String(call.body.text)).toBe('⚠️ This list is over 24 hours old, so its page buttons no longer work. Type `/groups show acct_many events 30d` again for today’s counts.');
    // The same state made now is served: the key is the app's own.
    const fresh = signPageState(eventPageKey(SIGNING_SECRET), { key: 'acct_many', range: { days: 30, label: '30d' }, offset: 40, madeAt: new Date() })!;
    expect(pageLine((await click(fresh)).body as unknown as Message)).toContain('page 2 of 3');
  });

  it('a bad range after events names the fix', async () => {
    expect((await command('show ACME events 400d')).text).toContain('out of bounds: use 1d to 365d');
    expect((await command('show ACME events 30')).text).toContain('“30” needs a unit: 30d or 30w');
  });

  it('/groups help mentions it', async () => {
    expect((await command('help')).text).toContain('`/groups show NAME events [range]`  every event of the company with its count, paged');
  });
});
