/**
 * App Home's owner parts at the wire (issue 13): the Groups page opens with
 * "Yours" (owned and watched, falling first) above the ranked list; a company's
 * detail shows its owner and a Watch / Unwatch button that works.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setOwner, watch } from '../src/app/owners.js';
import { rows } from '../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { loadWorkedExample, startTestApp } from './harness.js';
import { blockAction, eventCallback, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { buttonNamed, expectValidView, type Element, type ViewLike } from './helpers/view.js';

let app: Awaited<ReturnType<typeof startTestApp>>;
let slack: FakeSlack;

async function nextPublish(send: () => Promise<{ status: number }>): Promise<ViewLike> {
  const before = slack.callsTo('views.publish').length;
  expect((await send()).status).toBe(200);
  const calls = await slack.waitFor('views.publish', before + 1);
  const view = (calls[before].body as { view: ViewLike }).view;
  expectValidView(view);
  return view;
}

const open = (user: string) => nextPublish(() => eventCallback(app.url, { type: 'app_home_opened', user, channel: 'D1', tab: 'home', event_ts: '1700000000.000100' }));

function click(view: ViewLike, button: Element, user: string) {
  return nextPublish(() =>
    blockAction(app.url, {
      type: 'block_actions',
      user: { id: user },
      container: { type: 'view', view_id: 'V1' },
      view: { id: 'V1', type: 'home', blocks: view.blocks, private_metadata: view.private_metadata ?? '', hash: '1.a' },
      actions: [{ type: 'button', action_id: button.action_id, value: button.value, text: button.text }],
    }),
  );
}

const sectionTexts = (v: ViewLike) => v.blocks.filter((b) => b.type === 'section' && b.text).map((b) => b.text.text as string);

beforeAll(async () => {
  slack = await startFakeSlack();
  app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl } });
  await loadWorkedExample(app.url);
  await setOwner(app.database.db, 'acct_acme', 'UHOME', null);
  await watch(app.database.db, 'acct_globex', 'UHOME');
});
afterAll(async () => {
  await app?.stop();
  await app?.dropDatabase();
  await slack?.close();
});

describe('App Home with owners', () => {
  it('"Yours" opens the page, falling first, above the ranked list', async () => {
    const v = await open('UHOME');
    const texts = sectionTexts(v);
    const yours = texts.findIndex((t) => t.startsWith('*Yours*'));
    const ranked = texts.findIndex((t) => t.startsWith('*Most active companies*'));
    expect(yours).toBeGreaterThanOrEqual(0);
    expect(yours).toBeLessThan(ranked);
    expect(texts[yours]).toContain('2 you own or watch · 1 falling');
    expect(texts[yours + 1]).toMatch(/^\*1\. Globex\*[\s\S]*you watch it$/);
    expect(texts[yours + 2]).toMatch(/^\*2\. Acme Inc\*[\s\S]*you own it$/);
    // Someone with nothing: one line saying how to start.
    const other = sectionTexts(await open('UNONE'));
    expect(other.find((t) => t.startsWith('*Yours*'))).toContain('/groups watch NAME');
  });

  it('the detail view shows the owner and a Watch button that works, then Unwatch', async () => {
    const list = await open('UOTHER');
    const details = list.blocks.find((b) => b.type === 'section' && /Acme Inc/.test(b.text?.text ?? '') && b.accessory)!.accessory as Element;
    const detail = await click(list, details, 'UOTHER');
    const ctx = JSON.stringify(detail.blocks.slice(0, 3));
    expect(ctx).toContain('Owner: <@UHOME>');
    const watchButton = buttonNamed(detail, 'Watch')!;
    expect(watchButton.value).toBe('acct_acme');
    const after = await click(detail, watchButton, 'UOTHER');
    expect(buttonNamed(after, 'Unwatch')).toBeTruthy();
    expect(await rows(app.database.db, sql`select 1 from company_watchers where company_key = 'acct_acme' and user_id = 'UOTHER'`)).toHaveLength(1);
    const again = await click(after, buttonNamed(after, 'Unwatch')!, 'UOTHER');
    expect(buttonNamed(again, 'Watch')).toBeTruthy();
    expect(await rows(app.database.db, sql`select 1 from company_watchers where company_key = 'acct_acme' and user_id = 'UOTHER'`)).toHaveLength(0);
  });
});
