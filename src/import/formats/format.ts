/**
 * What a vendor format is (the importer's third layer): one file per vendor maps its record
 * to a Segment-shaped call, which then goes through the same validation as the HTTP API.
 * A new vendor is one new file here, listed in index.ts.
 */
export type Json = Record<string, unknown>;

export type FormatName = 'segment' | 'rudderstack' | 'mixpanel' | 'amplitude' | 'posthog' | 'csv';

export interface FormatOptions {
  /** Mixpanel: the event property holding the company (--group-property). */
  groupProperty: string | null;
  /** Amplitude and PostHog: the group type holding the company (--group-type). */
  groupType: string | null;
  /**
   * Mixpanel: the project's time zone (--project-timezone), for projects whose export gives
   * `time` as seconds of the project's wall clock rather than of UTC; null: UTC.
   */
  projectTimeZone?: string | null;
  /** CSV: column -> field (--map). */
  map: Readonly<Record<string, string>>;
}

/** What one record becomes: a Segment call, or nothing with the reason (not an error: e.g. identity bookkeeping). */
export type Mapped = { call: Json } | { ignore: string };

export interface Format {
  name: FormatName;
  /** Shown in messages and the summary. */
  title: string;
  framing: 'jsonl' | 'csv';
  /**
   * The dedup namespace: 'live' shares the write key's namespace with live traffic (the
   * same messageIds); anything else is a fixed namespace of its own.
   */
  namespace: 'live' | 'mixpanel' | 'amplitude' | 'posthog';
  /** Does a parsed JSON record look like this format? (CSV is recognised by its framing.) */
  detect(record: Json): boolean;
  /** Map one record; throws MappingError naming the field and the fix. */
  toCall(record: Json, opts: FormatOptions): Mapped;
}

/** A record this format cannot map; the message names the field. */
export class MappingError extends Error {}

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function own(o: unknown, key: string): unknown {
  return isObject(o) && Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** A string or number id, or null when absent or empty. */
export function idOf(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new MappingError(`${field}: must be a string`);
  const s = v.trim();
  return s.length > 0 ? s : null;
}

/** The first id of a value that may be a list (Mixpanel and Amplitude group properties). */
export function firstId(v: unknown, field: string): string | null {
  if (Array.isArray(v)) {
    for (const x of v) {
      const s = idOf(x, field);
      if (s !== null) return s;
    }
    return null;
  }
  return idOf(v, field);
}

const ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A time as an ISO 8601 string that the validation reads: ISO text (a time with no zone is
 * UTC, as Amplitude, PostHog and warehouse exports write it; a trailing ` UTC` is read),
 * or epoch seconds (milliseconds when above 1e10).
 */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** How far `zone`'s wall clock is ahead of UTC at the instant `utcMs`, in ms. */
function zoneOffset(utcMs: number, zone: string): number {
  let f = zoneFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    zoneFormats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const { type, value } of f.formatToParts(utcMs)) if (type !== 'literal') p[type] = Number(value);
  const wholeSecond = utcMs - (((utcMs % 1000) + 1000) % 1000);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - wholeSecond;
}

/**
 * The instant at which `zone`'s wall clock showed `wallMs` (a wall-clock time written as if it
 * were UTC, as Mixpanel's export of an older project gives `time`). The offset is read at the
 * instant itself (a second pass), so the days around a daylight-saving change come out right;
 * a wall-clock time that occurs twice (the hour the clocks go back) is read as the first.
 */
export function wallClockToUtc(wallMs: number, zone: string): number {
  return wallMs - zoneOffset(wallMs - zoneOffset(wallMs, zone), zone);
}

/** Is `zone` a time zone this runtime knows (IANA name such as America/Los_Angeles, or UTC)? */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function isoTime(v: unknown, field: string, wallClockZone: string | null = null): string {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()))) {
    const n = Number(v);
    const ms = n > 1e10 ? n : n * 1000;
    const d = new Date(Math.round(wallClockZone ? wallClockToUtc(ms, wallClockZone) : ms));
    if (!Number.isFinite(d.getTime())) throw new MappingError(`${field}: is not a time`);
    return d.toISOString();
  }
  if (typeof v !== 'string' || v.trim() === '') throw new MappingError(`${field}: must be a time (ISO 8601 or epoch seconds)`);
  let s = v.trim().replace(/\s+UTC$/i, 'Z');
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s) && !ZONE.test(s)) s = `${s}Z`;
  // Offsets written +0000 or +00 become +00:00, which every reader takes.
  s = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/ ([+-]\d{2}:\d{2})$/, '$1');
  return s.replace(' ', 'T');
}
