/**
 * The import under measurement, in a process of its own so that its peak RSS is
 * its own: migrate the fresh database, then import the archive and print one
 * JSON line with the figures. Run by bench/import.ts.
 *
 *   tsx bench/import-child.ts DATABASE_URL ARCHIVE_DIR SLICE_SIZE KEY_ACTIONS
 */
import { openDatabase } from '../src/db/client.js';
import { importSegmentArchive } from './history-driver.js';

async function main(): Promise<void> {
  const [url, root, slice, keyActions] = process.argv.slice(2);
  const database = await openDatabase({ databaseUrl: url, max: 2 });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await importSegmentArchive(database.db, root, {
      keyActions: new Set(keyActions.split(',')),
      sliceSize: Number(slice),
      source: 'segment-import',
      groupKeyPath: null,
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      JSON.stringify({ ...r, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 }),
    );
  } finally {
    await database.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
