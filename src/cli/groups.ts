/**
 * `npm run groups -- <subcommand> [args]`: the same replies as `/groups`,
 * printed in the terminal, against the configured database. Exits 2 when the
 * command is not understood (the help is printed, naming the problem).
 */
import { ConfigError, loadConfig, readDotEnv } from '../config.js';
import { parse, replyFor } from '../app/reply.js';
import { replyContext } from '../compose.js';
import { createLogger, errorText, redact, registerSecrets } from '../log.js';
import { CLI_DB_ATTEMPTS, databasePasswords, waitForDatabase } from '../startup.js';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Charts } from '../app/charts.js';
import { defaultMetric, show } from '../app/company-reads.js';
import { DEFAULT_RANGE } from '../domain/command.js';

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
  const args = process.argv.slice(2);
  let chartFile: string | null = null;
  const at = args.indexOf('--chart');
  if (at >= 0) {
    chartFile = args[at + 1] ?? '';
    args.splice(at, 2);
    const problem = chartProblem(chartFile, args);
    if (problem) {
      process.stderr.write(`groups: ${problem}\n`);
      process.exit(2);
    }
  }
  const log = createLogger({ level: 'warn' });
  const database = await waitForDatabase(config, log, { maxAttempts: CLI_DB_ATTEMPTS });
  try {
    const ctx = replyContext(config, database);
    const now = new Date();
    const cmd = parse(ctx, args.join(' '));
    const reply = await replyFor(ctx, cmd, now);
    process.stdout.write(`${reply.terminal}\n`);
    // A word it does not know (`tpo`: "did you mean `top`?") or a bad option is a failed
    // command, for a script as for a person; `help` and nothing at all are not.
    if (cmd.kind === 'help' && (cmd.unknown !== null || cmd.problem !== null)) process.exitCode = 2;
    if (chartFile !== null) {
      const query = args.slice(1).join(' ').trim();
      const found = await show(ctx, query, { now, range: DEFAULT_RANGE, metric: defaultMetric(ctx) });
      if (found.kind !== 'company') {
        process.stderr.write(`groups: no chart written: "${query}" is not one company (see above); give its key, e.g. npm run groups -- show acct_123 --chart ${chartFile}\n`);
        process.exitCode = 1;
        return;
      }
      const chart = await new Charts(ctx, config.digest.tz).company(found.detail.key, defaultMetric(ctx), now);
      if (!chart) throw new Error(`the company ${found.detail.key} is gone`);
      await writeFile(chartFile, chart.png.bytes);
      process.stdout.write(`Chart written to ${resolve(chartFile)} (${chart.png.width}×${chart.png.height} PNG).\n`);
    }
  } finally {
    await database.close();
  }
}

/** What is wrong with `--chart FILE` here, or null. */
export function chartProblem(file: string, args: string[]): string | null {
  if (file === '' || file.startsWith('--')) return '--chart needs a file name, e.g. npm run groups -- show Acme --chart acme.png';
  if (!/\.png$/i.test(file)) return `--chart writes a PNG: give a file name ending in .png (not "${file}")`;
  if ((args[0] ?? '').toLowerCase() !== 'show' || args.length < 2) return '--chart goes with show NAME-OR-KEY, e.g. npm run groups -- show Acme --chart acme.png';
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) return `the folder ${dir} does not exist: create it first, or write the chart elsewhere`;
  return null;
}

main().catch((error) => {
  process.stderr.write(`groups: ${redact(errorText(error))}\n`);
  process.exit(1);
});
