/**
 * The digest's chart of the falling companies, at the wire. Without PUBLIC_URL: uploaded
 * through files.getUploadURLExternal, the bytes to its upload_url, and
 * files.completeUploadExternal into the digest channel, once, before the post that
 * refers to it; a run that dies between sharing it and posting leaves one chart and
 * one post after the restart. With PUBLIC_URL: an image block whose URL the bot serves.
 */
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartFileName, digestWeek, runDigest, type DigestDeps } from '../src/app/weekly-digest.js';
import type { Database } from '../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { createWebApi } from '../src/slack/webapi.js';
import { BOT_TOKEN, loadWorkedExample as loadOverHttp, startTestApp, testDatabase, type TestDatabase } from './harness.js';
import { ageClaim, channelMemory, digestRow, loadWorkedExample, memoryLog, type ChannelMemory } from './helpers/digest.js';
import { startFakeSlack, type FakeSlack } from './helpers/slack.js';

let fake: FakeSlack;
let memory: ChannelMemory;
let tdb: TestDatabase;
let db: Database['db'];
const TZ = 'UTC';
const NOW = new Date();
const WEEK = digestWeek(NOW, TZ).week;

beforeAll(async () => {
  fake = await startFakeSlack();
  memory = channelMemory(fake);
  tdb = await testDatabase();
  db = tdb.database.db;
  await loadWorkedExample(db, NOW); // Globex falls sharply
});

afterAll(async () => {
  await tdb?.drop();
  await fake?.close();
});

function deps(channel: string, extra: Partial<DigestDeps> = {}) {
  const logged = memoryLog();
  return {
    logged,
    deps: {
      db,
      client: createWebApi({ apiUrl: fake.apiUrl, token: BOT_TOKEN }),
      channel,
      tz: TZ,
      keyActions: EXAMPLE_KEY_ACTIONS,
      log: logged.log,
      now: NOW,
      retryDelaysMs: [10, 20, 40],
      chart: { kind: 'upload' },
      ...extra,
    } satisfies DigestDeps,
  };
}

const to = (method: string, channel: string) =>
  fake.callsTo(method).filter((c) => c.body.channel === channel || c.body.channel_id === channel);
/** The upload calls of the files a channel got (uploads carry no channel: matched by file id). */
const uploadsFor = (channel: string) => {
  const ids = new Set(to('files.completeUploadExternal', channel).flatMap((c) => (c.body.files as { id: string }[]).map((f) => f.id)));
  return fake.callsTo('upload').filter((c) => ids.has(String(c.body.file_id)));
};

describe('the digest chart, uploaded (no PUBLIC_URL)', () => {
  it('goes through the three calls once, shared in the digest channel before the post that refers to it', async () => {
    const ch = 'C0CHART1';
    const asked = fake.callsTo('files.getUploadURLExternal').length;
    expect(await runDigest(deps(ch).deps)).toBe('posted');

    const urlCalls = fake.callsTo('files.getUploadURLExternal').slice(asked);
    expect(urlCalls).toHaveLength(1);
    expect(urlCalls[0].body.filename).toBe(chartFileName(WEEK));
    const [upload] = uploadsFor(ch);
    const bytes = upload.body.bytes as Buffer;
    // multipart: the PNG sits inside the form body; find its signature and decode what follows.
    const start = bytes.indexOf(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const end = bytes.indexOf(Buffer.from('IEND')) + 8;
    const png = PNG.sync.read(bytes.subarray(start, end));
    expect(Number(urlCalls[0].body.length)).toBe(end - start);
    expect(png.width).toBeGreaterThan(300);

    const completes = to('files.completeUploadExternal', ch);
    expect(completes).toHaveLength(1);
    expect(completes[0].body.files).toEqual([{ id: upload.body.file_id, title: `Falling companies · ${WEEK}` }]);
    const posts = to('chat.postMessage', ch);
    expect(posts).toHaveLength(1);
    expect(completes[0].at).toBeLessThanOrEqual(posts[0].at);
    expect(JSON.stringify(posts[0].body.blocks)).toContain(`files/U1/${String(upload.body.file_id)}`);
    expect(memory.shared.filter((f) => f.channel === ch)).toHaveLength(1);
    // A later firing this week: already posted, nothing uploaded.
    expect(await runDigest(deps(ch).deps)).toBe('already-posted');
    expect(fake.callsTo('files.getUploadURLExternal').slice(asked)).toHaveLength(1);
  });

  it('a run that dies between sharing the chart and posting: after the restart, one chart and one post', async () => {
    const ch = 'C0CHART2';
    const crash = new Error('process died');
    await expect(runDigest(deps(ch, { runId: 'run-crashed', hooks: { afterChartShared: () => Promise.reject(crash) } }).deps)).rejects.toBe(crash);
    expect(to('files.completeUploadExternal', ch)).toHaveLength(1);
    expect(to('chat.postMessage', ch)).toHaveLength(0);
    expect(await digestRow(db, ch, WEEK)).toMatchObject({ status: 'claimed', run_id: 'run-crashed' });

    await ageClaim(db, ch, WEEK, 11); // the claim goes stale: the next run takes it over
    const recovery = deps(ch, { runId: 'run-recovery' });
    expect(await runDigest(recovery.deps)).toBe('posted');
    expect(to('files.completeUploadExternal', ch)).toHaveLength(1); // not shared twice
    expect(uploadsFor(ch)).toHaveLength(1);
    expect(to('chat.postMessage', ch)).toHaveLength(1);
    expect(memory.shared.filter((f) => f.channel === ch)).toHaveLength(1);
    expect(JSON.stringify(to('chat.postMessage', ch)[0].body.blocks)).toContain(memory.shared.find((f) => f.channel === ch)!.id);
    expect(recovery.logged.lines.join('\n')).toMatch(/already in C0CHART2 \(an earlier run shared it\); reusing it/);
    expect(await digestRow(db, ch, WEEK)).toMatchObject({ status: 'posted', run_id: 'run-recovery' });
  });

  it('a post Slack refuses after the chart was shared: the next firing reuses the chart', async () => {
    const ch = 'C0CHART3';
    memory.script('chat.postMessage', ch, { body: { ok: false, error: 'not_in_channel' } });
    expect(await runDigest(deps(ch).deps)).toBe('failed');
    expect(await runDigest(deps(ch).deps)).toBe('posted');
    expect(to('files.completeUploadExternal', ch)).toHaveLength(1);
    expect(memory.postsTo(ch)).toHaveLength(1);
  });

  it('a chart that cannot be uploaded never stops the digest', async () => {
    const ch = 'C0CHART4';
    fake.respond.set('files.getUploadURLExternal', () => ({ body: { ok: false, error: 'missing_scope', needed: 'files:write' } }));
    try {
      const run = deps(ch);
      expect(await runDigest(run.deps)).toBe('posted');
      expect(to('files.completeUploadExternal', ch)).toHaveLength(0);
      expect(memory.postsTo(ch)).toHaveLength(1);
      expect(run.logged.lines.join('\n')).toMatch(/posting without the chart: files.getUploadURLExternal: missing_scope.*files:write/);
    } finally {
      fake.respond.set('files.getUploadURLExternal', () => undefined);
    }
  });
});

describe('the digest chart with PUBLIC_URL', () => {
  it('is an image block whose signed URL the bot serves', async () => {
    const slack = await startFakeSlack();
    const mem = channelMemory(slack);
    const PUBLIC = 'https://groups.example.test';
    const app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl, PUBLIC_URL: PUBLIC, DIGEST_CHANNEL: 'C0LINKED' } });
    try {
      await loadOverHttp(app.url);
      const { startDigestSchedule } = await import('../src/app/digest-schedule.js');
      const schedule = startDigestSchedule({ config: { ...app.config, digest: { ...app.config.digest, cron: '0 0 1 1 *' } }, database: app.database, log: memoryLog().log, client: createWebApi({ apiUrl: slack.apiUrl, token: BOT_TOKEN }) });
      expect(await schedule.runNow()).toBe('posted');
      await schedule.stop();
      expect(slack.callsTo('files.getUploadURLExternal')).toHaveLength(0);
      const [post] = mem.postsTo('C0LINKED');
      const image = (post.blocks as { type: string; image_url?: string; alt_text?: string }[]).find((b) => b.type === 'image')!;
      expect(image.image_url!.startsWith(`${PUBLIC}/charts/chart.png?digest=${WEEK}&`)).toBe(true);
      expect(image.alt_text).toMatch(/^Weekly activity of the falling companies, week of .*Globex: down sharply/);
      const res = await fetch(`${app.url}${image.image_url!.slice(PUBLIC.length)}`);
      expect(res.status).toBe(200);
      expect(PNG.sync.read(Buffer.from(await res.arrayBuffer())).width).toBeGreaterThan(300);
      expect((await fetch(`${app.url}${image.image_url!.slice(PUBLIC.length).replace(`digest=${WEEK}`, 'digest=2020-W01')}`)).status).toBe(404);
    } finally {
      await app.stop();
      await app.dropDatabase();
      await slack.close();
    }
  });
});
