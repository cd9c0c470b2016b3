/**
 * `npm run groups -- <subcommand> [args]`: the same replies as `/groups`,
 * printed in the terminal, against the configured database.
 */
import { ConfigError, loadConfig, readDotEnv } from '../config.js';
import { groupsReply } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { createLogger, errorText, redact, registerSecrets } from '../log.js';
import { CLI_DB_ATTEMPTS, databasePasswords, waitForDatabase } from '../startup.js';

async function main() {
  readDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  registerSecrets(databasePasswords(config));
  const log = createLogger({ level: 'warn' });
  const database = await waitForDatabase(config, log, { maxAttempts: CLI_DB_ATTEMPTS });
  try {
    const ctx = replyContext(config, database);
    const reply = await groupsReply(ctx, process.argv.slice(2).join(' '), new Date());
    process.stdout.write(`${reply.terminal}\n`);
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  process.stderr.write(`groups: ${redact(errorText(error))}\n`);
  process.exit(1);
});
