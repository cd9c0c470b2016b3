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
 *   npm run bench -- --quick            a smaller, faster pass of both
 */
import { ADMIN_URL, arg, assertLocal, dropAll, flag } from './common.js';
import { killChildren, runIngest } from './ingest.js';
import { runReads, runShow } from './reads.js';

const LIMIT_MS = Number(arg('limit-minutes', '30')) * 60_000;

async function main(): Promise<void> {
  assertLocal(ADMIN_URL);
  const only = arg('only', 'all');
  const quick = flag('quick');
  const now = new Date();
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
}

const timer = setTimeout(() => {
  console.error(`bench: over ${LIMIT_MS / 60_000} minutes; stopping`);
  killChildren();
  void dropAll().finally(() => process.exit(1));
}, LIMIT_MS);
timer.unref();

const onSignal = (signal: string) => {
  console.error(`bench: ${signal}; stopping its server and dropping its databases`);
  killChildren();
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
    await dropAll();
    process.exit(1);
  });
