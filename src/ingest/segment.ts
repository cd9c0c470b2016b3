/**
 * Segment's HTTP Tracking API, as data: validate a request body and turn each
 * call into a normalised event. Pure: the caller passes the receive time.
 *
 * A request is all or nothing: the first event that breaks the spec refuses the
 * whole request with a message naming its index and field, as Segment and its
 * neighbours (RudderStack, PostHog) do.
 */

export type CallType = 'track' | 'identify' | 'group' | 'page' | 'screen';
export const CALL_TYPES: readonly CallType[] = ['track', 'identify', 'group', 'page', 'screen'];

/** Activity calls count as events; identify and group only describe people and companies. */
export const ACTIVITY_TYPES: ReadonlySet<CallType> = new Set(['track', 'page', 'screen']);

export interface SegmentEvent {
  type: CallType;
  /** null when the client sent none (then the event cannot be deduplicated). */
  messageId: string | null;
  /** userId, else `anon:` + anonymousId. */
  personId: string;
  userId: string | null;
  /** Event time, corrected for the client's clock skew. */
  time: Date;
  /** track: the event name; page/screen: the page name, if any. */
  name: string | null;
  /** The company this event names itself (group key rules 1 to 3), or the group call's groupId. */
  companyKey: string | null;
  /** A company name this event carries (group traits.name, identify traits.company.name). */
  companyName: string | null;
  /** group: the company's traits. */
  companyTraits: Record<string, unknown> | null;
  /** identify (or context.traits): the person's traits. */
  personTraits: Record<string, unknown> | null;
  /** properties.session_id or context.sessionId, when sent. */
  sessionId: string | null;
}

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

export interface ParseOptions {
  /** The URL's call type; 'batch' for /v1/batch. */
  endpoint: CallType | 'alias' | 'batch';
  receivedAt: Date;
  /** GROUP_KEY_PATH, split on dots. */
  groupKeyPath: string[] | null;
}

export const LIMITS = {
  /** A single call, or one event inside a batch. */
  eventBytes: 32 * 1024,
  /** A whole batch request. */
  batchBytes: 500 * 1024,
  /** The longest id or name we keep; longer is refused, not truncated, so two ids never collide. */
  idChars: 1024,
} as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own property only: a `__proto__` or `constructor` key in data is just data. */
function own(o: unknown, key: string): unknown {
  return isObject(o) && Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

export function valueAtPath(o: unknown, path: readonly string[]): unknown {
  let v: unknown = o;
  for (const key of path) {
    v = own(v, key);
    if (v === undefined) return undefined;
  }
  return v;
}

/**
 * Parse a request body (already JSON-decoded) into events, or throw SpecError.
 * Returns the write key found in the body, if any, for auth.
 */
export function parseRequest(body: unknown, opts: ParseOptions): SegmentEvent[] {
  if (!isObject(body)) throw new SpecError('the body must be a JSON object');
  if (opts.endpoint === 'alias') {
    checkAlias(body, '');
    return [];
  }
  if (opts.endpoint !== 'batch') {
    return [parseEvent(body, opts.endpoint, '', opts, undefined, own(body, 'sentAt'))];
  }
  const batch = own(body, 'batch');
  if (!Array.isArray(batch)) throw new SpecError('batch: must be an array of events');
  const sharedContext = own(body, 'context');
  if (sharedContext !== undefined && !isObject(sharedContext)) throw new SpecError('context: must be an object');
  const sentAt = own(body, 'sentAt');
  const events: SegmentEvent[] = [];
  batch.forEach((item, i) => {
    if (!isObject(item)) throw new SpecError(`batch[${i}]: must be an object`);
    const type = own(item, 'type');
    if (type === 'alias') {
      checkAlias(item, `batch[${i}].`);
      return;
    }
    if (typeof type !== 'string' || !(CALL_TYPES as readonly string[]).includes(type)) {
      throw new SpecError(
        `batch[${i}].type: must be one of ${[...CALL_TYPES, 'alias'].join(', ')}${typeof type === 'string' ? ` (got "${clip(type)}")` : ''}`,
      );
    }
    events.push(parseEvent(item, type as CallType, `batch[${i}].`, opts, sharedContext as Json | undefined, sentAt));
  });
  return events;
}

/**
 * An `alias` (previousId -> userId) is a valid Segment call that SDKs put in batches; a 400
 * for it would make them drop the whole batch. It is checked and accepted, and changes
 * nothing: counts are per person id as sent, and identities are not merged.
 */
function checkAlias(raw: Json, at: string): void {
  if (id(raw, 'userId', at) === null) throw new SpecError(`${at}userId: an alias needs the userId`);
  if (id(raw, 'previousId', at) === null) throw new SpecError(`${at}previousId: an alias needs the previousId`);
}

function parseEvent(
  raw: Json,
  type: CallType,
  at: string,
  opts: ParseOptions,
  sharedContext: Json | undefined,
  outerSentAt: unknown,
): SegmentEvent {
  let context = own(raw, 'context');
  if (context !== undefined && context !== null && !isObject(context)) throw new SpecError(`${at}context: must be an object`);
  if (sharedContext) context = { ...sharedContext, ...((context as Json | undefined) ?? {}) };
  const ctx = (context ?? undefined) as Json | undefined;

  const userId = id(raw, 'userId', at);
  const anonymousId = id(raw, 'anonymousId', at);
  if (userId === null && anonymousId === null) {
    throw new SpecError(`${at}userId: every call needs a userId or an anonymousId`);
  }

  let name: string | null = null;
  if (type === 'track') {
    name = text(raw, 'event', at);
    if (name === null) throw new SpecError(`${at}event: a track call needs an event name`);
  } else if (type === 'page' || type === 'screen') {
    name = text(raw, 'name', at);
  }

  const properties = objectField(raw, 'properties', at);
  const traits = objectField(raw, 'traits', at);
  const ctxTraits = ctx ? objectField(ctx, 'traits', `${at}context.`) : null;

  const timestamp = time(raw, 'timestamp', at);
  const sentAtRaw = own(raw, 'sentAt') !== undefined ? own(raw, 'sentAt') : outerSentAt;
  const sentAtField = own(raw, 'sentAt') !== undefined ? `${at}sentAt` : 'sentAt';
  const sentAt = sentAtRaw === undefined || sentAtRaw === null ? null : parseTime(sentAtRaw, sentAtField);
  const eventTime = checkEventTime(timestamp, sentAt, opts.receivedAt, { timestamp: `${at}timestamp`, sentAt: sentAtField });

  let companyKey: string | null;
  let companyName: string | null = null;
  let companyTraits: Json | null = null;
  if (type === 'group') {
    companyKey = id(raw, 'groupId', at);
    if (companyKey === null) throw new SpecError(`${at}groupId: a group call needs a groupId`);
    companyTraits = cleanTraits(traits ?? {}) as Json;
    companyName = stringOrNull(own(companyTraits, 'name'));
  } else {
    companyKey =
      idValue(ctx ? own(ctx, 'groupId') : undefined, `${at}context.groupId`) ??
      (opts.groupKeyPath ? idValue(valueAtPath(raw, opts.groupKeyPath), `${at}${opts.groupKeyPath.join('.')}`) : null) ??
      (type === 'identify' ? idValue(valueAtPath(traits, ['company', 'id']), `${at}traits.company.id`) : null) ??
      idValue(valueAtPath(ctxTraits, ['company', 'id']), `${at}context.traits.company.id`);
    companyName =
      stringOrNull(type === 'identify' ? valueAtPath(traits, ['company', 'name']) : undefined) ??
      stringOrNull(valueAtPath(ctxTraits, ['company', 'name']));
    if (companyName !== null && companyKey === null) companyName = null; // a name with no key names nothing
  }

  const personTraits = type === 'identify' ? (cleanTraits(traits ?? {}) as Json) : null;

  const sessionId =
    idValue(own(properties, 'session_id'), `${at}properties.session_id`) ??
    idValue(ctx ? own(ctx, 'sessionId') : undefined, `${at}context.sessionId`);

  return {
    type,
    messageId: id(raw, 'messageId', at),
    personId: userId !== null ? userId : `anon:${anonymousId}`,
    userId,
    time: eventTime,
    name,
    companyKey,
    companyName,
    companyTraits,
    personTraits: personTraits ?? (ctxTraits && (own(ctxTraits, 'name') || own(ctxTraits, 'email')) ? (cleanTraits(pick(ctxTraits)) as Json) : null),
    sessionId,
  };
}

/** Segment: timestamp = receivedAt - (sentAt - timestamp). No timestamp: the time received. */
export function correctSkew(timestamp: Date | null, sentAt: Date | null, receivedAt: Date): Date {
  if (timestamp === null) return receivedAt;
  if (sentAt === null) return timestamp;
  return new Date(receivedAt.getTime() - (sentAt.getTime() - timestamp.getTime()));
}

function pick(t: Json): Json {
  const out: Json = {};
  for (const k of ['name', 'email'] as const) if (own(t, k) !== undefined) out[k] = own(t, k);
  return out;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function stringOrNull(v: unknown): string | null {
  if (typeof v === 'string') {
    const s = (cleanTraits(v) as string).trim();
    return s.length > 0 && s.length <= LIMITS.idChars ? s : null;
  }
  return null;
}

/** An id: a non-empty string (or a finite number, as Segment's clients sometimes send). */
function idValue(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new SpecError(`${field}: must be a string`);
  const s = v.trim();
  if (s.length === 0) return null;
  if (s.length > LIMITS.idChars) throw new SpecError(`${field}: longer than ${LIMITS.idChars} characters`);
  if (hasLoneSurrogate(s)) throw new SpecError(`${field}: is not valid Unicode`);
  return s;
}

function id(o: Json, key: string, at: string): string | null {
  return idValue(own(o, key), `${at}${key}`);
}

function text(o: Json, key: string, at: string): string | null {
  const v = own(o, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new SpecError(`${at}${key}: must be a string`);
  const s = v.trim();
  if (s.length === 0) return null;
  if (s.length > LIMITS.idChars) throw new SpecError(`${at}${key}: longer than ${LIMITS.idChars} characters`);
  if (hasLoneSurrogate(s)) throw new SpecError(`${at}${key}: is not valid Unicode`);
  return s;
}

function objectField(o: Json, key: string, at: string): Json | null {
  const v = own(o, key);
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new SpecError(`${at}${key}: must be an object`);
  return v;
}

function time(o: Json, key: string, at: string): Date | null {
  const v = own(o, key);
  if (v === undefined || v === null) return null;
  return parseTime(v, `${at}${key}`);
}

/**
 * ISO 8601 as Segment's clients send it: a date, optionally a time (T or a space, then
 * hh:mm, optional :ss and fraction) and an offset (Z, ±hh:mm or ±hhmm). No offset means UTC.
 * Strict: every field must be in range for its calendar (no 2026-02-30, no 24:61), where
 * `new Date` would silently roll it over into the next day or month.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$/;
const ISO_EXAMPLE = 'an ISO 8601 date such as 2026-11-29T09:30:00.000Z';

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysInMonth = (year: number, month: number) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];

/** The two digits at `i` of `s` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The form nearly every SDK sends, `YYYY-MM-DDTHH:MM:SS.sssZ` (toISOString's) or without the
 * milliseconds, in epoch ms, read by its character codes: several times faster than the regular
 * expression, which reads everything else. null for any other string, or a value out of range
 * (parseTime then reads it the slow way, and names the problem). Years before 1000 go the slow
 * way too. (No closure inside: this runs for every event.)
 */
function canonicalUtcMs(s: string): number | null {
  const n = s.length;
  if ((n !== 24 && n !== 20) || s.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  let ms = 0;
  if (n === 24) {
    if (s.charCodeAt(19) !== 46) return null;
    const hi = twoDigits(s, 20);
    const lo = s.charCodeAt(22) - 48;
    if (hi < 0 || lo < 0 || lo > 9) return null;
    ms = hi * 10 + lo;
  }
  const century = twoDigits(s, 0);
  const yy = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  const second = twoDigits(s, 17);
  if (century < 10 || yy < 0 || day < 1 || hour < 0 || minute < 0 || second < 0 || month < 1 || month > 12) return null;
  const year = century * 100 + yy;
  if (day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/**
 * Parse an ISO 8601 time strictly, or throw SpecError naming `field`. Exported for the
 * history importer, which reads the same times from files.
 */
export function parseTime(v: unknown, field: string): Date {
  if (typeof v === 'string') {
    const fast = canonicalUtcMs(v);
    if (fast !== null) return new Date(fast);
  }
  return parseTimeByPattern(v, field);
}

/** parseTime by the regular expression alone (every form; exported to test the fast form against it). */
export function parseTimeByPattern(v: unknown, field: string): Date {
  const s = typeof v === 'string' ? v.trim() : null;
  const m = s === null ? null : ISO_8601.exec(s);
  if (s === null || m === null) throw new SpecError(`${field}: must be ${ISO_EXAMPLE}`);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? 0 : Number(x)));
  const offH = m[10] === undefined ? 0 : Number(m[10]);
  const offM = m[11] === undefined ? 0 : Number(m[11]);
  const bad =
    month < 1 || month > 12 ? 'month'
    : day < 1 || day > daysInMonth(year, month) ? 'day'
    : hour > 23 ? 'hour'
    : minute > 59 ? 'minute'
    : second > 59 ? 'second'
    : offH > 23 || offM > 59 ? 'offset'
    : null;
  if (bad !== null) throw new SpecError(`${field}: "${clip(s)}" is not a real date and time (its ${bad} is out of range); send ${ISO_EXAMPLE}`);
  const ms = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3)); // to the millisecond, as Date keeps it
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  d.setUTCHours(hour, minute, second, ms);
  const offset = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return new Date(d.getTime() - offset);
}

/**
 * The times an event may carry, after skew correction: from 2000-01-01 (nothing of a
 * product's analytics is older; older is a clock reset to zero) to 24 hours after the
 * request was received (any real clock, in any time zone, sent at once). A time outside is
 * refused, never clamped: a placeholder such as 9999-12-31 would otherwise make a company
 * active forever, and a year PostgreSQL's timestamptz cannot print back would fail the
 * transaction on every retry.
 */
export const EVENT_TIME_WINDOW = {
  earliestMs: Date.UTC(2000, 0, 1),
  aheadMs: 24 * 60 * 60 * 1000,
  text: '2000-01-01 to 24 hours after receipt',
} as const;

/** Whether an event time lies in EVENT_TIME_WINDOW for a request received at `receivedAt`. */
export function eventTimeInWindow(time: Date, receivedAt: Date): boolean {
  const ms = time.getTime();
  return Number.isFinite(ms) && ms >= EVENT_TIME_WINDOW.earliestMs && ms <= receivedAt.getTime() + EVENT_TIME_WINDOW.aheadMs;
}

/**
 * An event's time from its `timestamp` and `sentAt` (either may be null), skew-corrected,
 * or SpecError naming the field the bad time came from: `timestampField` when the
 * timestamp alone is outside the window, `sentAtField` when the correction took it out.
 * Pure: the history importer calls it with the time it reads each file.
 */
export function checkEventTime(
  timestamp: Date | null,
  sentAt: Date | null,
  receivedAt: Date,
  fields: { timestamp: string; sentAt: string },
): Date {
  const time = correctSkew(timestamp, sentAt, receivedAt);
  if (eventTimeInWindow(time, receivedAt)) return time;
  const blame = timestamp !== null && sentAt !== null && eventTimeInWindow(timestamp, receivedAt) ? 'sentAt' : 'timestamp';
  const shown = Number.isFinite(time.getTime()) ? time.toISOString() : 'an impossible time';
  throw new SpecError(
    blame === 'sentAt'
      ? `${fields.sentAt}: the time corrected for clock skew, ${shown}, is outside the accepted window (${EVENT_TIME_WINDOW.text})`
      : `${fields.timestamp}: ${shown} is outside the accepted window (${EVENT_TIME_WINDOW.text})`,
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** PostgreSQL text refuses NUL and unpaired surrogates: an id with either is refused. */
function hasLoneSurrogate(s: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return s.includes('\u0000') || LONE_SURROGATE.test(s);
}

const TRAITS = { depth: 4, keys: 100, chars: 2048 } as const;

/**
 * The bound on a person's or a company's traits as merged across calls (each call is
 * bounded by TRAITS, but merging many calls with fresh keys grew rows to megabytes and
 * made each identify take a second). A merged object keeps at most `keys` top-level keys
 * and `bytes` bytes, counting each key, its value as JSON text and 4 bytes of quotes and
 * separators. Newest keys win: keys are kept newest first while they fit, so the oldest
 * are dropped first. The age order is stored beside the traits (`trait_keys`, oldest
 * first), since jsonb keeps no key order. PostgreSQL applies the same rule to company
 * traits, merged in the upsert (store.ts, boundedTraitsSql).
 */
export const MERGED_TRAITS = { keys: 100, bytes: 16 * 1024 } as const;

/** Traits with their keys oldest first (null: unknown, as for one call's traits or rows written before the order was kept). */
export interface AgedTraits {
  traits: Record<string, unknown>;
  order: readonly string[] | null;
}

/** The keys of `t`, oldest first: keys the order does not name (of unknown age) first, in the object's order. */
function byAge(t: AgedTraits): string[] {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(t.traits, k);
  if (t.order === null) return Object.keys(t.traits);
  const known = new Set(t.order);
  return [...Object.keys(t.traits).filter((k) => !known.has(k)), ...t.order.filter(has)];
}

/** The bytes a key and its value count for in MERGED_TRAITS. */
export const traitEntryBytes = (k: string, v: unknown) => Buffer.byteLength(k) + Buffer.byteLength(JSON.stringify(v) ?? 'null') + 4;

/**
 * `older` updated with `newer` (its values win), bounded by MERGED_TRAITS: keys are kept
 * newest first (`newer`'s, then `older`'s others, each side by its age order) while both
 * the count and the bytes fit; the first that does not fit, and every older key, is dropped.
 * Returns the traits and their keys oldest first.
 */
export function mergeTraits(older: AgedTraits, newer: AgedTraits): { traits: Record<string, unknown>; order: string[] } {
  const fromNewer = byAge(newer);
  const inNewer = new Set(fromNewer);
  const oldestFirst = [...byAge(older).filter((k) => !inNewer.has(k)).map((k) => [k, older.traits[k]] as const), ...fromNewer.map((k) => [k, newer.traits[k]] as const)];
  let keys = 0;
  let bytes = 0;
  let from = oldestFirst.length;
  while (from > 0) {
    const [k, v] = oldestFirst[from - 1];
    const size = traitEntryBytes(k, v);
    if (keys + 1 > MERGED_TRAITS.keys || bytes + size > MERGED_TRAITS.bytes) break;
    keys++;
    bytes += size;
    from--;
  }
  const traits: Record<string, unknown> = {};
  const order: string[] = [];
  for (const [k, v] of oldestFirst.slice(from)) {
    // defineProperty: a `__proto__` key in data is just data.
    Object.defineProperty(traits, k, { value: v, enumerable: true, writable: true, configurable: true });
    order.push(k);
  }
  return { traits, order };
}

/**
 * Traits as stored: what PostgreSQL's jsonb takes (no NUL, no lone surrogate)
 * and bounded in depth, keys and length, so data can never make a row huge.
 */
export function cleanTraits(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') {
    const s = v.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\uFFFD');
    return s.length > TRAITS.chars ? `${s.slice(0, TRAITS.chars)}…` : s;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean' || v === null) return v;
  if (depth >= TRAITS.depth) return null;
  if (Array.isArray(v)) return v.slice(0, TRAITS.keys).map((x) => cleanTraits(x, depth + 1));
  if (isObject(v)) {
    const out: Json = {};
    let n = 0;
    for (const key of Object.keys(v)) {
      if (n++ >= TRAITS.keys) break;
      const k = cleanTraits(key, TRAITS.depth) as string;
      Object.defineProperty(out, k, { value: cleanTraits(v[key], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return null;
}
