/**
 * Where imported events go (the importer's last layer): the bot's own database, or a
 * running bot's Segment API. Events arrive here validated, normalised and in time order.
 */
import type { Db } from '../db/client.js';
import { historyDurable, ingestHistory, prepareHistory, type SourcedEvent } from '../ingest/history-store.js';
import { LIMITS, type SegmentEvent } from '../ingest/segment.js';

/** A normalised event with its dedup namespace; messageId is never null here. */
export type { SourcedEvent };

export interface WriteResult {
  stored: number;
  duplicates: number;
}

export interface ImportSink {
  write(events: readonly SourcedEvent[]): Promise<WriteResult>;
  /**
   * Optional: the write in two steps. Does now the work that needs no I/O and returns the
   * function that writes; the run prepares the next chunk this way while the previous one is
   * being written, and calls the function only once that write has ended. Throws, like
   * write, for a chunk it refuses.
   */
  prepare?(events: readonly SourcedEvent[]): (handOff?: () => void) => Promise<WriteResult>;
  /**
   * True when the write prepare returns calls `handOff` once what is left of it needs little of
   * this thread (its last statements are sent; the database is at work): the run reads and
   * prepares the next chunk only then, beside the database's part of the write rather than
   * ahead of it, where it held up the write's first round trips. Other sinks get the next
   * chunk prepared at once.
   */
  readonly handsOff?: boolean;
  /**
   * True when it writes each event's id hash (SourcedEvent.idHash): the read pass then computes
   * it, on every core; for other sinks (--url, --dry-run) it would be work for nothing.
   */
  readonly usesIdHash?: boolean;
  /** Optional: returns once everything written so far is durable (called when the run stops writing). */
  flush?(): Promise<void>;
  close(): Promise<void>;
  /** 'exact' when stored and duplicates are known; 'accepted' when a remote bot only says it took them. */
  readonly counts?: 'exact' | 'accepted';
  /** Events per write that suit this sink (the run's chunk, unless the caller names one). */
  readonly slice?: number;
  /** And at most this many characters of serialised events per write (default: no bound). */
  readonly sliceChars?: number;
}

/**
 * Events per database write: one transaction each. The bulk path gains by aggregating a large
 * slice (a person-day's many events become one row); past about 20,000 the gain flattens and
 * memory grows (docs/performance.md, "History import": peak RSS 241 MB at 20,000, 405 MB at 50,000).
 */
export const HISTORY_SLICE = 20_000;

/**
 * And at most this many characters of serialised events (the spill's line of each event) per
 * database write, so that a slice of events with traits near the 32 KB limit takes no more
 * memory than one of small events: 20,000 events of the bench's history are about 6 MB, so
 * the bound bites only for large events (at 32 KB each, a slice is about 256 events).
 * A slice's objects, statement parameters and results take a few times its serialised size.
 */
export const HISTORY_SLICE_CHARS = 8 * 1024 * 1024;

/**
 * The bot's database, through the bulk write path (ingestHistory): each write is one
 * transaction, all or nothing, so an interrupted import keeps what it wrote and a re-run
 * skips it. Inside a write, events of several sources are walked source after source, each
 * in time order, as one live request per source would be (docs/import.md).
 */
export function databaseSink(db: Db, keyActions: ReadonlySet<string>): ImportSink {
  return {
    counts: 'exact',
    slice: HISTORY_SLICE,
    sliceChars: HISTORY_SLICE_CHARS,
    write: (events) => ingestHistory(db, events, { keyActions }),
    prepare: (events) => prepareHistory(db, events, { keyActions }),
    handsOff: true,
    usesIdHash: true,
    flush: () => historyDurable(db),
    close: async () => {},
  };
}

/** A sink that writes nothing (--dry-run). */
export function nullSink(): ImportSink {
  return { counts: 'exact', write: async (events) => ({ stored: events.length, duplicates: 0 }), close: async () => {} };
}

type Json = Record<string, unknown>;

/**
 * The Segment call that a running bot turns back into exactly `e` (src/ingest/segment.ts):
 * no `sentAt`, so the event time is `timestamp` as is (the skew correction needs both);
 * the company in `context.groupId`, which wins over every other group-key rule.
 * `idPrefix` keeps ids of other vendors apart inside the write key's namespace.
 */
export function toSegmentCall(e: SegmentEvent, idPrefix = ''): Json {
  const call: Json = { type: e.type, messageId: `${idPrefix}${e.messageId}`, timestamp: e.time.toISOString() };
  if (e.userId !== null) call.userId = e.userId;
  else call.anonymousId = e.personId.replace(/^anon:/, '');
  const context: Json = {};
  if (e.type === 'track') call.event = e.name;
  else if ((e.type === 'page' || e.type === 'screen') && e.name !== null) call.name = e.name;
  if (e.type === 'group') {
    call.groupId = e.companyKey;
    call.traits = e.companyTraits ?? {};
  } else {
    if (e.companyKey !== null) context.groupId = e.companyKey;
    const ctxTraits: Json = {};
    if (e.type === 'identify') call.traits = { ...(e.personTraits ?? {}) };
    else if (e.personTraits !== null) Object.assign(ctxTraits, e.personTraits);
    if (e.companyName !== null) ctxTraits.company = { id: e.companyKey, name: e.companyName };
    if (Object.keys(ctxTraits).length > 0) context.traits = ctxTraits;
    if (e.type === 'identify' && e.companyName !== null && !Object.prototype.hasOwnProperty.call(call.traits, 'company')) (call.traits as Json).company = { id: e.companyKey, name: e.companyName };
  }
  if (e.sessionId !== null) context.sessionId = e.sessionId;
  if (Object.keys(context).length > 0) call.context = context;
  return call;
}

export interface HttpSinkOptions {
  url: string;
  writeKey: string;
  /** For ids of Mixpanel, Amplitude, PostHog: their kind, so they never meet a Segment id. */
  idPrefixOf: (source: string) => string;
  /** Give up after this many failed tries of one batch. */
  maxAttempts?: number;
  /** First backoff delay; doubles to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (why: string, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class SinkError extends Error {}

/** Segment's batch limits, with room for the envelope. */
const BATCH_BYTES = LIMITS.batchBytes - 4 * 1024;
const BATCH_EVENTS = 2500;

/**
 * A running bot's `/v1/batch`, as Segment's own clients send: batches of at most 500 KB and
 * 2,500 events; 503, 429, other 5xx and network errors are retried with backoff (a
 * Retry-After is honoured); a 400 or 401 is final. The bot deduplicates by messageId, so a
 * retried batch counts once.
 */
export function httpSink(opts: HttpSinkOptions): ImportSink {
  const endpoint = new URL('v1/batch', opts.url.endsWith('/') ? opts.url : `${opts.url}/`).toString();
  const auth = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxAttempts = opts.maxAttempts ?? 10;
  const base = opts.baseDelayMs ?? 500;
  const cap = opts.maxDelayMs ?? 30_000;

  async function send(items: string[]): Promise<void> {
    const body = `{"batch":[${items.join(',')}]}`;
    for (let attempt = 1; ; attempt++) {
      let why: string;
      let retryAfterMs: number | null = null;
      try {
        const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
        const text = await res.text();
        if (res.ok) return;
        if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 404 || res.status === 413) {
          throw new SinkError(`${endpoint} answered ${res.status}: ${text.slice(0, 300)}${res.status === 401 ? ' (check --write-key: it must be one of the bot\'s INGEST_WRITE_KEYS)' : ''}`);
        }
        why = `${res.status}`;
        const ra = res.headers.get('retry-after');
        if (ra !== null) {
          const s = Number(ra);
          retryAfterMs = Number.isFinite(s) ? s * 1000 : Math.max(0, Date.parse(ra) - Date.now());
        }
      } catch (err) {
        if (err instanceof SinkError) throw err;
        why = err instanceof Error ? `${err.message}${(err as { cause?: { code?: string } }).cause?.code ? ` (${(err as { cause: { code: string } }).cause.code})` : ''}` : String(err);
      }
      if (attempt >= maxAttempts) throw new SinkError(`${endpoint}: gave up after ${attempt} tries (last: ${why}); run the same command again to resume`);
      const delay = Math.min(cap, retryAfterMs ?? base * 2 ** (attempt - 1));
      opts.onRetry?.(why, delay);
      await sleep(delay);
    }
  }

  return {
    counts: 'accepted',
    async write(events) {
      let items: string[] = [];
      let bytes = 0;
      for (const e of events) {
        const item = JSON.stringify(toSegmentCall(e, opts.idPrefixOf(e.source)));
        const size = Buffer.byteLength(item) + 1;
        if (items.length > 0 && (bytes + size > BATCH_BYTES || items.length >= BATCH_EVENTS)) {
          await send(items);
          items = [];
          bytes = 0;
        }
        items.push(item);
        bytes += size;
      }
      if (items.length > 0) await send(items);
      return { stored: events.length, duplicates: 0 };
    },
    close: async () => {},
  };
}
