/**
 * The product brief's worked example, sent through the ingestion API and read
 * back through `/groups top` signed as Slack signs it: Acme Inc (14 people,
 * 1,200 key actions, up), Northwind Ltd (9, 800, steady), Globex (11, 120,
 * down sharply), in that order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_KEY_ACTIONS } from '../src/demo/example.js';
import { loadWorkedExample, startTestApp } from './harness.js';
import { slashCommand, startFakeSlack, type FakeSlack } from './helpers/slack.js';

describe('the worked example', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
    app = await startTestApp({ env: { KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(','), SLACK_API_URL: slack.apiUrl } });
    await loadWorkedExample(app.url);
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
    await slack?.close();
  });

  it('comes out exactly as the brief says', async () => {
    const r = await slashCommand(app.url, 'top', slack.responseUrl);
    expect(r.status).toBe(200);
    expect(r.json.response_type).toBe('ephemeral');
    // Each company in the fallback: its rank and name, then its figures; bold marks set aside.
    const lines: string[] = r.json.text.replace(/\*/g, '').split(/\n(?=\d+\. )/).slice(1).map((l: string) => l.replace(/\n/g, ' '));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^1\. Acme Inc\b.*14 people.*1,200 key actions.*\bup\b/);
    expect(lines[0]).not.toMatch(/up sharply/);
    expect(lines[1]).toMatch(/^2\. Northwind Ltd\b.*9 people.*800 key actions.*\bsteady\b/);
    expect(lines[2]).toMatch(/^3\. Globex\b.*11 people.*120 key actions.*\bdown sharply\b/);
    // The blocks say the same as the fallback.
    const blockText = JSON.stringify(r.json.blocks);
    for (const s of ['Acme Inc', 'Northwind Ltd', 'Globex', '1,200', '800', '120', 'down sharply', 'steady']) expect(blockText).toContain(s);
  });

  it("show Globex: its falling key actions under Fell most, each against its own usual week; Acme's and Northwind's none", async () => {
    const fellMost = async (name: string) => {
      const r = await slashCommand(app.url, `show ${name}`, slack.responseUrl);
      const s = (r.json.blocks as { type: string; text?: { text: string } }[]).find((b) => b.type === 'section' && b.text?.text.startsWith('*Fell most'))?.text?.text;
      return { section: s ?? '', text: r.json.text as string };
    };
    const globex = await fellMost('Globex');
    const lines = globex.section.split('\n').slice(1);
    // About 40 key actions a day, a third each, until six weeks ago; about 4 a day since.
    for (const action of EXAMPLE_KEY_ACTIONS) {
      expect(lines.some((l) => new RegExp(`^${action}: \\d+ a week → [\\d.]+ \\(\u2212\\d+ %\\)$`).test(l))).toBe(true);
    }
    expect(globex.text).toContain('Fell most');
    for (const other of ['Acme', 'Northwind']) expect((await fellMost(other)).section).toMatch(/\nNo event fell more than its usual swing explains\.$/);
  });

  it('quiet lists Globex alone', async () => {
    const r = await slashCommand(app.url, 'quiet', slack.responseUrl);
    expect(r.json.text).toContain('Globex');
    expect(r.json.text).not.toContain('Acme Inc');
    expect(r.json.text).not.toContain('Northwind Ltd');
  });

  it('report counts one growing, one steady, one at risk', async () => {
    const r = await slashCommand(app.url, 'report', slack.responseUrl);
    expect(r.json.text).toMatch(/Active\D*3/);
    expect(r.json.text).toMatch(/Growing\D*1/);
    expect(r.json.text).toMatch(/Steady\D*1/);
    expect(r.json.text).toMatch(/At risk\D*1/);
    expect(r.json.text).toMatch(/Total\D*3/);
  });
});
