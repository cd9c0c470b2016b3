/**
 * The Segment HTTP Tracking API on the bot's own server (Bolt customRoutes).
 * Transport only: read and bound the body, authenticate, parse, hand the events
 * to ingestEvents, map the outcome to Segment's answers:
 *   200 {"success":true} once committed; 400 for a body Segment would refuse
 *   (its clients do not retry a 400); 401 for an unknown key; 503 when the
 *   database does not answer (its clients retry).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
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
  /** For tests: the receive time. */
  now?: () => Date;
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
    try {
      if (keyDigests.length === 0) {
        drain(req);
        throw new HttpError(401, 'ingestion is off: set INGEST_WRITE_KEYS to the write keys your sources use');
      }
      const raw = await readBody(req, limit);
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
    }
  };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
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

/** Read the whole body, inflating gzip/deflate, refusing it past `limit` bytes (inflated). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let stream: Readable = req;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = req.pipe(createGunzip());
  else if (encoding === 'deflate') stream = req.pipe(createInflate());
  else if (encoding !== 'identity' && encoding !== '') {
    drain(req);
    throw new HttpError(400, `Content-Encoding ${encoding.slice(0, 20)} is not supported: send gzip or none`);
  }
  const declared = Number(req.headers['content-length']);
  if (stream === req && Number.isFinite(declared) && declared > limit) {
    drain(req);
    throw new HttpError(400, `the request is over ${limit / 1024} KB`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        if (stream !== req) stream.destroy();
        drain(req);
        throw new HttpError(400, `the request is over ${limit / 1024} KB${stream !== req ? ' once inflated' : ''}`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, stream !== req ? 'the body is not valid gzip' : 'the body could not be read');
  }
  return Buffer.concat(chunks);
}

/** Let the rest of a refused body flow away (bounded), so the client reads our answer. */
function drain(req: IncomingMessage): void {
  let left = 8 * 1024 * 1024;
  req.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.destroy();
  });
  req.resume();
}
