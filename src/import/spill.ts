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
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CallType } from '../ingest/segment.js';
import type { SourcedEvent } from './sink.js';

const DAY_MS = 86_400_000;
const SPLIT_WAYS = 16;

/** A range of events to replay: a UTC day, or a part of one split by time or by order read. */
interface Bucket {
  lo: number;
  hi: number;
  /** The files holding its lines: one per reader that wrote the day (the main thread, each worker). */
  files: string[];
  count: number;
  /** Characters of serialised events in its files. */
  chars: number;
  /** The lowest and highest order read among its events. */
  first: number;
  last: number;
  /** Ids already replayed at this millisecond: shared by the parts of a millisecond split by order. */
  seen?: SeenIds;
}

/** What one reader appended for one UTC day. */
export interface SpilledDay {
  day: number;
  file: string;
  count: number;
  chars: number;
  first: number;
  last: number;
}

/** Ids already replayed, per dedup namespace (a set per namespace: no key built per event). */
type SeenIds = Map<string, Set<string>>;

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

type Row = [number, number, string, CallType, string, string, string | null, string | null, string | null, string | null, Record<string, unknown> | null, Record<string, unknown> | null, string | null, string | null];

function serialise(seq: number, e: SourcedEvent): string {
  const row: Row = [seq, e.time.getTime(), e.source, e.type, e.messageId!, e.personId, e.userId, e.name, e.companyKey, e.companyName, e.companyTraits, e.personTraits, e.sessionId, e.idHash ?? null];
  return JSON.stringify(row);
}

function deserialise(line: string): { seq: number; ms: number; chars: number; e: SourcedEvent } {
  const r = JSON.parse(line) as Row;
  return {
    seq: r[0],
    ms: r[1],
    chars: line.length,
    e: { time: new Date(r[1]), source: r[2], type: r[3], messageId: r[4], personId: r[5], userId: r[6], name: r[7], companyKey: r[8], companyName: r[9], companyTraits: r[10], personTraits: r[11], sessionId: r[12], idHash: r[13] ?? undefined },
  };
}

/** Where a line's order read and time are: it begins `[order,ms,`. */
function orderAndMs(line: string): [number, number] {
  const a = line.indexOf(',');
  const b = line.indexOf(',', a + 1);
  return [Number(line.slice(1, a)), Number(line.slice(a + 1, b))];
}

interface Pending {
  file: string;
  buffer: PendingLines;
}

/** A line buffer's first block, and the size its blocks double up to (a longer line gets a block of its own). */
const FIRST_BLOCK_BYTES = 1024;
const BLOCK_BYTES = 64 * 1024;

/**
 * Lines waiting to be appended to one file, encoded as UTF-8 as they come, into blocks of
 * bytes outside the JavaScript heap. Kept as strings (as before), the lines of a read buffer
 * (up to 4 MB) outlived the young generation, so each was copied and promoted and collected
 * later: garbage collection took a fifth of a read worker's time. After each append, blocks
 * start again at 1 KB and double up to 64 KB, so the blocks hold at most about twice the lines
 * plus 1 KB: a reader with a few lines for each of thousands of days (an export in no time
 * order) holds about what it buffers, not a large block per day.
 */
export class PendingLines {
  private blocks: Buffer[] = [];
  private block: Buffer | null = null;
  private used = 0;
  private nextBytes = FIRST_BLOCK_BYTES;
  /** Bytes of the blocks held (written or not). */
  allocated = 0;

  push(line: string): void {
    // At most 3 bytes a UTF-16 unit (a surrogate pair, 2 units, is 4 bytes), and the newline;
    // near a block's end, the exact size.
    let need = line.length * 3 + 1;
    if (this.block !== null && this.block.length - this.used < need) need = Buffer.byteLength(line, 'utf8') + 1;
    if (this.block === null || this.block.length - this.used < need) {
      if (this.block !== null) this.blocks.push(this.block.subarray(0, this.used));
      this.block = Buffer.allocUnsafeSlow(Math.max(this.nextBytes, need));
      this.allocated += this.block.length;
      this.nextBytes = Math.min(this.nextBytes * 2, BLOCK_BYTES);
      this.used = 0;
    }
    this.used += this.block.write(line, this.used, 'utf8');
    this.block[this.used++] = 0x0a;
  }

  /** Appends the lines to `file`, and forgets them. */
  appendTo(file: string): void {
    if (this.block === null) return;
    this.blocks.push(this.block.subarray(0, this.used));
    appendBlocks(file, this.blocks);
    this.blocks = [];
    this.block = null;
    this.used = 0;
    this.allocated = 0;
    this.nextBytes = FIRST_BLOCK_BYTES;
  }
}

/**
 * What one reader (the main thread, or a read worker) appends: a file per UTC day under the
 * spill's folder, each named with the reader's prefix, buffered up to `bufferEvents` events or
 * `bufferChars` characters across days. `order` is the event's place in the order read (the
 * read pass gives input i's n-th event i * 2^32 + n, so every reader's orders agree), the
 * tie-break between events of one millisecond.
 */
export class SpillWriter {
  private days = new Map<number, SpilledDay & Pending>();
  private buffered = 0;
  private bufferedChars = 0;
  count = 0;
  private readonly bufferEvents: number;
  private readonly bufferChars: number;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    opts: SpillOptions = {},
  ) {
    this.bufferEvents = opts.bufferEvents ?? 20_000;
    this.bufferChars = opts.bufferChars ?? BUFFER_CHARS;
  }

  add(order: number, e: SourcedEvent): void {
    const day = Math.floor(e.time.getTime() / DAY_MS);
    let d = this.days.get(day);
    if (!d) {
      d = { day, file: join(this.dir, `${this.prefix}d${day}.jsonl`), count: 0, chars: 0, first: order, last: order, buffer: new PendingLines() };
      this.days.set(day, d);
    }
    const line = serialise(order, e);
    d.buffer.push(line);
    d.count++;
    d.chars += line.length;
    if (order < d.first) d.first = order;
    if (order > d.last) d.last = order;
    this.count++;
    this.bufferedChars += line.length;
    if (++this.buffered >= this.bufferEvents || this.bufferedChars >= this.bufferChars) this.flush();
  }

  flush(): void {
    for (const d of this.days.values()) flushBucket(d);
    this.buffered = 0;
    this.bufferedChars = 0;
  }

  /** Everything on disk, and what each day holds. */
  close(): SpilledDay[] {
    this.flush();
    return [...this.days.values()].map(({ day, file, count, chars, first, last }) => ({ day, file, count, chars, first, last }));
  }
}

export class TimeSpill {
  readonly dir: string;
  private readonly own: SpillWriter;
  private adopted: SpilledDay[] = [];
  private adoptedCount = 0;
  private next = 0;
  /** Events read twice (one id in one namespace, at one time) and replayed once. */
  repeated = 0;
  private files = 0;
  private readonly bufferEvents: number;
  private readonly bufferChars: number;
  private readonly maxInMemory: number;
  private readonly maxInMemoryChars: number;

  constructor(parent: string, opts: SpillOptions = {}) {
    this.dir = mkdtempSync(join(parent, 'leadmaps-import-'));
    this.own = new SpillWriter(this.dir, 'm', opts);
    this.bufferEvents = opts.bufferEvents ?? 20_000;
    this.bufferChars = opts.bufferChars ?? BUFFER_CHARS;
    this.maxInMemory = opts.maxInMemory ?? 50_000;
    this.maxInMemoryChars = opts.maxInMemoryChars ?? IN_MEMORY_CHARS;
    process.once('exit', this.onExit);
  }

  /** A process that exits at once (a second Ctrl-C) still leaves no files behind. */
  private onExit = () => this.remove();

  get count(): number {
    return this.own.count + this.adoptedCount;
  }

  /** Appends an event read in this thread; `order` defaults to the order of the calls. */
  add(e: SourcedEvent, order = this.next++): void {
    this.own.add(order, e);
  }

  /** Takes in the days another reader (a read worker) wrote into this spill's folder. */
  adopt(days: readonly SpilledDay[]): void {
    for (const d of days) {
      this.adopted.push(d);
      this.adoptedCount += d.count;
    }
  }

  /**
   * The events in time order, in chunks of at most `chunk` events and at most `chunkChars`
   * characters of serialised events (an event larger than that alone makes a chunk); each
   * bucket's files are removed once read.
   */
  async *replay(chunk: number, chunkChars = Infinity): AsyncGenerator<SourcedEvent[]> {
    const byDay = new Map<number, Bucket>();
    for (const d of [...this.own.close(), ...this.adopted]) {
      const b = byDay.get(d.day);
      if (!b) byDay.set(d.day, { lo: d.day * DAY_MS, hi: (d.day + 1) * DAY_MS, files: [d.file], count: d.count, chars: d.chars, first: d.first, last: d.last });
      else {
        b.files.push(d.file);
        b.count += d.count;
        b.chars += d.chars;
        b.first = Math.min(b.first, d.first);
        b.last = Math.max(b.last, d.last);
      }
    }
    this.adopted = [];
    const ordered = [...byDay.values()].sort((a, b) => a.lo - b.lo);
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

  /**
   * One bucket in (time, order read). Small enough: sorted in memory. Larger: split into 16
   * by time, or, when it spans one millisecond, by order read (each event's order is its own,
   * so the parts always shrink), as often as needed.
   */
  private async *replayBucket(b: Bucket, chunk: number): AsyncGenerator<Sized[]> {
    if (b.count === 0) return;
    if (b.count === 1 || b.first === b.last || (b.count <= this.maxInMemory && b.chars <= this.maxInMemoryChars)) {
      const rows = b.files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.length > 0).map(deserialise));
      for (const f of b.files) unlinkSync(f);
      rows.sort((x, y) => x.ms - y.ms || x.seq - y.seq);
      const once = this.once(rows, b.seen ?? new Map());
      for (let i = 0; i < once.length; i += chunk) yield once.slice(i, i + chunk);
      return;
    }
    const byTime = b.hi - b.lo > 1;
    const [from, span] = byTime ? [b.lo, b.hi - b.lo] : [b.first, b.last - b.first + 1];
    const step = Math.max(1, Math.ceil(span / SPLIT_WAYS));
    const parts: (Bucket & Pending)[] = [];
    for (let lo = from; lo < from + span; lo += step) {
      const range = byTime ? { lo, hi: Math.min(b.hi, lo + step) } : { lo: b.lo, hi: b.hi };
      parts.push({ ...range, files: [], file: join(this.dir, `s${this.files++}.jsonl`), count: 0, chars: 0, first: Infinity, last: -Infinity, buffer: new PendingLines() });
    }
    // A millisecond's repeats can fall into different parts of an order split: they share one set of ids.
    const seen = byTime ? undefined : (b.seen ?? new Map());
    let buffered = 0;
    let bufferedChars = 0;
    for (const f of b.files) {
      const lines = createInterface({ input: createReadStream(f, { encoding: 'utf8' }), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line) continue;
        const [order, ms] = orderAndMs(line);
        const part = parts[Math.min(parts.length - 1, Math.floor(((byTime ? ms : order) - from) / step))];
        part.buffer.push(line);
        part.count++;
        part.chars += line.length;
        if (order < part.first) part.first = order;
        if (order > part.last) part.last = order;
        bufferedChars += line.length;
        if (++buffered >= this.bufferEvents || bufferedChars >= this.bufferChars) {
          for (const p of parts) flushBucket(p);
          buffered = 0;
          bufferedChars = 0;
        }
      }
      unlinkSync(f);
    }
    for (const p of parts) flushBucket(p);
    for (const p of parts) {
      if (p.count === 0) continue;
      yield* this.replayBucket({ lo: p.lo, hi: p.hi, files: [p.file], count: p.count, chars: p.chars, first: p.first, last: p.last, seen }, chunk);
    }
  }

  /**
   * A line repeated in the input (an export holds duplicates; Mixpanel's and PostHog's do)
   * is one event: same namespace and id means same time too, so the repeats meet in one
   * bucket, or in the parts of one millisecond, which share `seen`.
   */
  private once(rows: readonly Sized[], seen: SeenIds): Sized[] {
    const out: Sized[] = [];
    let source: string | null = null;
    let ids = new Set<string>();
    for (const r of rows) {
      if (r.e.source !== source) {
        source = r.e.source;
        const had = seen.get(source);
        if (had) ids = had;
        else seen.set(source, (ids = new Set()));
      }
      const id = r.e.messageId!;
      if (ids.has(id)) this.repeated++;
      else {
        ids.add(id);
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

/**
 * Appends blocks to a file with writev, no copy into one buffer first. libuv writes them all
 * (past IOV_MAX too, 1,024 buffers on Linux); the loop takes a short write anyway, as POSIX
 * allows one. Exported for its test.
 */
export function appendBlocks(file: string, blocks: Buffer[]): void {
  const fd = openSync(file, 'a');
  try {
    let rest = blocks;
    while (rest.length > 0) {
      let written = writevSync(fd, rest);
      // After a short write, go on with what is left.
      let i = 0;
      while (i < rest.length && written >= rest[i].length) written -= rest[i++].length;
      rest = i < rest.length ? [rest[i].subarray(written), ...rest.slice(i + 1)] : [];
    }
  } finally {
    closeSync(fd);
  }
}

function flushBucket(b: Pending): void {
  b.buffer.appendTo(b.file);
}
