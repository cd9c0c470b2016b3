/**
 * `/groups show`'s "What they do" (issue 16) at the wire: events sent through the ingestion
 * API, a signed `/groups show`, the reply read as Slack would render it. Names escaped; the top
 * EVENTS_LISTED with their counts over the range; a note when names past the bound were folded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_LISTED } from '../src/app/company-reads.js';
import { EVENT_NAMES_PER_COMPANY, OTHER_EVENTS_LABEL } from '../src/ingest/event-names.js';
import { post, startTestApp } from './harness.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

const HOSTILE = '<!channel>';

type Reply = { text: string; blocks: { type: string; text?: { type: string; text: string } }[] };

describe('show: What they do', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  const recent = (min: number) => new Date(Date.now() - 3_600_000 - min * 60_000).toISOString();
  const old = new Date(Date.now() - 60 * 86_400_000).toISOString();
  const track = (key: string, event: string, i: number, timestamp = recent(i % 50)) => ({
    type: 'track',
    userId: `${key}-u${i % 3}`,
    event,
    timestamp,
    context: { groupId: key },
  });

  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { SLACK_API_URL: slack.apiUrl } });
    // acct_ev: the hostile name most often (12), then E1 (11) .. E10 (2); pages without a name;
    // an old event, more frequent than all, outside the 30-day range (show's range). First seen 60
    // days ago, the company has a baseline, in which the recent events had none: each is "new".
    const batch: Record<string, unknown>[] = [
      { type: 'group', userId: 'acct_ev-u0', groupId: 'acct_ev', traits: { name: 'Evco' }, timestamp: recent(0) },
      ...Array.from({ length: 12 }, (_, i) => track('acct_ev', HOSTILE, i)),
      ...Array.from({ length: 10 }, (_, n) => Array.from({ length: 11 - n }, (_, i) => track('acct_ev', `E${n + 1}`, i))).flat(),
      ...Array.from({ length: 3 }, (_, i) => ({ type: 'page', userId: 'acct_ev-u1', timestamp: recent(i), context: { groupId: 'acct_ev' } })),
      ...Array.from({ length: 40 }, (_, i) => track('acct_ev', 'Old Only', i, old)),
    ];
    expect((await post(`${app.url}/v1/batch`, { batch })).status).toBe(200);
    // acct_wide: more names than the bound.
    const wide = Array.from({ length: EVENT_NAMES_PER_COMPANY + 25 }, (_, i) => track('acct_wide', `Viewed /invoice/${i}`, i));
    expect((await post(`${app.url}/v1/batch`, { batch: wide })).status).toBe(200);
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  const section = (reply: Reply) => reply.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*What they do'))?.text?.text ?? '';

  it(`lists the top ${EVENTS_LISTED} events over the range with their counts, names escaped`, async () => {
    const reply = (await slashCommand(app.url, 'show acct_ev', slack.responseUrl)).json as Reply;
    const s = section(reply);
    expect(s.split('\n')).toEqual([
      '*What they do, last 30 days*',
      '1. &lt;!channel&gt; · 12 · new',
      '2. E1 · 11 · new',
      '3. E2 · 10 · new',
      '4. E3 · 9 · new',
      '5. E4 · 8 · new',
      '6. E5 · 7 · new',
      '7. E6 · 6 · new',
      '8. E7 · 5 · new',
      // E8, E9, E10 and "page" (3); "Old Only" is outside the range.
      'and 4 more events',
    ]);
    for (const t of [reply.text, ...reply.blocks.map((b) => b.text?.text ?? '')]) expect(t).not.toContain(HOSTILE);
    expect(reply.text).toContain('What they do, last 30 days');
  });

  it(`says when names past ${EVENT_NAMES_PER_COMPANY} were counted under "${OTHER_EVENTS_LABEL}"`, async () => {
    const s = section((await slashCommand(app.url, 'show acct_wide', slack.responseUrl)).json as Reply);
    expect(s).toContain(`and ${EVENT_NAMES_PER_COMPANY - EVENTS_LISTED} more events`);
    expect(s).toContain(`25 more under “${OTHER_EVENTS_LABEL}”`);
    const plain = section((await slashCommand(app.url, 'show acct_ev', slack.responseUrl)).json as Reply);
    expect(plain).not.toContain(OTHER_EVENTS_LABEL);
  });
});
