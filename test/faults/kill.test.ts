/**
 * The app killed (SIGKILL) under load from the real Segment SDK and started
 * again on the same port: whatever was in flight is either committed (and its
 * retry deduplicated by messageId) or not (and its retry stored): every event
 * counted exactly once. PostgreSQL (DATABASE_URL) or PGlite in a temp folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rows } from '../../src/db/client.js';
import { ADMIN_URL, appEnv, freePort, freshPgDatabase, kill, openForReading, sdkLoad, sleep, startApp, tally } from './helpers.js';

describe(`the app killed under load (${ADMIN_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('SIGKILL, start again: every event counted exactly once', async () => {
    const pg = ADMIN_URL ? await freshPgDatabase() : null;
    const dir = pg ? null : mkdtempSync(join(tmpdir(), 'lm-kill-'));
    const where = pg ? { DATABASE_URL: pg.url } : { PGLITE_DIR: dir! };
    const port = await freePort();
    let app = startApp(appEnv(where), port);
    try {
      await app.waitReady();
      const load = sdkLoad({ url: () => app.url, rate: 250, companies: 10 });
      for (let round = 0; round < 1; round++) {
        await sleep(2_500);
        expect(await kill(app, 'SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
        await sleep(300);
        app = startApp(appEnv(where), port);
        await app.waitReady();
      }
      await sleep(2_000);
      await load.finish();
      expect(load.stats.failed).toBe(0);
      // Only what a dead process can give: 200, 503 while starting, connection errors while down.
      for (const k of load.stats.answers.keys()) expect(['200', '503', 'network']).toContain(k);
      expect(await kill(app, 'SIGTERM')).toEqual({ code: 0, signal: null });

      const reader = await openForReading(pg ? { databaseUrl: pg.url } : { pgliteDir: dir! });
      try {
        const t = await tally(reader, load.stats.sent, load.tag);
        expect(t.wrong).toEqual([]);
        expect({ lost: t.lost, doubled: t.doubled, counted: t.counted }).toEqual({ lost: 0, doubled: 0, counted: load.stats.totalSent });
        const [m] = await rows<{ n: number }>(reader.db, sql`select count(*)::int as n from messages`);
        expect(m.n).toBe(load.stats.totalSent);
      } finally {
        await reader.close();
      }
      console.info(`kill: sent ${load.stats.totalSent}, answers ${JSON.stringify(Object.fromEntries(load.stats.answers))}`);
    } catch (err) {
      console.error(`app output:\n${app.output().slice(-4000)}`);
      throw err;
    } finally {
      await kill(app);
      await pg?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
