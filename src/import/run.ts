/**
 * One import, end to end: sources -> framing -> format -> the HTTP API's validation ->
 * a time-ordered spill -> the sink, in chunks.
 *
 * Two passes. The read pass reads and validates every input once (standard input too) and
 * writes nothing: a bad line is skipped and named `file:line`, and past --max-errors the run
 * stops before anything is written. The write pass replays the events in event-time order,
 * so the end state is what the same events give sent live in time order, whatever the order
 * of files and lines. Each sink write is a transaction: Ctrl-C stops after the current
 * chunk, and the same command run again skips what was stored and finishes.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { CALL_TYPES, parseRequest, SpecError, type CallType } from '../ingest/segment.js';
import { csvDelimiter, CsvRecords, detectFraming, LineSplitter, splitCsv, type Framing } from './framing.js';
import { detectFormat, formatByName, MappingError, READABLE_FORMATS, type Format, type FormatName, type FormatOptions, type Json } from './formats/index.js';
import type { ImportSink, SourcedEvent, WriteResult } from './sink.js';
import { decode, type Input } from './source.js';
import { silentProgress, type Progress } from './progress.js';
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
  stdin?: NodeJS.ReadableStream;
  /** Where the events go, in words, for the summary. */
  target: string;
  namespaceNote?: string;
}

const LINE_TOO_LONG = 'the line is over 1 MB';

/** JSON with keys sorted, so that one record always gives one text (for derived ids). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The id of an event that came without one: its content, so the same line always gets the same id. */
export function derivedId(kind: string, record: Json): string {
  return `derived:${createHash('sha256').update(kind).update('\u0000').update(canonical(record)).digest('hex')}`;
}

class StopRead extends Error {}

export async function runImport(opts: ImportOptions, sink: ImportSink): Promise<ImportReport> {
  const progress = opts.progress ?? silentProgress();
  const forced = opts.format ? formatByName(opts.format)! : null;
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
  const sourceOf = (f: Format) => (f.namespace === 'live' ? opts.liveSource : f.namespace);

  const skip = (reason: string, where: string) => {
    skipped.add(reason, where);
    if (skipped.total > opts.maxErrors) throw new StopRead();
  };

  /** One content stream (a file, or one zip entry): lines -> records -> events in the spill. */
  function entryReader(label: string) {
    let framing: Framing | null = null;
    let format: Format | null = forced;
    let dead = false;
    let header: string[] | null = null;
    let csv: CsvRecords | null = null;
    let delimiter = ',';
    let csvStart = 0;
    let counted = false;

    const fileProblem = (message: string) => {
      dead = true;
      report.fileProblems.push({ label, message });
    };

    const useRecord = (record: Json, line: number) => {
      const where = `${label}:${line}`;
      report.read++;
      if (!format) {
        format = detectFormat(record) ?? null;
        if (!format) {
          report.read--;
          return fileProblem(`unknown format: its first record is none of the formats this tool reads: ${READABLE_FORMATS}. Name one with --format`);
        }
      }
      if (!counted) {
        report.formats.set(format.title, (report.formats.get(format.title) ?? 0) + 1);
        counted = true;
      }
      try {
        const mapped = format.toCall(record, opts.formatOptions);
        if ('ignore' in mapped) {
          report.ignored.set(mapped.ignore, (report.ignored.get(mapped.ignore) ?? 0) + 1);
          return;
        }
        const call = mapped.call;
        const type = call.type;
        if (typeof type !== 'string' || !(CALL_TYPES as readonly string[]).includes(type)) {
          throw new SpecError(`type: must be one of ${CALL_TYPES.join(', ')}, alias`);
        }
        if (call.messageId === undefined || call.messageId === null || call.messageId === '') call.messageId = derivedId(format.name, record);
        const [event] = parseRequest(call, { endpoint: type as CallType, receivedAt: opts.now, groupKeyPath: opts.groupKeyPath });
        spill.add({ ...event, source: sourceOf(format) } as SourcedEvent);
        report.valid++;
        progress.events(1);
      } catch (err) {
        if (err instanceof StopRead) throw err;
        if (err instanceof SpecError || err instanceof MappingError) return skip(err.message, where);
        return skip('the record could not be read as an event', where);
      }
    };

    const onLine = (line: number, text: string | null) => {
      if (dead) return;
      if (text === null) return skip(LINE_TOO_LONG, `${label}:${line}`);
      if (framing === null) {
        if (text.trim() === '') return;
        framing = forced ? forced.framing : detectFraming(text);
        if (framing === null) return fileProblem(`unknown format: the content is neither JSON lines nor CSV with a header. This tool reads ${READABLE_FORMATS}`);
        if (framing === 'csv') {
          if (forced && forced.framing !== 'csv') return fileProblem(`--format ${forced.name} reads JSON lines, and this is CSV`);
          format = forced ?? formatByName('csv')!;
          delimiter = csvDelimiter(text);
          header = splitCsv(text, delimiter)?.map((h) => h.trim()) ?? null;
          if (!header) return fileProblem('the CSV header is not valid');
          csv = new CsvRecords(delimiter);
          return;
        }
      }
      if (framing === 'jsonl') {
        if (text.trim() === '') return;
        let record: unknown;
        try {
          record = JSON.parse(text);
        } catch {
          report.read++;
          return skip('not valid JSON', `${label}:${line}`);
        }
        if (typeof record !== 'object' || record === null || Array.isArray(record)) {
          report.read++;
          return skip('not a JSON object', `${label}:${line}`);
        }
        return useRecord(record as Json, line);
      }
      // CSV
      if (!csv!.open) {
        if (text.trim() === '') return;
        csvStart = line;
      }
      let fields: string[] | null;
      try {
        fields = csv!.push(text);
      } catch (err) {
        report.read++;
        return skip((err as Error).message, `${label}:${csvStart}`);
      }
      if (fields === null) return;
      if (fields.length !== header!.length) {
        report.read++;
        return skip(`${fields.length} fields where the header has ${header!.length}`, `${label}:${csvStart}`);
      }
      const row: Json = {};
      header!.forEach((h, i) => Object.defineProperty(row, h, { value: fields![i], enumerable: true, writable: true, configurable: true }));
      useRecord(row, csvStart);
    };

    const lines = new LineSplitter(onLine);
    return {
      push: (data: Uint8Array) => lines.push(data),
      end: () => {
        lines.end();
        if (csv?.open && !dead) {
          report.read++;
          skip('the file ends inside a quoted field', `${label}:${csvStart}`);
        }
      },
      abandon: (message: string) => {
        lines.abandon();
        report.fileProblems.push({ label, message });
      },
    };
  }

  try {
    // Read pass.
    const totalBytes = opts.inputs.some((i) => i.size === null) ? null : opts.inputs.reduce((a, i) => a + (i.size ?? 0), 0);
    progress.reading(totalBytes, opts.inputs.length);
    try {
      for (const input of opts.inputs) {
        if (opts.signal?.aborted) break;
        report.files++;
        const readers = new Map<string, ReturnType<typeof entryReader>>();
        for await (const piece of decode(input, (b) => progress.bytes(b), opts.stdin)) {
          if (piece.kind === 'start') readers.set(piece.label, entryReader(piece.label));
          else if (piece.kind === 'data') readers.get(piece.label)?.push(piece.data);
          else if (piece.kind === 'end') readers.get(piece.label)?.end();
          else {
            const r = readers.get(piece.label);
            if (r) r.abandon(piece.message);
            else report.fileProblems.push({ label: piece.label, message: piece.message });
          }
          if (opts.signal?.aborted) break;
        }
        progress.fileDone();
      }
    } catch (err) {
      if (!(err instanceof StopRead)) throw err;
      report.ending = 'errors';
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
      let start: (() => Promise<WriteResult>) | null = null;
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
      const done = start();
      done.catch(() => {}); // awaited by settle; never an unhandled rejection meanwhile
      inflight = { done, events: chunk.length, repeated };
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
