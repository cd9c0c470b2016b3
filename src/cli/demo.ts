/**
 * `npm run demo`: zero set-up. A fresh embedded database, the product brief's
 * worked example sent through the same ingestion code as the HTTP API, then the
 * replies as Slack would show them: top, quiet, show Acme, report, and the digest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reply } from '../app/reply.js';
import { groupsReply } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { EXAMPLE_KEY_ACTIONS, workedExampleBatches } from '../demo/example.js';
import { parseRequest } from '../ingest/segment.js';
import { ingestEvents } from '../ingest/store.js';
import { previewMessage } from '../render/preview.js';

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'leadmaps-demo-'));
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
    say('The same replies in the terminal: npm run groups -- top   (against DATABASE_URL or PGLITE_DIR)');
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
