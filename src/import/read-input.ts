/**
 * The read pass for one input (a file, standard input, or a zip's entries): lines, then
 * records, then the format's mapping, then the HTTP API's own validation, then each event
 * handed to the spill with its order read. Counts what it read and names each bad line
 * `file:line`. The same code runs on the main thread and in the read workers
 * (src/import/parallel-read.ts), so a parallel read gives what a serial one gives.
 */
import { createHash } from 'node:crypto';
import { messageIdHash } from '../ingest/message-ids.js';
import { CALL_TYPES, parseRequest, SpecError, type CallType } from '../ingest/segment.js';
import { csvDelimiter, CsvRecords, detectFraming, LineSplitter, splitCsv, type Framing } from './framing.js';
import { formatByName, detectFormat, MappingError, READABLE_FORMATS, type Format, type FormatName, type FormatOptions, type Json } from './formats/index.js';
import type { SourcedEvent } from './sink.js';
import { decode, type Input } from './source.js';
import type { ImportReport } from './summary.js';

/** What the read pass needs to know; plain data, so a read worker receives it as is. */
export interface ReadSettings {
  /** --format: one format for every file, instead of detection. */
  format: FormatName | null;
  formatOptions: FormatOptions;
  /** GROUP_KEY_PATH, as the HTTP API reads it. */
  groupKeyPath: string[] | null;
  /** The dedup namespace of Segment-shaped events (the write key's, as live traffic uses). */
  liveSource: string;
  /** The import's start: the receive time the validation sees. */
  now: Date;
  /** Give each event its id's hash (messageIdHash), for a sink that writes it. */
  hashIds: boolean;
}

/** The counts a read adds to the report. */
export type ReadCounts = Pick<ImportReport, 'fileProblems' | 'read' | 'valid' | 'ignored' | 'skipped' | 'formats'>;

export interface ReadHooks {
  /** An event read, with its order read. */
  add(order: number, e: SourcedEvent): void;
  /** Raw bytes read (progress). */
  bytes(n: number): void;
  /** Valid events read (progress). */
  events(n: number): void;
  /** A bad line was just counted: true when the read must stop (past --max-errors, across every reader). */
  skipped(): boolean;
  /** True when the read must stop now (Ctrl-C, or another reader went past --max-errors). */
  stopped(): boolean;
}

/**
 * Input i's n-th event is read at order i * 2^32 + n: every reader gives the same orders
 * whichever inputs it reads, and they stay exact integers (below 2^53) for up to 2^21 inputs
 * of up to 2^32 events each.
 */
export const ORDER_PER_INPUT = 2 ** 32;

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

/**
 * Reads input number `index` whole, or until `hooks` say stop. 'errors': this reader went
 * past --max-errors; 'stopped': told to stop (Ctrl-C, or another reader past --max-errors).
 */
export async function readInput(input: Input, index: number, settings: ReadSettings, counts: ReadCounts, hooks: ReadHooks, stdin?: NodeJS.ReadableStream): Promise<'done' | 'errors' | 'stopped'> {
  const s = { ...settings, forced: settings.format ? formatByName(settings.format)! : null };
  const order = { n: 0 };
  const readers = new Map<string, ReturnType<typeof entryReader>>();
  try {
    for await (const piece of decode(input, (b) => hooks.bytes(b), stdin)) {
      if (piece.kind === 'start') readers.set(piece.label, entryReader(piece.label, index, s, counts, hooks, order));
      else if (piece.kind === 'data') readers.get(piece.label)?.push(piece.data);
      else if (piece.kind === 'end') readers.get(piece.label)?.end();
      else {
        const r = readers.get(piece.label);
        if (r) r.abandon(piece.message);
        else counts.fileProblems.push({ label: piece.label, message: piece.message });
      }
      if (hooks.stopped()) return 'stopped';
    }
  } catch (err) {
    if (err instanceof StopRead) return 'errors';
    throw err;
  }
  return 'done';
}

/** One content stream (a file, or one zip entry): lines -> records -> events in the spill. */
function entryReader(label: string, index: number, s: ReadSettings & { forced: Format | null }, counts: ReadCounts, hooks: ReadHooks, order: { n: number }) {
  const forced = s.forced;
  const skip = (reason: string, where: string) => {
    counts.skipped.add(reason, where);
    if (hooks.skipped()) throw new StopRead();
  };
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
    counts.fileProblems.push({ label, message });
  };

  const useRecord = (record: Json, line: number) => {
    const where = `${label}:${line}`;
    counts.read++;
    if (!format) {
      format = detectFormat(record) ?? null;
      if (!format) {
        counts.read--;
        return fileProblem(`unknown format: its first record is none of the formats this tool reads: ${READABLE_FORMATS}. Name one with --format`);
      }
    }
    if (!counted) {
      counts.formats.set(format.title, (counts.formats.get(format.title) ?? 0) + 1);
      counted = true;
    }
    try {
      const mapped = format.toCall(record, s.formatOptions);
      if ('ignore' in mapped) {
        counts.ignored.set(mapped.ignore, (counts.ignored.get(mapped.ignore) ?? 0) + 1);
        return;
      }
      const call = mapped.call;
      const type = call.type;
      if (typeof type !== 'string' || !(CALL_TYPES as readonly string[]).includes(type)) {
        throw new SpecError(`type: must be one of ${CALL_TYPES.join(', ')}, alias`);
      }
      if (call.messageId === undefined || call.messageId === null || call.messageId === '') call.messageId = derivedId(format.name, record);
      const [event] = parseRequest(call, { endpoint: type as CallType, receivedAt: s.now, groupKeyPath: s.groupKeyPath });
      // parseRequest made this object for this call alone: completed in place (a copy of its fields
      // per event cost about 1 µs, 5 % of the read pass).
      const sourced = event as SourcedEvent;
      sourced.source = format.namespace === 'live' ? s.liveSource : format.namespace;
      sourced.idHash = s.hashIds ? messageIdHash(event.messageId!) : undefined;
      hooks.add(index * ORDER_PER_INPUT + order.n++, sourced);
      counts.valid++;
      hooks.events(1);
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
        counts.read++;
        return skip('not valid JSON', `${label}:${line}`);
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        counts.read++;
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
      counts.read++;
      return skip((err as Error).message, `${label}:${csvStart}`);
    }
    if (fields === null) return;
    if (fields.length !== header!.length) {
      counts.read++;
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
        counts.read++;
        skip('the file ends inside a quoted field', `${label}:${csvStart}`);
      }
    },
    abandon: (message: string) => {
      lines.abandon();
      counts.fileProblems.push({ label, message });
    },
  };
}
