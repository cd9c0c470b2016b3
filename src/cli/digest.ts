/**
 * `npm run digest -- [--dry-run]`: builds this week's digest now. With
 * --dry-run, prints it and posts nothing; without, posts it to DIGEST_CHANNEL
 * once per week, exactly as the schedule does (same claim, same checks), so
 * running it in a week already posted posts nothing.
 */
import { ConfigError, loadConfig, readDotEnv, type Config } from '../config.js';
import { buildDigest, digestChartFor, runDigest } from '../app/weekly-digest.js';
import { Charts } from '../app/charts.js';
import { chartKey, ChartLinks } from '../app/chart-links.js';
import { createLogger, errorText, redact, registerSecrets } from '../log.js';
import { createWebApi } from '../slack/webapi.js';
import { CLI_DB_ATTEMPTS, databasePasswords, waitForDatabase } from '../startup.js';

const USAGE = 'usage: npm run digest -- [--dry-run]\n  --dry-run   print this week\'s digest; post nothing\n';

function parseArgs(argv: string[]): { dryRun: boolean } | { help: true } | { unknown: string } {
  let dryRun = false;
  for (const a of argv) {
    if (a === '--dry-run' || a === '-n') dryRun = true;
    else if (a === '--help' || a === '-h') return { help: true };
    else return { unknown: a };
  }
  return { dryRun };
}

/** The variables posting needs, by name, with what to put there. */
export function missingForPosting(config: Config): string[] {
  const missing: string[] = [];
  if (!config.digest.channel) missing.push('DIGEST_CHANNEL: the channel id to post to, such as C0123456789 (channel details › About, at the bottom)');
  if (!config.slack.botToken) missing.push('SLACK_BOT_TOKEN: the Bot User OAuth Token (xoxb-…), from OAuth & Permissions');
  return missing;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if ('help' in args) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('unknown' in args) {
    process.stderr.write(`digest: unknown argument ${JSON.stringify(args.unknown)}\n${USAGE}`);
    return 2;
  }
  readDotEnv();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  registerSecrets([config.slack.botToken, config.slack.appToken, config.slack.signingSecret, ...config.writeKeys, ...databasePasswords(config)]);

  if (!args.dryRun) {
    const missing = missingForPosting(config);
    if (missing.length > 0) {
      process.stderr.write(
        `Cannot post the digest: missing ${missing.map((m) => m.split(':')[0]).join(' and ')}.\n` +
          missing.map((m) => `  - ${m}\n`).join('') +
          'Set them in the environment or in .env. To print the digest without posting: npm run digest -- --dry-run\n',
      );
      return 1;
    }
  }

  const log = createLogger({ level: args.dryRun ? 'warn' : 'info' });
  const database = await waitForDatabase(config, log, { maxAttempts: CLI_DB_ATTEMPTS });
  try {
    const now = new Date();
    if (args.dryRun) {
      const client = config.slack.botToken ? createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken }) : null;
      const owners = { db: database.db, client, ownerTrait: config.ownerTrait };
      const built = await buildDigest({ db: database.db, keyActions: config.keyActions }, { now, tz: config.digest.tz, owners });
      process.stdout.write(`${built.reply.terminal}\n`);
      process.stderr.write(
        config.digest.channel
          ? `(dry run: nothing posted; ${built.week} would go to ${config.digest.channel})\n`
          : `(dry run: nothing posted; DIGEST_CHANNEL is not set)\n`,
      );
      return 0;
    }
    const outcome = await runDigest({
      db: database.db,
      client: createWebApi({ apiUrl: config.slack.apiUrl, token: config.slack.botToken! }),
      chart: digestChartFor(config, config.publicUrl && config.slack.signingSecret ? new ChartLinks(config.publicUrl, chartKey(config.slack.signingSecret), new Charts({ db: database.db, keyActions: config.keyActions }, config.digest.tz), log) : undefined, config.keyActions.length > 0 ? 'key_actions' : 'events'),
      channel: config.digest.channel!,
      tz: config.digest.tz,
      keyActions: config.keyActions,
      ownerTrait: config.ownerTrait,
      log,
      now,
    });
    const said: Record<typeof outcome, string> = {
      posted: `Posted this week's digest to ${config.digest.channel}.`,
      'already-posted': `This week's digest was already posted to ${config.digest.channel}; nothing posted.`,
      'claimed-elsewhere': `Another run is posting this week's digest to ${config.digest.channel} right now; nothing posted.`,
      failed: `Could not post the digest to ${config.digest.channel}; see the log above.`,
    };
    process.stdout.write(`${said[outcome]}\n`);
    return outcome === 'failed' ? 1 : 0;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`digest: ${redact(errorText(error))}\n`);
    process.exit(1);
  },
);
