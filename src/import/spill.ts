/**
 * Time order with bounded memory. Files arrive in any order (an archive per received day, a
 * `group` call in one file and its person's tracks in another), but the end state must be
 * what the same events give sent live in time order. So the read pass appends each
 * normalised event to a temporary file per UTC day; the write pass replays the days in
 * order, each sorted in memory by (time, order read). A day too large to sort in memory is
 * first split by time into smaller files, as often as needed. Every bound counts events and
 * characters of serialised events (the line the spill writes anyway), so a history of events
 * with traits near the 32 KB limit is held to the same memory as one of small events: the
 * read buffer, the bucket sorted in memory and each chunk replayed. Memory stays at about one
 * bucket, whatever the input.
 */
import { appendFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CallType } from '../ingest/segment.js';
import type { SourcedEvent } from './sink.js';

const DAY_MS = 86_400_000;
const SPLIT_WAYS = 16;

interface Bucket {
  lo: number;
  hi: number;
  file: string;
  count: number;
  /** Characters of serialised events in the bucket's file and buffer. */
  chars: number;
  buffer: string[];
}

/** An event replayed, with the length of its serialised line (its weight in a chunk). */
interface Sized {
  e: SourcedEvent;
  chars: number;
}

export interface SpillOptions {
  /** Events buffered across buckets before they are appended to disk. */
  bufferEvents?: number;
  /** ... and at most this many characters of serialised events. */
  bufferChars?: number;
  /** A bucket up to this many events is sorted in memory; a larger one is split first. */
  maxInMemory?: number;
  /** ... and up to this many characters of serialised events. */
  maxInMemoryChars?: number;
}

/**
 * The read buffer's bound by size (20,000 of the bench's events are about 6 MB), and the
 * largest bucket sorted in memory (its file, lines and objects are each in memory at once,
 * beside the two slices of the write pass). Measured on 12,000 events of 28 KB of traits under the
 * import's heap limit: peak RSS 319 MB with 16 MB and 32 MB, 262 MB with 4 and 16. On 10.4
 * million events (58,000 a day, each day about 17 MB) the in-memory sort of a whole day at
 * 16 MB and 100,000 events peaked at 337 MB; at 8 MB and 50,000 a day is split first
 * (docs/performance.md, "Ten million events").
 */
const BUFFER_CHARS = 4 * 1024 * 1024;
const IN_MEMORY_CHARS = 8 * 1024 * 1024;

type Row = [number, number, string, CallType, string, string, string | null, string | null, string | null, string | null, Record<string, unknown> | null, Record<string, unknown> | null, string | null];

function serialise(seq: number, e: SourcedEvent): string {
  const row: Row = [seq, e.time.getTime(), e.source, e.type, e.messageId!, e.personId, e.userId, e.name, e.companyKey, e.companyName, e.companyTraits, e.personTraits, e.sessionId];
  return JSON.stringify(row);
}

function deserialise(line: string): { seq: number; ms: number; chars: number; e: SourcedEvent } {
  const r = JSON.parse(line) as Row;
  return {
    seq: r[0],
    ms: r[1],
    chars: line.length,
    e: { time: new Date(r[1]), source: r[2], type: r[3], messageId: r[4], personId: r[5], userId: r[6], name: r[7], companyKey: r[8], companyName: r[9], companyTraits: r[10], personTraits: r[11], sessionId: r[12] },
  };
}

export class TimeSpill {
  readonly dir: string;
  private buckets = new Map<number, Bucket>();
  private buffered = 0;
  private bufferedChars = 0;
  private seq = 0;
  /** Events read twice (one id in one namespace, at one time) and replayed once. */
  repeated = 0;
  private files = 0;
  private readonly bufferEvents: number;
  private readonly bufferChars: number;
  private readonly maxInMemory: number;
  private readonly maxInMemoryChars: number;

  constructor(parent: string, opts: SpillOptions = {}) {
    this.dir = mkdtempSync(join(parent, 'leadmaps-import-'));
    this.bufferEvents = opts.bufferEvents ?? 20_000;
    this.bufferChars = opts.bufferChars ?? BUFFER_CHARS;
    this.maxInMemory = opts.maxInMemory ?? 50_000;
    this.maxInMemoryChars = opts.maxInMemoryChars ?? IN_MEMORY_CHARS;
    process.once('exit', this.onExit);
  }

  /** A process that exits at once (a second Ctrl-C) still leaves no files behind. */
  private onExit = () => this.remove();

  get count(): number {
    return this.seq;
  }

  add(e: SourcedEvent): void {
    const day = Math.floor(e.time.getTime() / DAY_MS);
    let b = this.buckets.get(day);
    if (!b) {
      b = { lo: day * DAY_MS, hi: (day + 1) * DAY_MS, file: join(this.dir, `d${day}.jsonl`), count: 0, chars: 0, buffer: [] };
      this.buckets.set(day, b);
    }
    const line = serialise(this.seq++, e);
    b.buffer.push(line);
    b.count++;
    b.chars += line.length;
    this.bufferedChars += line.length;
    if (++this.buffered >= this.bufferEvents || this.bufferedChars >= this.bufferChars) this.flush();
  }

  private flush(): void {
    for (const b of this.buckets.values()) flushBucket(b);
    this.buffered = 0;
    this.bufferedChars = 0;
  }

  /**
   * The events in time order, in chunks of at most `chunk` events and at most `chunkChars`
   * characters of serialised events (an event larger than that alone makes a chunk); each
   * bucket's file is removed once read.
   */
  async *replay(chunk: number, chunkChars = Infinity): AsyncGenerator<SourcedEvent[]> {
    this.flush();
    const ordered = [...this.buckets.values()].sort((a, b) => a.lo - b.lo);
    this.buckets.clear();
    // Chunks run across days, so a sink gets full slices whatever the spread of the history.
    let out: SourcedEvent[] = [];
    let chars = 0;
    for (const b of ordered) {
      for await (const part of this.replayBucket(b, chunk)) {
        for (const { e, chars: size } of part) {
          if (out.length > 0 && chars + size > chunkChars) {
            yield out;
            out = [];
            chars = 0;
          }
          out.push(e);
          chars += size;
          if (out.length >= chunk) {
            yield out;
            out = [];
            chars = 0;
          }
        }
      }
    }
    if (out.length > 0) yield out;
  }

  private async *replayBucket(b: Bucket, chunk: number): AsyncGenerator<Sized[]> {
    if (b.count === 0) return;
    if (b.count <= this.maxInMemory && b.chars <= this.maxInMemoryChars) {
      const rows = readFileSync(b.file, 'utf8').split('\n').filter((l) => l.length > 0).map(deserialise);
      unlinkSync(b.file);
      rows.sort((x, y) => x.ms - y.ms || x.seq - y.seq);
      const once = this.once(rows);
      for (let i = 0; i < once.length; i += chunk) yield once.slice(i, i + chunk);
      return;
    }
    const lines = createInterface({ input: createReadStream(b.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    if (b.hi - b.lo <= 1) {
      // One millisecond: already in the order read (appends keep it), so it streams as is.
      let out: Sized[] = [];
      const seen = new Set<string>();
      for await (const line of lines) {
        if (!line) continue;
        const { e } = deserialise(line);
        const id = `${e.source}\u0000${e.messageId}`;
        if (seen.has(id)) {
          this.repeated++;
          continue;
        }
        seen.add(id);
        out.push({ e, chars: line.length });
        if (out.length >= chunk) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
      unlinkSync(b.file);
      return;
    }
    const step = Math.max(1, Math.ceil((b.hi - b.lo) / SPLIT_WAYS));
    const parts: Bucket[] = [];
    for (let lo = b.lo; lo < b.hi; lo += step) parts.push({ lo, hi: Math.min(b.hi, lo + step), file: join(this.dir, `s${this.files++}.jsonl`), count: 0, chars: 0, buffer: [] });
    let buffered = 0;
    let bufferedChars = 0;
    for await (const line of lines) {
      if (!line) continue;
      const ms = Number(line.slice(line.indexOf(',') + 1, line.indexOf(',', line.indexOf(',') + 1)));
      const part = parts[Math.min(parts.length - 1, Math.floor((ms - b.lo) / step))];
      part.buffer.push(line);
      part.count++;
      part.chars += line.length;
      bufferedChars += line.length;
      if (++buffered >= this.bufferEvents || bufferedChars >= this.bufferChars) {
        for (const p of parts) flushBucket(p);
        buffered = 0;
        bufferedChars = 0;
      }
    }
    for (const p of parts) flushBucket(p);
    unlinkSync(b.file);
    for (const p of parts) yield* this.replayBucket(p, chunk);
  }

  /**
   * A line repeated in the input (an export holds duplicates; Mixpanel's and PostHog's do)
   * is one event: same namespace and id means same time too, so the repeats meet in one bucket.
   */
  private once(rows: readonly Sized[]): Sized[] {
    const seen = new Set<string>();
    const out: Sized[] = [];
    for (const r of rows) {
      const id = `${r.e.source}\u0000${r.e.messageId}`;
      if (seen.has(id)) this.repeated++;
      else {
        seen.add(id);
        out.push(r);
      }
    }
    return out;
  }

  /** Remove every temporary file (at the end, on error, on Ctrl-C). Safe to call twice. */
  remove(): void {
    process.removeListener('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function flushBucket(b: Bucket): void {
  if (b.buffer.length === 0) return;
  appendFileSync(b.file, `${b.buffer.join('\n')}\n`);
  b.buffer = [];
}
