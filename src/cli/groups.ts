/**
 * `npm run groups -- <subcommand> [args]`: the same replies as `/groups`,
 * printed in the terminal, against the configured database. Exits 2 when the
 * command is not understood (the help is printed, naming the problem).
 */
import { ConfigError, loadConfig, readDotEnv } from '../config.js';
import { parse, replyFor } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { createLogger } from '../log.js';
import { CLI_DB_ATTEMPTS, waitForDatabase } from '../startup.js';

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
  const log = createLogger({ level: 'warn' });
  const database = await waitForDatabase(config, log, { maxAttempts: CLI_DB_ATTEMPTS });
  try {
    const ctx = replyContext(config, database);
    const cmd = parse(ctx, process.argv.slice(2).join(' '));
    const reply = await replyFor(ctx, cmd, new Date());
    process.stdout.write(`${reply.terminal}\n`);
    // A word it does not know (`tpo`: "did you mean `top`?") or a bad option is a failed
    // command, for a script as for a person; `help` and nothing at all are not.
    if (cmd.kind === 'help' && (cmd.unknown !== null || cmd.problem !== null)) process.exitCode = 2;
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  process.stderr.write(`groups: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
