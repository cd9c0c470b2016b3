/**
 * The Segment HTTP Tracking API on the bot's own server (Bolt customRoutes).
 * Transport only: read and bound the body, authenticate, parse, hand the events
 * to ingestEvents, map the outcome to Segment's answers:
 *   200 {"success":true} once committed; 400 for a body Segment would refuse
 *   (its clients do not retry a 400); 401 for an unknown key; 503 when the
 *   database does not answer (its clients retry), and when the bytes of ingestion
 *   requests in flight are at their cap (IngestBudget).
 *
 * A refused body (over its limit, inflated or not) is answered at once and the rest
 * of it is read and dropped, so the kept-alive connection stays usable for the
 * client's next request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Db } from '../db/client.js';
import type { Logger } from '../log.js';
import { LIMITS, parseRequest, SpecError, type CallType } from './segment.js';
import { ingestEvents } from './store.js';

export interface IngestDeps {
  db: Db;
  writeKeys: string[];
  keyActions: string[];
  groupKeyPath: string[] | null;
  log: Logger;
  /** The bytes in flight, shared by every ingestion route of one server. */
  budget: IngestBudget;
  /** For tests: the receive time. */
  now?: () => Date;
}

/**
 * The cap on the bytes of ingestion requests in flight (read, or being parsed and
 * stored). JSON.parse and the statements built from a batch take about 7 times its
 * bytes; at this cap, with the heap limit `npm start` sets (package.json), the process
 * stays under 512 MB whatever the burst (measured: docs/operations.md, "Hostile input").
 * Beyond it a request gets 503 with Retry-After, which Segment's SDKs retry. Write keys
 * ship in browser snippets, so anyone can send.
 */
export const INGEST_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/** Seconds a client is asked to wait when the cap is reached. */
export const INGEST_RETRY_AFTER_S = 2;
/** The most of a refused body read and dropped to keep its connection usable; past it, the connection is closed. */
const DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of ingestion requests in flight. A request reserves what it may hold (its
 * Content-Length, or its limit when the length is not known beforehand: chunked or
 * compressed) before its body is read, and releases it when its handler ends, on every
 * path (answered, refused, failed, or the client gone).
 */
export class IngestBudget {
  private held = 0;
  constructor(public readonly capBytes: number = INGEST_IN_FLIGHT_BYTES) {}
  /** Bytes reserved now. */
  get inFlight(): number {
    return this.held;
  }
  /** Reserve `bytes`, or false when that would pass the cap (one request alone is always let in). */
  tryReserve(bytes: number): boolean {
    if (this.held > 0 && this.held + bytes > this.capBytes) return false;
    this.held += bytes;
    return true;
  }
  release(bytes: number): void {
    this.held -= bytes;
  }
}

export const INGEST_PATHS: readonly (CallType | 'alias' | 'batch')[] = ['track', 'identify', 'group', 'page', 'screen', 'alias', 'batch'];

class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The dedup namespace (`messages.source`) of a write key: a digest of it, never the key. Shared with `npm run import`. */
export function sourceOfWriteKey(key: string): string {
  return digest(`leadmaps:${key}`).toString('hex').slice(0, 24);
}

export function createIngestHandler(endpoint: CallType | 'alias' | 'batch', deps: IngestDeps) {
  const keyDigests = deps.writeKeys.map((k) => ({ d: digest(k), source: sourceOfWriteKey(k) }));
  const keyActions = new Set(deps.keyActions);
  const limit = endpoint === 'batch' ? LIMITS.batchBytes : LIMITS.eventBytes;

  /** The source id of a known write key, compared in constant time; null when unknown. */
  const sourceOf = (key: string | null): string | null => {
    if (key === null) return null;
    const d = digest(key);
    let found: string | null = null;
    for (const k of keyDigests) if (timingSafeEqual(d, k.d)) found = k.source;
    return found;
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = deps.now?.() ?? new Date();
    if (keyDigests.length === 0) {
      drain(req);
      return answer(res, 401, { success: false, error: 'ingestion is off: set INGEST_WRITE_KEYS to the write keys your sources use' });
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    const declared = req.headers['content-length'] === undefined ? NaN : Number(req.headers['content-length']);
    const identity = encoding === 'identity' || encoding === '';
    if (identity && Number.isFinite(declared) && declared > limit) {
      drain(req);
      return answer(res, 400, { success: false, error: `the request is over ${limit / 1024} KB` });
    }
    // What this request may hold, reserved before a byte of its body is read.
    const reserved = identity && Number.isFinite(declared) && declared >= 0 ? declared : limit;
    if (!deps.budget.tryReserve(reserved)) {
      // Not read into memory: dropped as it arrives, so the client reads the 503 and retries.
      drain(req);
      deps.log.debug('ingestion at its in-flight cap; answered 503', { endpoint, inFlight: deps.budget.inFlight });
      return answer(res, 503, { success: false, error: 'too many requests in flight; retry later' }, { 'retry-after': String(INGEST_RETRY_AFTER_S) });
    }
    try {
      const raw = await readBody(req, encoding, limit);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'the body is not valid JSON');
      }
      const source = sourceOf(basicUser(req.headers.authorization) ?? bodyKey(body));
      if (source === null) {
        throw new HttpError(401, 'unknown or missing write key: send it as the HTTP Basic user name (empty password) or as writeKey in the body');
      }
      let events;
      try {
        if (endpoint === 'batch') checkEventSizes(body);
        events = parseRequest(body, { endpoint, receivedAt, groupKeyPath: deps.groupKeyPath });
      } catch (err) {
        if (err instanceof HttpError || err instanceof SpecError) throw err;
        // Hostile shapes (nesting past the stack, say) are the request's fault, never a 5xx.
        throw new HttpError(400, 'the request could not be read as Segment events');
      }
      const result = await ingestEvents(deps.db, events, { source, keyActions });
      deps.log.debug('ingested', { endpoint, stored: result.stored, duplicates: result.duplicates });
      answer(res, 200, { success: true });
    } catch (err) {
      if (err instanceof HttpError) return answer(res, err.status, { success: false, error: err.message });
      if (err instanceof SpecError) return answer(res, 400, { success: false, error: err.message });
      deps.log.error('ingestion could not store a request; answered 503 so the client retries', { endpoint, error: err });
      answer(res, 503, { success: false, error: 'the database is not answering; retry later' });
    } finally {
      deps.budget.release(reserved);
    }
  };
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function basicUser(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = i >= 0 ? decoded.slice(0, i) : decoded;
  return user.length > 0 ? user : null;
}

function bodyKey(body: unknown): string | null {
  if (typeof body === 'object' && body !== null && Object.prototype.hasOwnProperty.call(body, 'writeKey')) {
    const k = (body as { writeKey?: unknown }).writeKey;
    return typeof k === 'string' && k.length > 0 ? k : null;
  }
  return null;
}

function checkEventSizes(body: unknown): void {
  const batch = (body as { batch?: unknown })?.batch;
  if (!Array.isArray(batch)) return;
  batch.forEach((item, i) => {
    if (Buffer.byteLength(JSON.stringify(item) ?? '') > LIMITS.eventBytes) {
      throw new HttpError(400, `batch[${i}]: the event is over ${LIMITS.eventBytes / 1024} KB`);
    }
  });
}

/**
 * Read the whole body, inflating gzip/deflate, refusing it past `limit` bytes (inflated).
 * Event listeners, not `for await`: leaving an async iterator early destroys the request,
 * and with it the kept-alive connection, before the client has read the 400.
 */
function readBody(req: IncomingMessage, encoding: string, limit: number): Promise<Buffer> {
  let inflate: Transform | null = null;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflate = createGunzip();
  else if (encoding === 'deflate') inflate = createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    drain(req);
    return Promise.reject(new HttpError(400, `Content-Encoding ${encoding.slice(0, 20)} is not supported: send gzip or none`));
  }
  const source = inflate ?? req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: HttpError | null) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onSourceError);
      req.off('error', onReqError);
      req.off('close', onReqClose);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    /** Stop holding the body; let the rest of it flow away, so the connection stays usable. */
    const refuse = (err: HttpError) => {
      settle(err);
      chunks.length = 0;
      if (inflate) {
        req.unpipe(inflate);
        inflate.on('error', () => {});
        inflate.destroy();
      }
      drain(req);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) refuse(new HttpError(400, `the request is over ${limit / 1024} KB${inflate ? ' once inflated' : ''}`));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    const onSourceError = () => (inflate ? refuse(new HttpError(400, 'the body is not valid gzip')) : settle(new HttpError(400, 'the body could not be read')));
    const onReqError = () => settle(new HttpError(400, 'the body could not be read'));
    // The client went away before sending all of it (the answer goes nowhere; the bytes are released).
    const onReqClose = () => {
      if (!req.complete) settle(new HttpError(400, 'the connection closed before the body was complete'));
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onSourceError);
    if (inflate) req.on('error', onReqError);
    req.on('close', onReqClose);
    if (inflate) req.pipe(inflate);
  });
}

/**
 * Let the rest of a refused body flow away unread, so the client reads our answer and
 * can send its next request on the same connection; past DRAIN_BYTES the connection is closed.
 */
function drain(req: IncomingMessage): void {
  let left = DRAIN_BYTES;
  req.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
