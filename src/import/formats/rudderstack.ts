/**
 * RudderStack S3 backups: `rudder-logs/<source-id>/<date>/<ts>.<source-id>.<uuid>.json.gz`,
 * gzipped JSON lines of Segment-like messages (with a `rudderId`); read exactly as Segment's.
 */
import type { Format } from './format.js';
import { isRudder, looksLikeSegment, segmentCall } from './segment.js';

export const rudderstack: Format = {
  name: 'rudderstack',
  title: 'RudderStack backup',
  framing: 'jsonl',
  namespace: 'live',
  detect: (r) => looksLikeSegment(r) && isRudder(r),
  toCall: (r) => segmentCall(r),
};
