/**
 * One import, end to end: sources -> framing -> format -> the HTTP API's validation ->
 * a time-ordered spill -> the sink, in chunks.
 *
 * Two passes. The read pass reads and validates every input once (standard input too) and
 * writes nothing: a bad line is skipped and named `file:line`, and past --max-errors the run
 * stops before anything is written. It reads each input with read-input.ts, on the main
 * thread or, for several files of some size, in read workers, one per core (parallel-read.ts),
 * with the same result. The write pass replays the events in event-time order,
 * so the end state is what the same events give sent live in time order, whatever the order
 * of files and lines. Each sink write is a transaction: Ctrl-C stops after the current
 * chunk, and the same command run again skips what was stored and finishes.
 */
import { tmpdir } from 'node:os';
import type { FormatName, FormatOptions } from './formats/index.js';
import type { ImportSink, WriteResult } from './sink.js';
import type { Input } from './source.js';
import { silentProgress, type Progress } from './progress.js';
import { readInput, type ReadHooks, type ReadSettings } from './read-input.js';
import { readInParallel, readWorkers } from './parallel-read.js';
import { Coverage, Skips, type ImportReport } from './summary.js';
import { TimeSpill, type SpillOptions } from './spill.js';

export interface ImportOptions {
  inputs: readonly Input[];
  /** --format: one format for every file, instead of detection. */
  format: FormatName | null;
  formatOptions: FormatOptions;
  /** Bad lines tolerated; one more stops the run (before anything is written). */
  maxErrors: number;
  dryRun: boolean;
  /** GROUP_KEY_PATH, as the HTTP API reads it. */
  groupKeyPath: string[] | null;
  /** The dedup namespace of Segment-shaped events (the write key's, as live traffic). */
  liveSource: string;
  /** The import's start: the receive time the validation sees. */
  now: Date;
  /** Ctrl-C: the read pass stops at once, the write pass after its current chunk. */
  signal?: AbortSignal;
  progress?: Progress;
  /** Events per sink write (each one transaction, or a few HTTP batches); default: the sink's slice, else 2,000. */
  chunk?: number;
  /** Characters of serialised events per sink write; default: the sink's sliceChars, else no bound. */
  chunkChars?: number;
  tmpDir?: string;
  spill?: SpillOptions;
  /**
   * Read workers (threads) for the read pass; default: one per core when the inputs are
   * several files of 8 MB or more in all (src/import/parallel-read.ts), else none.
   */
  readWorkers?: number;
  stdin?: NodeJS.ReadableStream;
  /** Where the events go, in words, for the summary. */
  target: string;
  namespaceNote?: string;
}

const noop = () => {};

export async function runImport(opts: ImportOptions, sink: ImportSink): Promise<ImportReport> {
  const progress = opts.progress ?? silentProgress();
  const skipped = new Skips();
  const report: ImportReport = {
    files: 0,
    fileProblems: [],
    read: 0,
    valid: 0,
    ignored: new Map(),
    skipped,
    written: 0,
    stored: 0,
    duplicates: 0,
    coverage: new Coverage(),
    ending: 'done',
    dryRun: opts.dryRun,
    counts: sink.counts ?? 'exact',
    target: opts.target,
    namespaceNote: opts.namespaceNote,
    formats: new Map(),
  };
  const spill = new TimeSpill(opts.tmpDir ?? tmpdir(), opts.spill);
  try {
    // Read pass: on the main thread, or in read workers when the inputs are many files and large.
    const totalBytes = opts.inputs.some((i) => i.size === null) ? null : opts.inputs.reduce((a, i) => a + (i.size ?? 0), 0);
    progress.reading(totalBytes, opts.inputs.length);
    const settings: ReadSettings = { format: opts.format, formatOptions: opts.formatOptions, groupKeyPath: opts.groupKeyPath, liveSource: opts.liveSource, now: opts.now, hashIds: sink.usesIdHash === true };
    const workers = readWorkers(opts.inputs, opts.readWorkers);
    if (workers > 0) {
      report.ending = await readInParallel(opts.inputs, workers, settings, opts.maxErrors, spill, opts.spill ?? {}, report, progress, opts.signal);
    } else {
      const hooks: ReadHooks = {
        add: (order, e) => spill.add(e, order),
        bytes: (n) => progress.bytes(n),
        events: (n) => progress.events(n),
        skipped: () => report.skipped.total > opts.maxErrors,
        stopped: () => opts.signal?.aborted === true,
      };
      for (let i = 0; i < opts.inputs.length; i++) {
        if (opts.signal?.aborted) break;
        report.files++;
        const ending = await readInput(opts.inputs[i], i, settings, report, hooks, opts.stdin);
        progress.fileDone();
        if (ending === 'errors') {
          report.ending = 'errors';
          break;
        }
        if (ending === 'stopped') break;
      }
    }
    if (opts.signal?.aborted) report.ending = 'interrupted';
    if (report.ending !== 'done') return report;

    // Write pass, in event-time order. One chunk is written at a time, each after the one
    // before has ended; while a chunk is in the database, the next is read from the spill and
    // prepared (sink.prepare: the part that needs no I/O), so the two overlap.
    progress.writing(spill.count);
    let inflight: { done: Promise<WriteResult>; events: number; repeated: number } | null = null;
    /** Waits for the chunk in flight and counts it; false when it failed (the run stops). */
    const settle = async (): Promise<boolean> => {
      if (!inflight) return true;
      const { done, events, repeated } = inflight;
      inflight = null;
      try {
        const r = await done;
        report.stored += r.stored;
        report.duplicates += r.duplicates;
        report.written += events;
      } catch (err) {
        report.ending = 'failed';
        report.failure = err instanceof Error ? err.message : String(err);
        return false;
      }
      report.duplicates += repeated;
      report.written += repeated;
      progress.written(events);
      return true;
    };
    const stopWriting = async (): Promise<ImportReport> => {
      if (sink.flush && report.written > 0) {
        try {
          await sink.flush();
        } catch (err) {
          if (report.ending !== 'failed') {
            report.ending = 'failed';
            report.failure = err instanceof Error ? err.message : String(err);
          }
        }
      }
      return report;
    };
    for await (const chunk of spill.replay(opts.chunk ?? sink.slice ?? 2000, opts.chunkChars ?? sink.sliceChars ?? Infinity)) {
      // Lines repeated in the input, dropped by the spill up to this chunk: counted with it.
      const repeated = spill.repeated;
      spill.repeated = 0;
      let start: ((handOff?: () => void) => Promise<WriteResult>) | null = null;
      let refused: unknown = null;
      try {
        start = sink.prepare ? sink.prepare(chunk) : () => sink.write(chunk);
      } catch (err) {
        refused = err;
      }
      if (!(await settle())) return stopWriting();
      if (opts.signal?.aborted) {
        report.ending = 'interrupted';
        return stopWriting();
      }
      for (const e of chunk) report.coverage.add(e);
      if (start === null) {
        report.ending = 'failed';
        report.failure = refused instanceof Error ? refused.message : String(refused);
        return stopWriting();
      }
      let handedOff!: () => void;
      const handOff = new Promise<void>((resolve) => (handedOff = resolve));
      const done = start(handedOff);
      done.catch(() => {}); // awaited by settle; never an unhandled rejection meanwhile
      inflight = { done, events: chunk.length, repeated };
      if (sink.handsOff) {
        // The next chunk is read and prepared once this write has handed off (or ended): its
        // transaction's first round trips and the walk need this thread; its last group does not.
        await Promise.race([handOff, done.then(noop, noop)]);
        // The driver writes small messages (COMMIT) on a later turn of the event loop: two turns,
        // so that they are on the wire before this thread is busy again.
        await new Promise(setImmediate);
        await new Promise(setImmediate);
      }
    }
    if (!(await settle())) return stopWriting();
    if (opts.signal?.aborted) report.ending = 'interrupted';
    await stopWriting();
    return report;
  } finally {
    progress.stop();
    spill.remove();
  }
}
