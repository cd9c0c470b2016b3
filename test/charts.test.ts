/**
 * Activity charts: the PNG itself (size, pixels where the data say, same bytes for
 * the same data), the signed URL the bot serves it at, and `show` with and without
 * PUBLIC_URL, at the wire.
 */
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartKey, chartUrl, expiryAfter, verifyChartQuery } from '../src/app/chart-links.js';
import { CHART_RANGE, ChartCache } from '../src/app/charts.js';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { CHART_SCALE, renderChart } from '../src/render/chart-png.js';
import { COLORS, companyChartSize, companyChartSpec, digestChartSpec, plotArea, type CompanyChartInput } from '../src/render/chart-spec.js';
import { loadWorkedExample, SIGNING_SECRET, startTestApp } from './harness.js';
import { blockAction, eventCallback, slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';
import { listParts, type ViewLike } from './helpers/view.js';

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Ten weeks that rise to a peak at week 5, then fall: a hand-made series with a known shape. */
function riseThenFall(): CompanyChartInput {
  const start = Date.UTC(2026, 8, 7);
  const values = [10, 30, 50, 70, 90, 100, 80, 55, 30, 10];
  return {
    name: 'Rise & Fall <Inc>',
    metric: 'key_actions',
    weeks: values.map((value, i) => ({ start: day(start + i * 7 * DAY), value, people: 3 })),
    baselinePerWeek: 60,
    recent: { start: day(start + 56 * DAY), end: day(start + 69 * DAY) },
    trend: 'down sharply',
    change: -0.75,
  };
}

function decode(bytes: Buffer): PNG {
  return PNG.sync.read(bytes);
}

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

/** Rows (device pixels) in column x whose colour is within `tol` of `rgb`. */
function rowsOfColour(png: PNG, x: number, rgb: number[], tol = 24): number[] {
  const out: number[] = [];
  for (let y = 0; y < png.height; y++) {
    const i = (png.width * y + x) * 4;
    if (Math.abs(png.data[i] - rgb[0]) <= tol && Math.abs(png.data[i + 1] - rgb[1]) <= tol && Math.abs(png.data[i + 2] - rgb[2]) <= tol) out.push(y);
  }
  return out;
}

describe('the chart image', () => {
  it('decodes as a PNG of the declared size', async () => {
    const png = await renderChart(companyChartSpec(riseThenFall()));
    const size = companyChartSize();
    expect([png.width, png.height]).toEqual([size.width * CHART_SCALE, size.height * CHART_SCALE]);
    const decoded = decode(png.bytes);
    expect([decoded.width, decoded.height]).toEqual([png.width, png.height]);
  });

  it('draws the line where the data say: highest at the peak week, lower on both sides', async () => {
    const input = riseThenFall();
    const decoded = decode((await renderChart(companyChartSpec(input))).bytes);
    const area = plotArea(input);
    const series = hex(COLORS.series);
    // The top of the series colour in each week's column (device pixels): smaller y is higher.
    const topAt = input.weeks.map((_, i) => {
      const x = Math.round(area.xOfWeek(i) * CHART_SCALE);
      const ys = rowsOfColour(decoded, x, series).filter((y) => y >= area.top * CHART_SCALE && y <= (area.top + area.height) * CHART_SCALE);
      expect(ys.length, `series colour in the column of week ${i}`).toBeGreaterThan(0);
      return Math.min(...ys);
    });
    const peak = topAt.indexOf(Math.min(...topAt));
    expect(peak).toBe(5);
    for (let i = 1; i <= 5; i++) expect(topAt[i]).toBeLessThan(topAt[i - 1]); // rising
    for (let i = 6; i < topAt.length; i++) expect(topAt[i]).toBeGreaterThan(topAt[i - 1]); // falling
    // Where the plot has no week (left of the first point), the series colour is absent.
    const before = Math.round((area.left + 2) * CHART_SCALE);
    expect(rowsOfColour(decoded, before, series, 8)).toEqual([]);
  });

  it('gives the same bytes for the same data, and a known series a known hash', async () => {
    const a = await renderChart(companyChartSpec(riseThenFall()));
    const b = await renderChart(companyChartSpec(riseThenFall()));
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    const hash = createHash('sha256').update(a.bytes).digest('hex');
    expect(hash).toBe(KNOWN_HASH);
    const other = await renderChart(companyChartSpec({ ...riseThenFall(), weeks: riseThenFall().weeks.map((w) => ({ ...w, value: w.value + 1 })) }));
    expect(createHash('sha256').update(other.bytes).digest('hex')).not.toBe(hash);
  });

  it('draws the digest as small multiples, one panel per company (at most 6)', async () => {
    const one = await renderChart(digestChartSpec({ weekLabel: 'week of Nov 30, 2026', companies: [riseThenFall()] }));
    const eight = await renderChart(digestChartSpec({ weekLabel: 'week of Nov 30, 2026', companies: Array.from({ length: 8 }, (_, i) => ({ ...riseThenFall(), name: `Company ${i}` })) }));
    expect(decode(eight.bytes).height).toBeGreaterThan(decode(one.bytes).height); // two rows of three
    const six = await renderChart(digestChartSpec({ weekLabel: 'week of Nov 30, 2026', companies: Array.from({ length: 6 }, (_, i) => ({ ...riseThenFall(), name: `Company ${i}` })) }));
    expect(Buffer.compare(six.bytes, eight.bytes)).toBe(0); // the 7th and 8th are not drawn
  });
});

/** sha256 of riseThenFall()'s PNG with the bundled font and resvg 2.6.2. */
const KNOWN_HASH = '301171ab5d626d90e9b81dc96bd8ec34576894050cc6562ed6953005f586d55e';

describe('the chart cache', () => {
  const chart = (n: number) => ({ png: { bytes: Buffer.from([n]), width: 1, height: 1 }, alt: String(n) });

  it('draws a chart once per key, keeps at most its bound (least recently used out first), and keeps no failure', async () => {
    const cache = new ChartCache(2);
    let drawn = 0;
    const draw = (n: number) => async () => {
      drawn++;
      return chart(n);
    };
    expect((await cache.get('a', draw(1)))?.alt).toBe('1');
    expect((await cache.get('a', draw(9)))?.alt).toBe('1'); // cached: not drawn again
    await cache.get('b', draw(2));
    await cache.get('a', draw(9)); // a is now the most recent
    await cache.get('c', draw(3)); // over the bound: b goes
    expect(cache.size).toBe(2);
    expect(drawn).toBe(3);
    expect((await cache.get('b', draw(4)))?.alt).toBe('4'); // drawn anew
    await expect(cache.get('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await Promise.resolve();
    expect((await cache.get('x', draw(5)))?.alt).toBe('5'); // a failure is not kept
  });
});

describe('signed chart URLs', () => {
  const key = chartKey('secret');
  const now = new Date('2026-11-30T10:00:00Z');
  const url = chartUrl('https://groups.example.com', key, { subject: { kind: 'company', key: 'acct_acme' }, metric: 'events', range: '26w', expires: expiryAfter(now, 7) });
  const query = () => new URL(url).searchParams;

  it('verifies its own URL, and no change of any part', () => {
    expect(verifyChartQuery(key, query(), now)?.subject).toEqual({ kind: 'company', key: 'acct_acme' });
    for (const [name, value] of [['company', 'acct_globex'], ['metric', 'sessions'], ['range', '52w'], ['expires', String(expiryAfter(now, 30))], ['sig', '0'.repeat(64)]]) {
      const q = query();
      q.set(name, value);
      expect(verifyChartQuery(key, q, now), name).toBeNull();
    }
    const q = query();
    q.delete('company');
    q.set('digest', 'acct_acme');
    expect(verifyChartQuery(key, q, now)).toBeNull(); // a company signature does not stand for a digest
    expect(verifyChartQuery(chartKey('another secret'), query(), now)).toBeNull();
  });

  it('refuses it once expired', () => {
    expect(verifyChartQuery(key, query(), new Date(now.getTime() + 8 * DAY))).toBeNull();
  });
});

describe('charts in Slack', () => {
  let withUrl: Awaited<ReturnType<typeof startTestApp>>;
  let without: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  const PUBLIC = 'https://groups.example.test/bot';
  beforeAll(async () => {
    slack = await startFakeSlack();
    const env = { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl };
    withUrl = await startTestApp({ env: { ...env, PUBLIC_URL: PUBLIC } });
    without = await startTestApp({ env });
    await loadWorkedExample(withUrl.url);
    await loadWorkedExample(without.url);
  });
  afterAll(async () => {
    await withUrl?.stop();
    await withUrl?.dropDatabase();
    await without?.stop();
    await without?.dropDatabase();
    await slack?.close();
  });

  /**
   * The status of a GET, its body read to the end: a response left unread holds its connection
   * busy (a PNG larger than the socket's buffers never finishes), and stopping the app waits for it.
   */
  const statusOf = async (url: string) => {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status;
  };

  /** The bot's own URL for a PUBLIC_URL link (the test cannot reach the public host). */
  const local = (publicLink: string) => `${withUrl.url}${publicLink.slice(PUBLIC.length)}`;

  it('show carries an image block with a signed URL and alt text stating the numbers, within 3 s', async () => {
    const started = Date.now();
    const r = await slashCommand(withUrl.url, 'show Globex', slack.responseUrl);
    expect(Date.now() - started).toBeLessThan(3000);
    const images = r.json.blocks.filter((b: { type: string }) => b.type === 'image');
    expect(images).toHaveLength(1);
    const [image] = images;
    expect(image.image_url.startsWith(`${PUBLIC}/charts/chart.png?company=acct_globex&`)).toBe(true);
    expect(image.alt_text).toMatch(/^Chart of Globex: key actions per week over the last \d+ weeks/);
    expect(image.alt_text).toContain('Trend down sharply');
    expect(JSON.stringify(r.json.blocks)).not.toContain('▁'); // no text sparkline beside it
  });

  it('serves the chart at the signed URL, and 404 with no chart when tampered with or expired', async () => {
    const r = await slashCommand(withUrl.url, 'show Acme', slack.responseUrl);
    const link = r.json.blocks.find((b: { type: string }) => b.type === 'image').image_url as string;
    const ok = await fetch(local(link));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    const png = decode(Buffer.from(await ok.arrayBuffer()));
    expect(png.width).toBe(companyChartSize().width * CHART_SCALE);

    const tampered = [link.replace('company=acct_acme', 'company=acct_globex'), link.replace(/sig=[0-9a-f]{4}/, 'sig=0000'), link.replace(/expires=\d+/, 'expires=99999999999')];
    for (const t of tampered) {
      const res = await fetch(local(t));
      expect(res.status, t).toBe(404);
      expect(res.headers.get('content-type')).not.toBe('image/png');
      await res.arrayBuffer();
    }
    const key = chartKey(SIGNING_SECRET);
    const expired = chartUrl(PUBLIC, key, { subject: { kind: 'company', key: 'acct_acme' }, metric: 'key_actions', range: CHART_RANGE, expires: Math.floor(Date.now() / 1000) - 1 });
    expect(await statusOf(local(expired))).toBe(404);
    const fresh = chartUrl(PUBLIC, key, { subject: { kind: 'company', key: 'acct_acme' }, metric: 'key_actions', range: CHART_RANGE, expires: Math.floor(Date.now() / 1000) + 60 });
    expect(await statusOf(local(fresh))).toBe(200); // the same URL but for its expiry is served
    const gone = chartUrl(PUBLIC, key, { subject: { kind: 'company', key: 'acct_nobody' }, metric: 'key_actions', range: CHART_RANGE, expires: Math.floor(Date.now() / 1000) + 60 });
    expect(await statusOf(local(gone))).toBe(404);
  });

  it('the App Home detail view carries the chart too', async () => {
    const published = () => slack.callsTo('views.publish');
    const before = published().length;
    await eventCallback(withUrl.url, { type: 'app_home_opened', user: 'U9', channel: 'D1', tab: 'home', event_ts: '1700000000.000100' });
    const list = (await slack.waitFor('views.publish', before + 1))[before].body.view as ViewLike;
    const details = listParts(list).rankedButtons.find((b) => b.value === 'acct_globex')!;
    const view = { id: 'V9', team_id: 'T1', type: 'home', blocks: list.blocks, private_metadata: list.private_metadata ?? '', callback_id: '', state: { values: {} }, hash: '1700000000.abc', app_id: 'A1', bot_id: 'B1' };
    await blockAction(withUrl.url, {
      type: 'block_actions',
      user: { id: 'U9', username: 'ada', name: 'ada', team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      container: { type: 'view', view_id: 'V9' },
      trigger_id: '1.2.3',
      team: { id: 'T1', domain: 'acme' },
      view,
      actions: [{ block_id: 'b1', action_ts: '1700000001.000200', type: 'button', action_id: details.action_id, value: details.value, text: details.text }],
    });
    const detail = (await slack.waitFor('views.publish', before + 2))[before + 1].body.view as ViewLike;
    const image = detail.blocks.find((b) => b.type === 'image') as { image_url: string; alt_text: string } | undefined;
    expect(image?.image_url.startsWith(`${PUBLIC}/charts/chart.png?company=acct_globex&`)).toBe(true);
    expect(image?.alt_text).toContain('Chart of Globex');
    expect(await statusOf(local(image!.image_url))).toBe(200);
  });

  it('without PUBLIC_URL, show keeps the text sparkline and serves no charts', async () => {
    const r = await slashCommand(without.url, 'show Globex', slack.responseUrl);
    expect(r.json.blocks.some((b: { type: string }) => b.type === 'image')).toBe(false);
    expect(JSON.stringify(r.json.blocks)).toMatch(/Weekly key actions, last 12 weeks\*\\n[▁▂▃▄▅▆▇█]{12}/);
    const key = chartKey(SIGNING_SECRET);
    const link = chartUrl(without.url, key, { subject: { kind: 'company', key: 'acct_acme' }, metric: 'key_actions', range: CHART_RANGE, expires: Math.floor(Date.now() / 1000) + 60 });
    expect(await statusOf(link)).toBe(404);
  });
});
