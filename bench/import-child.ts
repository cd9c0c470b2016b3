/**
 * `npm run import`, exactly as a user runs it (src/cli/import.ts under tsx, its arguments,
 * its settings from the environment, the bot's migrations), in a process of its own so that
 * its peak RSS and CPU are its own. It works from DIR (the archive's folder, where no .env
 * lies), and on exit adds one JSON line to standard output: the exit code, CPU seconds and
 * peak RSS. Run by bench/import.ts:
 *
 *   tsx bench/import-child.ts DIR [import options] PATH...
 */
import { readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/import.ts', import.meta.url));
const [dir, ...args] = process.argv.slice(2);
process.chdir(dir);
process.argv = [process.argv[0], CLI, ...args];
/**
 * This process's own peak RSS, in MB. On Linux, from VmHWM: `maxRSS` (getrusage) also keeps
 * what the process held between fork and exec, a copy of the bench's own malloc'd memory
 * (measured: a parent holding 1 GB of Buffers gave a bare `node -e` child a maxRSS of 1,018 MB
 * and a VmHWM of 40 MB), so it reported 574 MB for an import whose VmHWM was under 300.
 * bench/ingest.ts reads its server's VmHWM the same way, from outside; this one must report
 * its own (it has exited when the bench looks) and stays free of the bench's imports, whose
 * modules would count in the figure.
 */
function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: getrusage's figure, with the caveat above
  }
  return process.resourceUsage().maxRSS / 1024;
}

process.on('exit', (code) => {
  const cpu = process.cpuUsage();
  // Synchronous: the process is exiting.
  writeSync(1, `\n${JSON.stringify({ code, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: peakRssMb() })}\n`);
});
await import(CLI);
