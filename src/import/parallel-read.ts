/**
 * The read pass on several cores: worker threads (src/import/read-worker.ts) read whole
 * inputs with the main thread's own code, each writing its events to files of its own in the
 * spill's folder; the spill replays them all in (time, order read). Orders depend only on
 * the input and the line (read-input.ts), and the counts are merged in the inputs' order, so
 * the events written, their order and the summary are those of a read on one thread.
 * Inputs are handed out one at a time, in order, to whichever worker is free.
 *
 * Past --max-errors: the bad lines are counted across workers in shared memory, and every
 * worker stops at the next piece; nothing is written, as on one thread (the summary may then
 * count a few more lines read than one thread would have). Ctrl-C sets the same stop flag.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Progress } from './progress.js';
import type { ReadCounts, ReadSettings } from './read-input.js';
import type { FromWorker, ReadWorkerData, ToWorker } from './read-worker.js';
import type { Input } from './source.js';
import type { SpillOptions, TimeSpill } from './spill.js';
import type { ImportReport } from './summary.js';

/**
 * Below this many bytes on disk, one thread reads: starting a worker (its own V8, the
 * TypeScript loader, the modules) takes about 0.2 s, which a small import never wins back.
 */
export const PARALLEL_READ_MIN_BYTES = 8 * 1024 * 1024;
/**
 * A worker's V8 heap: it holds one input's pieces and its spill buffer (at most 4 MB of
 * lines). Measured on the bench's 1,040,016 messages with 2 workers (docs/performance.md,
 * "The read pass on every core, hashes in Node, the hand-off"): peak RSS 286 MB with V8's defaults (old generation 96 MB),
 * 234 MB with 48 and a young generation of 8, as fast; 4 MB of young generation was slower.
 */
const WORKER_OLD_MB = 48;
const WORKER_YOUNG_MB = 8;

/** How many read workers an import of these inputs gets: 0 means read on the main thread. */
export function readWorkers(inputs: readonly Input[], asked?: number): number {
  if (inputs.some((i) => i.path === null) || inputs.length < 2) return 0; // standard input: one stream
  if (asked !== undefined) return Math.min(asked, inputs.length);
  const bytes = inputs.reduce((a, i) => a + (i.size ?? 0), 0);
  if (bytes < PARALLEL_READ_MIN_BYTES) return 0;
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, inputs.length);
}

/**
 * Starts a worker from TypeScript source (through tsx's loader, resolved from here: the import
 * may run in any folder) or from compiled JavaScript.
 */
function startWorker(data: ReadWorkerData): Worker {
  const url = new URL('./read-worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url).href;
  const boot = url.endsWith('.ts')
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(url)}); })`
    : `import(${JSON.stringify(url)})`;
  return new Worker(boot, { eval: true, workerData: data, resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
}

/**
 * Reads `inputs` with `workers` threads into `spill`, adding the counts to `report` in the
 * inputs' order. 'errors': past --max-errors; 'interrupted': `signal` aborted.
 */
export async function readInParallel(
  inputs: readonly Input[],
  workers: number,
  settings: ReadSettings,
  maxErrors: number,
  spill: TimeSpill,
  spillOptions: SpillOptions,
  report: ImportReport,
  progress: Progress,
  signal?: AbortSignal,
): Promise<'done' | 'errors' | 'interrupted'> {
  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const stop = () => Atomics.store(flags, 0, 1);
  signal?.addEventListener('abort', stop);
  if (signal?.aborted) stop();
  const results: { counts: ReadCounts; ending: 'done' | 'errors' | 'stopped' }[] = [];
  let next = 0;
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let open = workers;
      /** The input each worker is reading, to name it if the worker fails. */
      const reading = new Map<Worker, string>();
      const hand = (w: Worker) => {
        const send = (m: ToWorker) => w.postMessage(m);
        if (next < inputs.length && Atomics.load(flags, 0) === 0) {
          const index = next++;
          reading.set(w, inputs[index].label);
          send({ kind: 'read', input: inputs[index], index });
        } else {
          reading.delete(w);
          send({ kind: 'close' });
        }
      };
      for (let k = 0; k < workers; k++) {
        const w = startWorker({ settings, maxErrors, dir: spill.dir, prefix: `w${k}-`, spill: spillOptions, shared });
        pool.push(w);
        w.on('message', (m: FromWorker) => {
          if (m.kind === 'progress') {
            if (m.bytes) progress.bytes(m.bytes);
            if (m.events) progress.events(m.events);
          } else if (m.kind === 'read') {
            results[m.index] = { counts: m.counts, ending: m.ending };
            progress.fileDone();
            hand(w);
          } else {
            spill.adopt(m.days);
            if (--open === 0) resolve();
          }
        });
        w.on('error', (err) => {
          stop();
          const where = reading.get(w);
          reject(
            new Error(
              `a read worker stopped${where ? ` while reading ${where}` : ''}: ${err.message}. Nothing was written; ` +
                'run the same command again with --read-workers 0 to read on the main thread only',
            ),
          );
        });
        hand(w);
      }
    });
  } finally {
    signal?.removeEventListener('abort', stop);
    await Promise.all(pool.map((w) => w.terminate()));
  }
  let errors = false;
  for (const r of results) {
    if (!r) continue; // never handed out (the read stopped first)
    report.files++;
    report.fileProblems.push(...r.counts.fileProblems);
    report.read += r.counts.read;
    report.valid += r.counts.valid;
    for (const [k, v] of r.counts.ignored) report.ignored.set(k, (report.ignored.get(k) ?? 0) + v);
    for (const [k, v] of r.counts.formats) report.formats.set(k, (report.formats.get(k) ?? 0) + v);
    report.skipped.merge(r.counts.skipped);
    if (r.ending === 'errors') errors = true;
  }
  if (signal?.aborted) return 'interrupted';
  return errors || report.skipped.total > maxErrors ? 'errors' : 'done';
}
