/**
 * `npm run import -- [options] PATH...`: imports history into the bot's own database
 * (DATABASE_URL, or the embedded one in PGLITE_DIR), or with --url into a running bot.
 * The layers are in src/import/; this file reads the command line and wires them.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readDotEnv, type Config } from '../config.js';
import { DatabaseInUseError } from '../db/client.js';
import { sourceOfWriteKey } from '../ingest/http.js';
import { parseCsvMap } from '../import/formats/csv.js';
import { FORMAT_NAMES, MappingError, READABLE_FORMATS, type FormatName } from '../import/formats/index.js';
import { isTimeZone } from '../import/formats/format.js';
import { barProgress, plainProgress, silentProgress } from '../import/progress.js';
import { runImport } from '../import/run.js';
import { databaseSink, httpSink, nullSink, type ImportSink } from '../import/sink.js';
import { InputError, listInputs } from '../import/source.js';
import { renderSummary } from '../import/summary.js';
import { createLogger, registerSecrets } from '../log.js';
import { CLI_DB_ATTEMPTS, databaseLabel, safeUrl, waitForDatabase } from '../startup.js';

const USAGE = `usage: npm run import -- [options] PATH...
  PATH                    a file, a directory (read recursively), a glob, or - for standard input
  --format NAME           read every file as NAME instead of detecting it: ${FORMAT_NAMES.join(', ')}
  --group-property NAME   Mixpanel: the event property holding the company (e.g. company_id)
  --project-timezone TZ   Mixpanel: read \`time\` as the project's wall clock in TZ (e.g. America/Los_Angeles),
                          as exports of projects created before 2023 give it; default: UTC
  --group-type TYPE       Amplitude and PostHog: the group type holding the company (e.g. company)
  --map COLUMN=FIELD      CSV: read COLUMN as FIELD (repeatable): messageId, userId, anonymousId,
                          event, timestamp, groupId, type, name, sessionId
  --max-errors N          skip up to N bad lines (default 100); one more stops the import
  --dry-run               read and check everything, print the summary, write nothing
  --url URL               send to a running bot's /v1/batch instead of writing to the database
  --write-key KEY         the write key: the dedup namespace of Segment-shaped events (and the
                          key --url sends with); default: INGEST_WRITE_KEYS when it holds one key
  --progress-every SECS   plain progress lines (not on a terminal) every SECS seconds (default 10)
  --tmp-dir DIR           where the time-ordered spill files go (default: the system's)
  --read-workers N        threads that read files (default: one per core when the files are
                          several and 8 MB or more in all); 0 reads on the main thread only
Reads DATABASE_URL, PGLITE_DIR, KEY_ACTIONS, GROUP_KEY_PATH, INGEST_WRITE_KEYS like the bot.
Formats detected per file from the content: ${READABLE_FORMATS}.
`;

/** The fixed namespace of Segment-shaped events when no write key says which source they belong to. */
const FALLBACK_NAMESPACE = 'segment-import';

const fail = (message: string, code = 2): never => {
  process.stderr.write(`import: ${message}\n`);
  process.exit(code);
};

/** The command again, as typed, to resume. */
function resumeCommand(argv: string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return `npm run import -- ${argv.map(quote).join(' ')}`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        'group-property': { type: 'string' },
        'group-type': { type: 'string' },
        'project-timezone': { type: 'string' },
        map: { type: 'string', multiple: true },
        'max-errors': { type: 'string' },
        'dry-run': { type: 'boolean' },
        url: { type: 'string' },
        'write-key': { type: 'string' },
        'progress-every': { type: 'string' },
        'tmp-dir': { type: 'string' },
        'read-workers': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  const o = parsed.values;
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) return fail(`name at least one PATH (a file, a directory, a glob or -)\n${USAGE}`);
  if (o.format !== undefined && !(FORMAT_NAMES as string[]).includes(o.format)) {
    return fail(`--format ${o.format}: unknown format; this tool reads ${READABLE_FORMATS}`);
  }
  const maxErrors = o['max-errors'] === undefined ? 100 : Number(o['max-errors']);
  if (!Number.isInteger(maxErrors) || maxErrors < 0) return fail(`--max-errors ${o['max-errors']}: expected a whole number, 0 or more`);
  const every = o['progress-every'] === undefined ? 10 : Number(o['progress-every']);
  if (!Number.isFinite(every) || every <= 0) return fail(`--progress-every ${o['progress-every']}: expected a number of seconds above 0`);
  const readWorkers = o['read-workers'] === undefined ? undefined : Number(o['read-workers']);
  if (readWorkers !== undefined && (!Number.isInteger(readWorkers) || readWorkers < 0 || readWorkers > 64)) {
    return fail(`--read-workers ${o['read-workers']}: expected a whole number from 0 to 64`);
  }
  let map;
  try {
    map = parseCsvMap(o.map ?? []);
  } catch (err) {
    if (err instanceof MappingError) return fail(err.message);
    throw err;
  }
  const zone = o['project-timezone'];
  if (zone !== undefined && !isTimeZone(zone)) return fail(`--project-timezone ${zone}: not a time zone; name it as Mixpanel's project settings show it, e.g. America/Los_Angeles or Europe/Berlin`);
  let botUrl: URL | undefined;
  if (o.url !== undefined) {
    try {
      botUrl = /^https?:\/\/[^/]/.test(o.url) ? new URL(o.url) : undefined;
    } catch {
      botUrl = undefined;
    }
    // Never echo a password given in the URL, even to say it is wrong.
    if (!botUrl) return fail(`--url ${safeUrl(o.url)}: expected the bot's base URL, such as https://groups.example.com`);
    if (botUrl.username || botUrl.password) {
      return fail(`--url ${safeUrl(o.url)}: a user name or password in the URL is not sent (the write key is the credential); give the bot's base URL alone, such as ${botUrl.protocol}//${botUrl.host}`);
    }
  }
  // Where the batches go, as printed: the base URL without a trailing slash.
  const shownUrl = botUrl ? botUrl.toString().replace(/\/+$/, '') : undefined;

  readDotEnv();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  registerSecrets([config.slack.botToken, config.slack.appToken, config.slack.signingSecret, ...config.writeKeys, o['write-key']]);

  let inputs;
  try {
    inputs = await listInputs(parsed.positionals);
  } catch (err) {
    if (err instanceof InputError) return fail(err.message);
    throw err;
  }

  // The dedup namespace of Segment-shaped events: the write key's, as live traffic has it.
  const writeKey = o['write-key'] ?? (config.writeKeys.length === 1 ? config.writeKeys[0] : undefined);
  if (o.url !== undefined && writeKey === undefined) return fail('--url needs --write-key KEY: one of the running bot\'s INGEST_WRITE_KEYS');
  const liveSource = writeKey !== undefined ? sourceOfWriteKey(writeKey) : FALLBACK_NAMESPACE;
  const namespaceNote =
    writeKey === undefined
      ? `Segment, RudderStack and CSV ids were kept apart in the "${FALLBACK_NAMESPACE}" namespace, so an event that also came in live is not recognised as the same one. ` +
        `To deduplicate against live traffic, run again with --write-key KEY (the write key that source sends with)${config.writeKeys.length > 1 ? '; INGEST_WRITE_KEYS holds several keys' : ''}.`
      : undefined;

  const log = createLogger({ level: 'warn' });
  let sink: ImportSink;
  let close: () => Promise<void> = async () => {};
  let target: string;
  if (o['dry-run']) {
    sink = nullSink();
    target = shownUrl ? `would send to ${shownUrl}/v1/batch` : `would write to ${databaseLabel(config)}`;
  } else if (o.url !== undefined) {
    sink = httpSink({
      url: o.url,
      writeKey: writeKey!,
      idPrefixOf: (source) => (source === 'mixpanel' || source === 'amplitude' || source === 'posthog' ? `${source}:` : ''),
      onRetry: (why, ms) => process.stderr.write(`import: ${shownUrl} answered ${why}; retrying in ${(ms / 1000).toFixed(1)} s\n`),
    });
    target = `sent to ${shownUrl}/v1/batch`;
  } else {
    let database;
    try {
      database = await waitForDatabase(config, log, { maxAttempts: CLI_DB_ATTEMPTS });
    } catch (err) {
      if (err instanceof DatabaseInUseError) {
        return fail(
          `${err.message}\nWhile the bot runs, import through it instead: npm run import -- --url http://localhost:${config.port} --write-key KEY ${parsed.positionals.join(' ')}\n` +
            '(KEY: one of the bot\'s INGEST_WRITE_KEYS). Or stop the bot, import, and start it again.',
          1,
        );
      }
      return fail(err instanceof Error ? err.message : String(err), 1);
    }
    sink = databaseSink(database.db, new Set(config.keyActions));
    close = () => database.close();
    target = `into ${databaseLabel(config)}`;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nimport: stopping after the current chunk (Ctrl-C again to stop at once)\n');
      controller.abort();
    } else {
      process.exit(130); // the spill's exit hook removes its files
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const progress = process.stderr.isTTY ? barProgress() : every > 0 ? plainProgress((l) => process.stderr.write(`${l}\n`), every * 1000) : silentProgress();
  const now = new Date();
  let report;
  try {
    report = await runImport(
      {
        inputs,
        format: (o.format as FormatName | undefined) ?? null,
        formatOptions: { groupProperty: o['group-property'] ?? null, groupType: o['group-type'] ?? null, projectTimeZone: zone ?? null, map },
        maxErrors,
        dryRun: Boolean(o['dry-run']),
        groupKeyPath: config.groupKeyPath,
        liveSource,
        now,
        signal: controller.signal,
        progress,
        tmpDir: o['tmp-dir'],
        readWorkers,
        target,
        namespaceNote,
      },
      sink,
    );
  } finally {
    await sink.close();
    await close();
  }
  process.stdout.write(`${renderSummary(report, now)}\n`);
  if (report.ending === 'interrupted' || report.ending === 'failed') {
    process.stdout.write(`To finish, run the same command again (what was written is skipped):\n  ${resumeCommand(argv)}\n`);
  }
  if (report.ending === 'errors') {
    process.stdout.write(`Nothing was written. Fix the lines above (or raise --max-errors) and run the same command again.\n`);
  }
  if (report.ending === 'interrupted') return 130;
  if (report.ending !== 'done' || report.fileProblems.length > 0) return 1;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`import: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
