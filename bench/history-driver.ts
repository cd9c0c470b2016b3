/**
 * A minimal reader of Segment archives (the S3 destination's layout,
 * segment-logs/<source-id>/<received-day-ms>/*.gz, gzipped NDJSON of full
 * messages) that feeds ingestHistory in time-ordered slices. It stands in for
 * the real importer (src/import, another branch) in the bench: swap the call
 * in bench/import-child.ts for it once that lands.
 *
 * Days are read in order; each day's files are gunzipped on libuv's thread
 * pool while the previous slice is being written, so reading and writing
 * overlap. Every line goes through the live validation (parseRequest).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Db } from '../src/db/client.js';
import { ingestHistory, type SourcedEvent } from '../src/ingest/history-store.js';
import { CALL_TYPES, parseRequest, SpecError, type CallType } from '../src/ingest/segment.js';

const gunzipAsync = promisify(gunzip);

export interface ArchiveImportOptions {
  keyActions: ReadonlySet<string>;
  /** Events per ingestHistory call (one transaction each). */
  sliceSize: number;
  /** The dedup namespace of the archive's message ids. */
  source: string;
  groupKeyPath: string[] | null;
}

export interface ArchiveImportResult {
  files: number;
  lines: number;
  stored: number;
  duplicates: number;
  skipped: number;
  /** The first few reasons, as file:line: reason. */
  errors: string[];
  slices: number;
}

/** The day folders of every source, oldest first. */
async function dayFolders(root: string): Promise<{ day: number; dir: string }[]> {
  const base = join(root, 'segment-logs');
  const out: { day: number; dir: string }[] = [];
  for (const src of await readdir(base)) {
    for (const day of await readdir(join(base, src))) {
      if (/^\d+$/.test(day)) out.push({ day: Number(day), dir: join(base, src, day) });
    }
  }
  return out.sort((a, b) => a.day - b.day || (a.dir < b.dir ? -1 : 1));
}

const GZIP = [0x1f, 0x8b];

/** One day folder's events, validated, in time order. */
async function readDay(dir: string, o: ArchiveImportOptions, r: ArchiveImportResult): Promise<SourcedEvent[]> {
  const names = (await readdir(dir)).sort();
  const texts = await Promise.all(
    names.map(async (name) => {
      const raw = await readFile(join(dir, name));
      // gzip by its magic bytes, whatever the name says.
      return (raw[0] === GZIP[0] && raw[1] === GZIP[1] ? await gunzipAsync(raw) : raw).toString('utf8');
    }),
  );
  const events: SourcedEvent[] = [];
  texts.forEach((text, f) => {
    r.files++;
    let line = 0;
    for (const s of text.split('\n')) {
      line++;
      if (s.length === 0) continue;
      r.lines++;
      try {
        const msg = JSON.parse(s) as Record<string, unknown>;
        const type = msg.type;
        if (type === 'alias') continue;
        if (typeof type !== 'string' || !(CALL_TYPES as readonly string[]).includes(type)) throw new SpecError(`type: must be one of ${CALL_TYPES.join(', ')}`);
        // An archived timestamp is already corrected for clock skew: no second correction.
        delete msg.sentAt;
        const receivedAt = typeof msg.receivedAt === 'string' ? new Date(msg.receivedAt) : new Date(0);
        for (const e of parseRequest(msg, { endpoint: type as CallType, receivedAt, groupKeyPath: o.groupKeyPath })) {
          if (e.messageId === null) throw new SpecError('messageId: missing');
          (e as SourcedEvent).source = o.source;
          events.push(e as SourcedEvent);
        }
      } catch (error) {
        r.skipped++;
        if (r.errors.length < 10) r.errors.push(`${join(dir, names[f])}:${line}: ${(error as Error).message}`);
      }
    }
  });
  return events.sort((a, b) => a.time.getTime() - b.time.getTime());
}

/** Import every day folder under root, slice after slice, one transaction each. */
export async function importSegmentArchive(db: Db, root: string, o: ArchiveImportOptions): Promise<ArchiveImportResult> {
  const r: ArchiveImportResult = { files: 0, lines: 0, stored: 0, duplicates: 0, skipped: 0, errors: [], slices: 0 };
  // One write in flight at a time; the next day is read (gunzip on the thread pool, then parsed) meanwhile.
  let pending: Promise<void> = Promise.resolve();
  const write = async (slice: SourcedEvent[]) => {
    await pending;
    pending = ingestHistory(db, slice, { keyActions: o.keyActions }).then((x) => {
      r.stored += x.stored;
      r.duplicates += x.duplicates;
      r.slices++;
    });
    pending.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
  };
  const days = await dayFolders(root);
  let buffer: SourcedEvent[] = [];
  let next = days.length > 0 ? readDay(days[0].dir, o, r) : null;
  for (let i = 0; next; i++) {
    const day = await next;
    next = i + 1 < days.length ? readDay(days[i + 1].dir, o, r) : null;
    // A day folder holds what arrived that day: late events can be older than the buffer's tail.
    buffer = buffer.length === 0 ? day : merge(buffer, day);
    while (buffer.length >= o.sliceSize) {
      await write(buffer.slice(0, o.sliceSize));
      buffer = buffer.slice(o.sliceSize);
    }
  }
  if (buffer.length > 0) await write(buffer);
  await pending;
  return r;
}

/** Two time-ordered lists into one. */
function merge(a: SourcedEvent[], b: SourcedEvent[]): SourcedEvent[] {
  const out: SourcedEvent[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i].time.getTime() <= b[j].time.getTime() ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
