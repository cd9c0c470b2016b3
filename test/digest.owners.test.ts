/**
 * The weekly digest names owners (issue 13): each falling company ends with its
 * owner as a real mention, the only mention the bot writes; the ownerless ones are
 * grouped under "No owner" with the command that sets one; data stays escaped.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDigest, runDigest } from '../src/app/weekly-digest.js';
import { setOwner } from '../src/app/owners.js';
import type { Db } from '../src/db/client.js';
import { parseRequest } from '../src/ingest/segment.js';
import { ingestEvents } from '../src/ingest/store.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, testDatabase, type TestDatabase } from './harness.js';
import { channelMemory, memoryLog, type ChannelMemory } from './helpers/digest.js';
import { startFakeSlack, type FakeSlack } from './helpers/slack.js';

const DAY = 86_400_000;
const NOW = new Date();
let fake: FakeSlack;
let memory: ChannelMemory;
let tdb: TestDatabase;
let db: Db;

/** Busy from 90 to 21 days ago, silent since: falling. */
async function quietCompany(key: string, name: string, traits: Record<string, unknown> = {}) {
  const batch: Record<string, unknown>[] = [{ type: 'group', userId: `${key}-p0`, groupId: key, traits: { name, ...traits }, timestamp: new Date(NOW.getTime() - 90 * DAY).toISOString() }];
  for (let d = 90; d >= 21; d--) {
    for (let j = 0; j < 12; j++) batch.push({ type: 'track', userId: `${key}-p${j % 3}`, event: 'Report Created', context: { groupId: key }, timestamp: new Date(NOW.getTime() - d * DAY + j * 60_000).toISOString(), messageId: `${key}-${d}-${j}` });
  }
  await ingestEvents(db, parseRequest({ batch }, { endpoint: 'batch', receivedAt: NOW, groupKeyPath: null }), { source: 'test', keyActions: new Set(['Report Created']) });
}

beforeAll(async () => {
  fake = await startFakeSlack();
  memory = channelMemory(fake);
  fake.respond.set('users.lookupByEmail', (call) =>
    call.body.email === 'dee@acme.test' ? { body: { ok: true, user: { id: 'UDEE' } } } : { body: { ok: false, error: 'users_not_found' } },
  );
  tdb = await testDatabase();
  db = tdb.database.db;
  await quietCompany('acct_globex', 'Globex');
  await quietCompany('acct_hooli', 'Hooli', { owner_email: 'dee@acme.test' });
  await quietCompany('acct_evil', '<!channel> Evil & Co', { owner_email: '<@UEVIL>@x.test' });
  await quietCompany('acct_gone', 'Gone Inc', { owner_email: 'nobody@gone.test' });
  await setOwner(db, 'acct_globex', 'UOWNER', null);
});

afterAll(async () => {
  await tdb?.drop();
  await fake?.close();
});

describe('the digest with owners', () => {
  it('owned companies end with a mention; the rest are under "No owner" with the command; nothing else mentions anyone', async () => {
    const ch = 'C0OWNERS';
    const deps = { db, client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }), channel: ch, tz: 'UTC', keyActions: ['Report Created'], log: memoryLog().log, ownerTrait: 'owner_email' };
    expect(await runDigest(deps)).toBe('posted');
    const [m] = memory.postsTo(ch);
    const sections = (m.blocks as any[]).filter((b) => b.type === 'section').map((b) => b.text.text as string);
    const globex = sections.find((s) => s.includes('Globex'))!;
    const hooli = sections.find((s) => s.includes('Hooli'))!;
    // The figures' line ends with the owner; the events that fell most follow on a line of their own.
    expect(globex).toMatch(/ · owner <@UOWNER>(\nfell most: [^\n]+)?$/);
    expect(hooli).toMatch(/ · owner <@UDEE>(\nfell most: [^\n]+)?$/);
    const heading = sections.findIndex((s) => s.startsWith('*No owner*'));
    expect(heading).toBeGreaterThan(sections.indexOf(globex));
    expect(heading).toBeGreaterThan(sections.indexOf(hooli));
    expect(sections[heading]).toContain('`/groups owner NAME @person`');
    const evil = sections.findIndex((s) => s.includes('Evil'));
    const gone = sections.findIndex((s) => s.includes('Gone Inc'));
    expect(evil).toBeGreaterThan(heading);
    expect(gone).toBeGreaterThan(heading);
    expect(sections[evil]).toContain('&lt;!channel&gt; Evil &amp; Co');
    expect(sections[evil]).toContain('owner &lt;@UEVIL&gt;@x.test is not in Slack');
    expect(sections[gone]).toContain('owner nobody@gone.test is not in Slack');
    // The only mentions in the whole post are the two owners.
    const all = JSON.stringify(m.blocks) + m.text;
    for (const part of [JSON.stringify(m.blocks), m.text]) expect([...part.matchAll(/<[@!#]([^>]*)>/g)].map((x) => x[1]).sort()).toEqual(['UDEE', 'UOWNER']);
    expect(all).not.toMatch(/<!channel>/);
  });

  it('the terminal digest (npm run digest -- --dry-run, /groups digest in the terminal) lists owners too', async () => {
    const built = await buildDigest({ db, keyActions: ['Report Created'] }, { now: NOW, tz: 'UTC', owners: { db, client: null, ownerTrait: 'owner_email' } });
    expect(built.reply.terminal).toContain('Owner <@UOWNER>: Globex');
    expect(built.reply.terminal).toMatch(/No owner: .*Gone Inc \(nobody@gone\.test is not in Slack\)/);
  });

  it('without OWNER_TRAIT wiring (older callers) the list is as before: no owners, no "No owner"', async () => {
    const ch = 'C0PLAIN';
    await db.execute(sql`select 1`);
    const deps = { db, client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }), channel: ch, tz: 'UTC', keyActions: ['Report Created'], log: memoryLog().log };
    expect(await runDigest(deps)).toBe('posted');
    const s = JSON.stringify(memory.postsTo(ch)[0].blocks);
    expect(s).not.toContain('No owner');
    expect(s).not.toContain('<@');
  });
});
