/**
 * Segment archives: the Amazon S3 / AWS S3 destination writes
 * `segment-logs/<source-id>/<received-day-ms>/*.gz`, gzipped JSON lines, one full Segment
 * message a line, of every call type. The message is the call; its `timestamp` is already
 * corrected for clock skew by Segment, so `sentAt` is set aside (correcting twice would
 * move the event). With no `timestamp`, the time Segment received it.
 */
import { CALL_TYPES } from '../../ingest/segment.js';
import { isObject, own, type Format, type Json, type Mapped } from './format.js';

const TYPES = new Set<string>([...CALL_TYPES, 'alias']);

export function looksLikeSegment(r: Json): boolean {
  const type = own(r, 'type');
  return typeof type === 'string' && TYPES.has(type) && ('userId' in r || 'anonymousId' in r || 'messageId' in r);
}

/** A Segment-shaped message as the call the HTTP API would have taken. */
export function segmentCall(r: Json): Mapped {
  if (own(r, 'type') === 'alias') return { ignore: 'alias calls change nothing (identities are not merged)' };
  // Read as a history, not a request just sent: no clock-skew correction by sentAt. Set to
  // undefined rather than deleted: a deleted property turns the copy into a slow dictionary.
  const call: Json = { ...r, sentAt: undefined };
  if (call.timestamp === undefined || call.timestamp === null) {
    const fallback = own(r, 'receivedAt') ?? own(r, 'originalTimestamp');
    if (fallback !== undefined) call.timestamp = fallback;
  }
  if (isObject(call.context) === false) delete call.context;
  return { call };
}

export const segmentArchive: Format = {
  name: 'segment',
  title: 'Segment archive',
  framing: 'jsonl',
  namespace: 'live',
  detect: (r) => looksLikeSegment(r) && !isRudder(r),
  toCall: (r) => segmentCall(r),
};

/** RudderStack marks its messages (rudderId, its library name). */
export function isRudder(r: Json): boolean {
  if ('rudderId' in r) return true;
  const lib = own(own(r, 'context'), 'library');
  const name = own(lib, 'name');
  return typeof name === 'string' && /rudder/i.test(name);
}
