/**
 * `npm run import` reads every format it names, each from a small file written from the
 * vendor's documented format, and the result reads back through a signed `/groups top`
 * and `/groups show` with exact counts. Each format's company: 3 people, 7 events, 3 key
 * actions, 3 sessions.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableCounts } from './helpers/dbq.js';
import { ago, gz, importPaths, join, jsonl, write, zip } from './helpers/import.js';
import { startTestApp } from './harness.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

const KEY = 'Report Built';

/** The 7 events of one format's company, as (person, name, time). */
function plan(now: Date) {
  return [
    { p: 'p1', name: 'Login', at: ago(now, 3, 10, 0) },
    { p: 'p1', name: KEY, at: ago(now, 3, 10, 5) },
    { p: 'p1', name: 'Login', at: ago(now, 3, 10, 10) },
    { p: 'p1', name: KEY, at: ago(now, 3, 10, 20) },
    { p: 'p2', name: 'Login', at: ago(now, 2, 9, 0) },
    { p: 'p2', name: KEY, at: ago(now, 2, 9, 1) },
    { p: 'p3', name: 'Login', at: ago(now, 5, 15, 0) },
  ];
}

function writeFixtures(dir: string, now: Date) {
  const events = plan(now);
  // Segment archive, gzipped under a name with no .gz. p3's track comes before p3's group call
  // in the file but after it in time: it must count for the company, not as ungrouped.
  const seg = events.map((e, i) => ({
    type: 'track',
    event: e.name,
    userId: `seg-${e.p}`,
    messageId: `m${i}`, // the same ids as Mixpanel's below: namespaces keep them apart
    timestamp: e.at.toISOString(),
    // A client clock 5 minutes ahead: Segment corrected `timestamp` already; correcting again would move it.
    sentAt: new Date(e.at.getTime() + 300_000).toISOString(),
    receivedAt: e.at.toISOString(),
    ...(e.p === 'p3' ? {} : { context: { groupId: 'seg-co' } }),
  }));
  write(
    join(dir, 'segment-logs/src1/1700000000000/part-0001'),
    gz(
      jsonl([
        ...seg,
        { type: 'group', userId: 'seg-p3', groupId: 'seg-co', traits: { name: 'Segment Co' }, messageId: 'g1', timestamp: ago(now, 5, 14, 0).toISOString() },
        { type: 'identify', userId: 'seg-p1', traits: { name: 'Ada Lovelace', email: 'ada@example.com' }, messageId: 'i1', timestamp: ago(now, 10).toISOString() },
        { type: 'alias', userId: 'seg-p1', previousId: 'anon-1', messageId: 'a1', timestamp: ago(now, 10).toISOString() },
        seg[0], // a duplicate line: counted once
      ]),
    ),
  );
  // RudderStack backup.
  write(
    join(dir, 'rudder-logs/src2/2026-11-01/1700000000.src2.abc.json.gz'),
    gz(
      jsonl(
        events.map((e, i) => ({
          type: 'track',
          event: e.name,
          userId: `rud-${e.p}`,
          rudderId: `r-${e.p}`,
          channel: 'web',
          messageId: `rud-${i}`,
          timestamp: e.at.toISOString(),
          originalTimestamp: e.at.toISOString(),
          context: { groupId: 'rud-co', library: { name: 'RudderLabs JavaScript SDK' } },
        })),
      ),
    ),
  );
  // Mixpanel raw export: time in seconds (p1), in ms (p2, p3); the company a list or a string; one bad line.
  write(
    join(dir, 'mixpanel.jsonl'),
    jsonl([
      ...events.map((e, i) => ({
        event: e.name,
        properties: {
          time: e.p === 'p1' ? Math.floor(e.at.getTime() / 1000) : e.at.getTime(),
          distinct_id: `mix-${e.p}`,
          $insert_id: `m${i}`,
          company_id: e.p === 'p1' ? ['mix-co', 'other-co'] : 'mix-co',
          mp_lib: 'web',
        },
      })),
      { event: '$identify', properties: { time: Math.floor(ago(now, 3).getTime() / 1000), distinct_id: 'mix-p1', $insert_id: 'id-1' } },
      '{"event": "Login", "properties": {',
    ]),
  );
  // Amplitude Export API: a zip of *.json.gz, split by hour; p3 is a device only.
  const amp = events.map((e, i) => ({
    event_type: e.name,
    user_id: e.p === 'p3' ? null : `amp-${e.p}`,
    device_id: `dev-${e.p}`,
    event_time: e.at.toISOString().replace('T', ' ').replace('Z', '000'),
    client_event_time: e.at.toISOString().replace('T', ' ').replace('Z', '000'),
    $insert_id: i % 2 ? `amp-ins-${i}` : null,
    uuid: `amp-uuid-${i}`,
    groups: { company: ['amp-co'] },
    session_id: -1,
  }));
  write(
    join(dir, 'amplitude/export.zip'),
    zip({
      '123_2026-11-20_10#0.json.gz': gz(jsonl(amp.slice(0, 4))),
      '123_2026-11-21_9#0.json.gz': gz(jsonl(amp.slice(4))),
    }),
  );
  // PostHog batch export (gzip), with a $groupidentify naming the company.
  write(
    join(dir, 'posthog/export.jsonl.gz'),
    gz(
      jsonl([
        ...events.map((e, i) => ({
          uuid: `0190-${i}`,
          event: e.name,
          distinct_id: `pho-${e.p}`,
          person_id: `person-${e.p}`,
          timestamp: e.at.toISOString().replace('T', ' ').replace('Z', ''),
          properties: { $groups: { company: 'pho-co' }, $lib: 'web' },
        })),
        { uuid: '0190-g', event: '$groupidentify', distinct_id: 'pho-p1', timestamp: ago(now, 20).toISOString(), properties: { $group_type: 'company', $group_key: 'pho-co', $group_set: { name: 'PostHog Co' } } },
      ]),
    ),
  );
  // Segment warehouse `tracks` CSV: a quoted field with a comma and a line break; one row with no timestamp.
  const rows = events.map((e, i) => `csv-${i},csv-${e.p},,report_built,"${e.name}",${e.at.toISOString().replace('T', ' ').replace('Z', ' UTC')},csv-co,"Hello, ""world""\nsecond line"`);
  write(
    join(dir, 'warehouse/tracks.csv'),
    `id,user_id,anonymous_id,event,event_text,timestamp,context_group_id,context_page_title\n${rows.join('\n')}\ncsv-x,csv-p1,,login,Login,,csv-co,x\n`,
  );
}

describe('npm run import: every format', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  let dir: string;
  let first: Awaited<ReturnType<typeof importPaths>>;
  const now = new Date();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lm-import-'));
    writeFixtures(dir, now);
    slack = await startFakeSlack();
    app = await startTestApp({ env: { KEY_ACTIONS: KEY, SLACK_API_URL: slack.apiUrl } });
    // Small chunks: each one transaction, so only the time order puts p3's early group call before its track.
    first = await importPaths(app.database.db, [dir], { keyActions: [KEY], now, chunk: 3 });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads each file in its own format and counts exactly', () => {
    expect(first.fileProblems).toEqual([]);
    expect(first.files).toBe(6);
    expect(Object.fromEntries(first.formats)).toEqual({
      'Segment archive': 1,
      'RudderStack backup': 1,
      'Mixpanel export': 1,
      'Amplitude export': 2, // two entries of one zip
      'PostHog export': 1,
      CSV: 1,
    });
    // 6 x 7 events, + group, identify (Segment) + $groupidentify (PostHog); the duplicate line is valid and stored once.
    expect(first.valid).toBe(6 * 7 + 3 + 1);
    expect(first.stored).toBe(6 * 7 + 3);
    expect(first.duplicates).toBe(1);
    expect(first.skipped.total).toBe(2);
    expect([...first.ignored.values()].reduce((a, b) => a + b, 0)).toBe(2); // alias, $identify
    expect(first.coverage.companies.size).toBe(6);
    expect(first.coverage.activity).toBe(42);
    expect(first.coverage.activityWithCompany).toBe(42);
  });

  it('names each bad line file:line with its reason', () => {
    const reasons = Object.fromEntries([...first.skipped.reasons.values()].map((r) => [r.reason, r.where]));
    expect(reasons['not valid JSON']).toEqual([`${join(dir, 'mixpanel.jsonl')}:9`]);
    // The CSV's 7 records span 14 lines (a quoted line break each), after the header: the bad row starts on line 16.
    expect(reasons['timestamp: empty (--map COLUMN=timestamp names another column)']).toEqual([`${join(dir, 'warehouse/tracks.csv')}:16`]);
  });

  it('/groups top lists each company with 3 people and 7 events', async () => {
    const r = await slashCommand(app.url, 'top 30d by events limit 10', slack.responseUrl);
    expect(r.status).toBe(200);
    const text: string = r.json.text.replace(/\*/g, '');
    for (const name of ['Segment Co', 'rud-co', 'mix-co', 'amp-co', 'PostHog Co', 'csv-co']) {
      const line = text.split('\n').find((l) => new RegExp(`^\\d+\\. ${name}\\b`).test(l));
      expect(line, `${name} in\n${text}`).toBeDefined();
      const rest = text.slice(text.indexOf(line!)).split(/\n(?=\d+\. )/)[0].replace(/\n/g, ' ');
      expect(rest).toMatch(/\b3 people\b/);
      expect(rest).toMatch(/\b7 events\b/);
    }
    expect(text).not.toContain('other-co');
  });

  it('/groups show gives the exact counts of one company', async () => {
    for (const key of ['seg-co', 'amp-co', 'mix-co']) {
      const r = await slashCommand(app.url, `show ${key}`, slack.responseUrl);
      const text: string = r.json.text.replace(/\*/g, '');
      expect(text).toContain('People, last 30 days: 3 active · 3 known in all · Key actions: 3 · Events: 7 · Sessions: 3');
    }
    const seg = (await slashCommand(app.url, 'show Segment Co', slack.responseUrl)).json.text;
    expect(seg).toContain('Ada Lovelace'); // the identify named the person
  });

  it('a second run stores nothing new', async () => {
    const before = await tableCounts(app.database.db);
    const again = await importPaths(app.database.db, [dir], { keyActions: [KEY], now });
    expect(again.valid).toBe(first.valid);
    expect(again.stored).toBe(0);
    expect(again.duplicates).toBe(first.valid);
    expect(await tableCounts(app.database.db)).toEqual(before);
  });

  it('the fixtures are what they say: gzip with no .gz name, a zip', () => {
    const seg = readFileSync(join(dir, 'segment-logs/src1/1700000000000/part-0001'));
    expect([seg[0], seg[1]]).toEqual([0x1f, 0x8b]);
    expect(readFileSync(join(dir, 'amplitude/export.zip')).subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004');
  });
});
