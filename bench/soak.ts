/**
 * `npm run soak` (not in CI): steady load through the real Segment SDK against
 * the app as a child process, PostgreSQL restarted in the middle; prints events
 * sent, counted, lost, doubled, and the app's memory (RSS) at start and end.
 *
 *   SOAK_SECONDS (default 600), SOAK_RATE events/s (default 200),
 *   DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; needs pg_ctlcluster).
 * Exit code 1 if anything was lost or doubled, or RSS grew past the bound.
 */
import { appEnv, ensurePgUp, freePort, freshPgDatabase, kill, openForReading, pgCtl, sdkLoad, sleep, startApp, tally } from '../test/faults/helpers.js';

/** RSS may grow this much from the warmed-up start to the end. */
const RSS_BOUND_MB = 64;

const seconds = Number(process.env.SOAK_SECONDS ?? process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 600);
const rate = Number(process.env.SOAK_RATE ?? 200);
const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function main() {
  const db = await freshPgDatabase(admin);
  const app = startApp(appEnv({ DATABASE_URL: db.url }), await freePort());
  const say = (m: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);
  try {
    await app.waitReady();
    say(`app up (pid ${app.child.pid}); ${seconds} s at ${rate} events/s; PostgreSQL restart at ${Math.round(seconds / 2)} s`);
    const load = sdkLoad({ url: () => app.url, rate, companies: 50 });
    await sleep(Math.min(30, seconds / 10) * 1000);
    const rssStart = app.rssMb();
    say(`RSS after warm-up: ${rssStart.toFixed(1)} MB`);
    const started = Date.now();
    const half = seconds * 500;
    let restarted = false;
    let peak = rssStart;
    while (Date.now() - started < seconds * 1000) {
      await sleep(5_000);
      peak = Math.max(peak, app.rssMb());
      if (!restarted && Date.now() - started >= half) {
        say('restarting PostgreSQL (pg_ctlcluster restart)');
        const t = Date.now();
        await pgCtl('restart');
        say(`PostgreSQL back after ${Date.now() - t} ms`);
        restarted = true;
      }
      if ((Date.now() - started) % 60_000 < 5_000) say(`sent ${load.stats.totalSent}, RSS ${app.rssMb().toFixed(1)} MB, answers ${JSON.stringify(Object.fromEntries(load.stats.answers))}`);
    }
    say('stopping the load; waiting for the SDK to deliver everything');
    await load.finish(300_000);
    const rssEnd = app.rssMb();
    const reader = await openForReading({ databaseUrl: db.url });
    const t = await tally(reader, load.stats.sent, load.tag);
    await reader.close();
    const ok = t.lost === 0 && t.doubled === 0 && t.wrong.length === 0 && load.stats.failed === 0 && rssEnd - rssStart <= RSS_BOUND_MB;
    console.log(
      [
        '',
        `duration:          ${seconds} s at ${rate} events/s, PostgreSQL restarted once in the middle`,
        `events sent:       ${t.sent}`,
        `events counted:    ${t.counted}`,
        `lost:              ${t.lost}`,
        `doubled:           ${t.doubled}`,
        `SDK gave up on:    ${load.stats.failed}`,
        `HTTP answers:      ${JSON.stringify(Object.fromEntries(load.stats.answers))}`,
        `app RSS:           ${rssStart.toFixed(1)} MB after warm-up, ${rssEnd.toFixed(1)} MB at the end (peak ${peak.toFixed(1)} MB); bound: +${RSS_BOUND_MB} MB`,
        `verdict:           ${ok ? 'PASS' : 'FAIL'}`,
        ...t.wrong.slice(0, 10),
      ].join('\n'),
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await ensurePgUp(admin);
    await kill(app, 'SIGTERM');
    await db.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
