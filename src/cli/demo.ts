/**
 * `npm run demo`: zero set-up. A fresh embedded database in .data/demo, the product
 * brief's worked example sent through the same ingestion code as the HTTP API, then
 * the replies as Slack would show them: top, quiet, show Acme, report, and the digest.
 * The database stays (until the next demo), and the last lines print the command
 * that reads it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Charts } from '../app/charts.js';
import type { Reply } from '../app/reply.js';
import { groupsReply } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { loadConfig, readDotEnv } from '../config.js';
import { embeddedDatabaseHolder, openDatabase } from '../db/client.js';
import { EXAMPLE_COMPANIES, EXAMPLE_KEY_ACTIONS, workedExampleBatches } from '../demo/example.js';
import { DEMO_DIR, demoReadCommand } from '../demo/read-command.js';
import { parseRequest } from '../ingest/segment.js';
import { ingestEvents } from '../ingest/store.js';
import { previewMessage } from '../render/preview.js';

async function main() {
  const dir = DEMO_DIR;
  const holder = embeddedDatabaseHolder(dir);
  if (holder !== null) {
    process.stderr.write(`demo: ${dir} is in use by process ${holder} (npm run groups on the demo's data?). Stop it, then run the demo again.\n`);
    process.exit(1);
  }
  rmSync(dir, { recursive: true, force: true });
  const now = new Date();
  const config = loadConfig({ PGLITE_DIR: dir, KEY_ACTIONS: EXAMPLE_KEY_ACTIONS.join(',') });
  const database = await openDatabase({ pgliteDir: dir });
  try {
    let events = 0;
    for (const body of workedExampleBatches(now)) {
      const parsed = parseRequest(body, { endpoint: 'batch', receivedAt: now, groupKeyPath: null });
      events += (await ingestEvents(database.db, parsed, { source: 'demo', keyActions: new Set(config.keyActions) })).stored;
    }
    const ctx = replyContext(config, database);
    const say = (s: string) => process.stdout.write(`${s}\n`);
    say(`leadmaps Groups demo: ${events.toLocaleString('en-US')} Segment calls of the worked example loaded into a fresh embedded database.`);
    say(`KEY_ACTIONS=${config.keyActions.join(',')}\n`);
    for (const text of ['top', 'quiet', 'show Acme', 'report', 'digest']) {
      const reply: Reply = await groupsReply(ctx, text, now);
      say(`━━━ /groups ${text} ${'━'.repeat(Math.max(0, 60 - text.length))}`);
      say(previewMessage(reply.message));
      say('');
    }
    say(`Charts (what Slack shows with PUBLIC_URL set):\n${(await writeDemoCharts(ctx, now, CHART_DIR)).map((p) => `  ${p}`).join('\n')}\n`);
    say(`The demo's data stays in ${dir} (the next npm run demo starts afresh). The same replies in the terminal:`);
    say(`  ${demoReadCommand({ dir, keyActions: config.keyActions, databaseUrlSet: databaseUrlSet() })}`);
  } finally {
    await database.close();
  }
}

/** Whether the environment or .env sets DATABASE_URL (then the printed command empties it, so PGLITE_DIR counts). */
function databaseUrlSet(): boolean {
  readDotEnv();
  try {
    return loadConfig().databaseUrl !== undefined;
  } catch {
    return true; // A setting .env gets wrong: emptying DATABASE_URL as well costs nothing.
  }
}

/** Where the demo writes the worked example's charts. */
const CHART_DIR = join('.data', 'demo-charts');

/** Acme's, Northwind's and Globex's charts and the digest's, as PNG files; their paths. */
async function writeDemoCharts(ctx: ReturnType<typeof replyContext>, now: Date, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const charts = new Charts(ctx, 'UTC');
  const drawn = [
    ...EXAMPLE_COMPANIES.map((c) => [c.key.replace(/^acct_/, ''), charts.company(c.key, charts.metric(), now)] as const),
    ['digest', charts.digest(now)] as const,
  ];
  const paths: string[] = [];
  for (const [name, pending] of drawn) {
    const chart = await pending;
    if (!chart) continue;
    const path = resolve(dir, `${name}.png`);
    writeFileSync(path, chart.png.bytes);
    paths.push(path);
  }
  return paths;
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
