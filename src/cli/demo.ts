/**
 * `npm run demo`: zero set-up. A fresh embedded database in .data/demo, the product
 * brief's worked example sent through the same ingestion code as the HTTP API, then
 * the replies as Slack would show them: top, quiet, show Acme, report, and the digest.
 * The database stays (until the next demo), and the last lines print the command
 * that reads it.
 */
import { rmSync } from 'node:fs';
import type { Reply } from '../app/reply.js';
import { groupsReply } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { loadConfig, readDotEnv } from '../config.js';
import { embeddedDatabaseHolder, openDatabase } from '../db/client.js';
import { EXAMPLE_KEY_ACTIONS, workedExampleBatches } from '../demo/example.js';
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

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
