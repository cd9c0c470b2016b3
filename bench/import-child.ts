/**
 * `npm run import`, exactly as a user runs it (src/cli/import.ts under tsx, its arguments,
 * its settings from the environment, the bot's migrations), in a process of its own so that
 * its peak RSS and CPU are its own. It works from DIR (the archive's folder, where no .env
 * lies), and on exit adds one JSON line to standard output: the exit code, CPU seconds and
 * peak RSS. Run by bench/import.ts:
 *
 *   tsx bench/import-child.ts DIR [import options] PATH...
 */
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/import.ts', import.meta.url));
const [dir, ...args] = process.argv.slice(2);
process.chdir(dir);
process.argv = [process.argv[0], CLI, ...args];
process.on('exit', (code) => {
  const cpu = process.cpuUsage();
  // Synchronous: the process is exiting.
  writeSync(1, `\n${JSON.stringify({ code, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
});
await import(CLI);
