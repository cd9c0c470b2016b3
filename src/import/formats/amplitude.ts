/**
 * Amplitude Export API: a zip of `<project>_<yyyy-MM-dd>_<H>#<n>.json.gz`, JSON lines with
 * `event_type`, `user_id` / `device_id`, `event_time` (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`;
 * else `client_event_time`, else `server_received_time`), `$insert_id` / `uuid`, and
 * `groups: {<type>: [ids]}`, read with --group-type. A `session_id` (ms, -1 for none) is
 * the session. Amplitude's own identity and session markers are not activity.
 */
import { MappingError, firstId, idOf, isoTime, own, type Format } from './format.js';

const NOT_ACTIVITY = new Set(['$identify', '$groupidentify', 'session_start', 'session_end']);

export const amplitude: Format = {
  name: 'amplitude',
  title: 'Amplitude export',
  framing: 'jsonl',
  namespace: 'amplitude',
  detect: (r) => typeof own(r, 'event_type') === 'string' && ('user_id' in r || 'device_id' in r),
  toCall(r, opts) {
    const event = own(r, 'event_type');
    if (typeof event !== 'string' || event.trim() === '') throw new MappingError('event_type: missing');
    if (NOT_ACTIVITY.has(event)) return { ignore: `${event} is Amplitude bookkeeping, not activity` };
    const userId = idOf(own(r, 'user_id'), 'user_id');
    const deviceId = idOf(own(r, 'device_id'), 'device_id');
    if (userId === null && deviceId === null) throw new MappingError('user_id: missing, and no device_id either (every event needs a person)');
    const timeField = ['event_time', 'client_event_time', 'server_received_time'].find((f) => own(r, f) !== undefined && own(r, f) !== null && own(r, f) !== '');
    if (!timeField) throw new MappingError('event_time: missing (and no client_event_time or server_received_time)');
    const call: Record<string, unknown> = { type: 'track', event, timestamp: isoTime(own(r, timeField), timeField) };
    if (userId !== null) call.userId = userId;
    else call.anonymousId = deviceId;
    const id = idOf(own(r, '$insert_id'), '$insert_id') ?? idOf(own(r, 'insert_id'), 'insert_id') ?? idOf(own(r, 'uuid'), 'uuid');
    if (id !== null) call.messageId = id;
    const context: Record<string, unknown> = {};
    const company = opts.groupType ? firstId(own(own(r, 'groups'), opts.groupType), `groups.${opts.groupType}`) : null;
    if (company !== null) context.groupId = company;
    const session = own(r, 'session_id');
    if (typeof session === 'number' && session > 0) context.sessionId = String(session);
    if (Object.keys(context).length > 0) call.context = context;
    return { call };
  },
};
