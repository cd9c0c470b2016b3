/**
 * `npm run bench`: ingestion throughput against the COPY floor, then /groups
 * reply times at 10,000 and 100,000 companies. Local PostgreSQL only
 * (postgres://postgres@127.0.0.1:5432/postgres, or BENCH_DATABASE_URL on
 * 127.0.0.1); every database it creates is dropped at the end. Bounded in time.
 *
 *   npm run bench                       both parts
 *   npm run bench -- --only ingest      ingestion only  (--runs 3 --events 200000 --senders 4 --batch 500)
 *   npm run bench -- --only reads       reply times only (--sizes 10000,100000 --reps 15), then show's
 *                                       (--show-sizes 5000,10000 --show-reps 60, --no-embedded)
 *   npm run bench -- --only show        show's reply times only
 *   npm run bench -- --only burst       1,000 concurrent 500 KB batches: the server's peak RSS, 200s and 503s
 *                                       (--requests 1000 --batch-kb 500 --retries 0); run only when asked for
 *   npm run bench -- --only charts      chart render time, median and slowest (--chart-reps 40; no database)
 *   npm run bench -- --only import      `npm run import` of Segment archives (--runs 3 --events 1000000
 *                                       --companies 2000 --people-per-company 10 --days 180; --copies 10:
 *                                       10.4 million messages, the import's memory at scale)
 *   npm run bench -- --quick            a smaller, faster pass of both
 */
import { ADMIN_URL, arg, assertLocal, dropAll, flag } from './common.js';
import { killChildren, runIngest } from './ingest.js';
import { killImportChildren, runImportBench } from './import.js';
import { runReads, runShow } from './reads.js';
import { runBurst } from './burst.js';
import { runCharts } from './charts.js';

const LIMIT_MS = Number(arg('limit-minutes', '30')) * 60_000;

async function main(): Promise<void> {
  const only = arg('only', 'all');
  const quick = flag('quick');
  const now = new Date();
  if (only === 'charts') return runCharts({ reps: Number(arg('chart-reps', '40')), now });
  assertLocal(ADMIN_URL);
  if (only === 'all' || only === 'ingest') {
    await runIngest({
      companies: Number(arg('companies', '5000')),
      peoplePerCompany: Number(arg('people-per-company', '8')),
      activityEvents: Number(arg('events', quick ? '60000' : '200000')),
      batchSize: Number(arg('batch', '500')),
      senders: Number(arg('senders', '4')),
      runs: Number(arg('runs', quick ? '1' : '3')),
      now,
    });
    console.log('');
  }
  if (only === 'all' || only === 'reads') {
    const sizes = arg('sizes', quick ? '10000' : '10000,100000').split(',').map(Number);
    await runReads({ sizes, reps: Number(arg('reps', quick ? '5' : '15')), now });
    console.log('');
  }
  if (only === 'all' || only === 'reads' || only === 'show') {
    await runShow({
      sizes: arg('show-sizes', '5000,10000').split(',').map(Number),
      reps: Number(arg('show-reps', quick ? '20' : '60')),
      now,
      embedded: !flag('no-embedded'),
    });
  }
  if (only === 'burst') {
    await runBurst({ requests: Number(arg('requests', '1000')), retries: Number(arg('retries', '0')), batchBytes: Number(arg('batch-kb', '500')) * 1024, now });
  }
  if (only === 'all') await runCharts({ reps: Number(arg('chart-reps', quick ? '10' : '40')), now });
  // The history import is its own part: only when asked for (it writes about 1 GB of archives and CSV to tmp).
  if (only === 'import') {
    await runImportBench({
      companies: Number(arg('companies', '2000')),
      peoplePerCompany: Number(arg('people-per-company', '10')),
      days: Number(arg('days', '180')),
      activityEvents: Number(arg('events', quick ? '300000' : '1000000')),
      copies: Number(arg('copies', '1')),
      runs: Number(arg('runs', quick ? '1' : '3')),
      now,
    });
  }
}

const timer = setTimeout(() => {
  console.error(`bench: over ${LIMIT_MS / 60_000} minutes; stopping`);
  killChildren();
  killImportChildren();
  void dropAll().finally(() => process.exit(1));
}, LIMIT_MS);
timer.unref();

const onSignal = (signal: string) => {
  console.error(`bench: ${signal}; stopping its server and dropping its databases`);
  killChildren();
  killImportChildren();
  void dropAll().finally(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

main()
  .then(async () => {
    await dropAll();
    process.exit(0);
  })
  .catch(async (err) => {
    console.error(err);
    killChildren();
    killImportChildren();
    await dropAll();
    process.exit(1);
  });
