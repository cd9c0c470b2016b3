/**
 * A read worker's thread (started by src/import/parallel-read.ts): reads the inputs it is
 * given, one at a time, with the main thread's own code (readInput), appends their events to
 * files of its own in the spill's folder, and reports each input's counts. Progress goes up
 * at most every 100 ms. Two counters shared with every reader: a stop flag (Ctrl-C, or a
 * reader past --max-errors) and the bad lines counted so far by all readers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readInput, type ReadCounts, type ReadSettings } from './read-input.js';
import { SpillWriter, type SpillOptions } from './spill.js';
import { Skips } from './summary.js';
import type { Input } from './source.js';

export interface ReadWorkerData {
  settings: ReadSettings;
  maxErrors: number;
  dir: string;
  prefix: string;
  spill: SpillOptions;
  /** Int32Array: [0] stop (0 go, 1 stop), [1] bad lines counted by every reader. */
  shared: SharedArrayBuffer;
}

export type ToWorker = { kind: 'read'; input: Input; index: number } | { kind: 'close' };
export type FromWorker =
  | { kind: 'progress'; bytes: number; events: number }
  | { kind: 'read'; index: number; counts: ReadCounts; ending: 'done' | 'errors' | 'stopped' }
  | { kind: 'closed'; days: ReturnType<SpillWriter['close']> };

const data = workerData as ReadWorkerData;
const port = parentPort!;
const flags = new Int32Array(data.shared);
const writer = new SpillWriter(data.dir, data.prefix, data.spill);
const post = (m: FromWorker) => port.postMessage(m);

let bytes = 0;
let events = 0;
let sentAt = Date.now();
const report = (force: boolean) => {
  if ((bytes > 0 || events > 0) && (force || Date.now() - sentAt >= 100)) {
    post({ kind: 'progress', bytes, events });
    bytes = 0;
    events = 0;
    sentAt = Date.now();
  }
};

port.on('message', (m: ToWorker) => {
  if (m.kind === 'close') {
    post({ kind: 'closed', days: writer.close() });
    return;
  }
  const counts: ReadCounts = { fileProblems: [], read: 0, valid: 0, ignored: new Map(), skipped: new Skips(), formats: new Map() };
  void readInput(m.input, m.index, data.settings, counts, {
    add: (order, e) => writer.add(order, e),
    bytes: (n) => {
      bytes += n;
      report(false);
    },
    events: (n) => {
      events += n;
    },
    skipped: () => {
      if (Atomics.add(flags, 1, 1) + 1 <= data.maxErrors) return false;
      Atomics.store(flags, 0, 1);
      return true;
    },
    stopped: () => Atomics.load(flags, 0) !== 0,
  }).then((ending) => {
    report(true);
    post({ kind: 'read', index: m.index, counts, ending });
  });
});
