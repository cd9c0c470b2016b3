/**
 * PostgreSQL restarted for real (pg_ctlcluster) while the real Segment SDK keeps
 * sending to the app (a child process): requests during the outage get 503,
 * never 200 before commit and never a crash; the SDK retries; the app
 * reconnects by itself; every company counts every event exactly once.
 *
 * Runs alone, after every other test file (vitest.config.ts, project
 * "faults"), and only against PostgreSQL (DATABASE_URL).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rows } from '../../src/db/client.js';
import { ADMIN_URL, appEnv, ensurePgUp, freePort, freshPgDatabase, kill, openForReading, pgCtl, SECRETS, sdkLoad, sleep, startApp, tally, until } from './helpers.js';

describe.skipIf(!ADMIN_URL)('PostgreSQL restarted under load', () => {
  afterAll(async () => {
    // Whatever happened above, leave the server up for whatever runs next.
    await ensurePgUp();
  });

  it('503 while it is down, the SDK retries, the app reconnects, every event counted exactly once', async () => {
    const db = await freshPgDatabase();
    const app = startApp(appEnv({ DATABASE_URL: db.url }), await freePort());
    try {
      await app.waitReady();
      const load = sdkLoad({ url: () => app.url, rate: 300, companies: 15 });
      await sleep(2_500);

      // 1. A restart (fast shutdown, start) in the middle of the load.
      await pgCtl('restart');
      await sleep(2_500);

      // 2. Down for a while: the app answers 503 to ingestion and /healthz, and stays up.
      await pgCtl('stop');
      const probe = await fetch(`${app.url}/v1/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${SECRETS.writeKey}:`).toString('base64')}` },
        body: JSON.stringify({ userId: 'probe', event: 'Probe', messageId: 'probe-1', context: { groupId: `probe-${load.tag}` } }),
      });
      expect(probe.status).toBe(503);
      expect(await probe.json()).toMatchObject({ success: false, error: expect.stringMatching(/retry/) });
      expect((await fetch(`${app.url}/healthz`)).status).toBe(503);
      await sleep(1_500);
      expect(app.child.exitCode).toBeNull();
      await pgCtl('start');

      // 3. It comes back by itself.
      await until('/healthz 200 after the restart', async () => (await fetch(`${app.url}/healthz`)).status === 200, 30_000, 200);
      await sleep(2_500);
      await load.finish();

      const answers = Object.fromEntries(load.stats.answers);
      if (load.stats.networkErrors.length) console.error(load.stats.networkErrors.join('\n'), '\n', app.output());
      // Only 200s and 503s: the app never crashed nor dropped a connection.
      expect(Object.keys(answers).sort()).toEqual(['200', '503']);
      expect(load.stats.failed).toBe(0);
      expect(app.child.exitCode).toBeNull();

      const reader = await openForReading({ databaseUrl: db.url });
      try {
        const t = await tally(reader, load.stats.sent, load.tag);
        expect(t.wrong).toEqual([]);
        expect({ lost: t.lost, doubled: t.doubled }).toEqual({ lost: 0, doubled: 0 });
        expect(t.counted).toBe(load.stats.totalSent);
        const [m] = await rows<{ n: number }>(reader.db, sql`select count(*)::int as n from messages`);
        expect(m.n).toBe(load.stats.totalSent);
        // The probe refused with 503 stored nothing.
        expect(t.wrong.some((w) => w.includes('probe'))).toBe(false);
      } finally {
        await reader.close();
      }
      console.info(`pg restart: sent ${load.stats.totalSent}, answers ${JSON.stringify(answers)}`);
    } catch (err) {
      console.error(`app output:\n${app.output().slice(-6000)}`);
      throw err;
    } finally {
      await ensurePgUp();
      await kill(app);
      await db.drop();
    }
  });
});
