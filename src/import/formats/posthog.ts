/**
 * PostHog batch exports (JSON lines, possibly gzip): `uuid`, `event`, `distinct_id`,
 * `timestamp`, and the company in `properties.$groups: {<type>: key}`, read with
 * --group-type. `$pageview` is a page, `$screen` a screen, `$identify` an identify (its
 * `$set` are the person's traits), `$groupidentify` of that group type a group call (its
 * `$group_set` are the company's traits); `$session_id` is the session.
 */
import { MappingError, idOf, isObject, isoTime, own, type Format, type Json } from './format.js';

const IDENTITY_EVENTS = new Set(['$set', '$create_alias', '$merge_dangerously']);

export const posthog: Format = {
  name: 'posthog',
  title: 'PostHog export',
  framing: 'jsonl',
  namespace: 'posthog',
  detect: (r) => typeof own(r, 'event') === 'string' && 'distinct_id' in r && ('uuid' in r || 'timestamp' in r),
  toCall(r, opts) {
    const event = own(r, 'event');
    if (typeof event !== 'string' || event.trim() === '') throw new MappingError('event: missing');
    if (IDENTITY_EVENTS.has(event)) return { ignore: `${event} is identity bookkeeping, not activity` };
    const person = idOf(own(r, 'distinct_id'), 'distinct_id');
    if (person === null) throw new MappingError('distinct_id: missing (every event needs a person)');
    const ts = own(r, 'timestamp');
    if (ts === undefined || ts === null) throw new MappingError('timestamp: missing');
    const props = isObject(own(r, 'properties')) ? (r.properties as Json) : {};
    const call: Json = { userId: person, timestamp: isoTime(ts, 'timestamp') };
    const id = idOf(own(r, 'uuid'), 'uuid');
    if (id !== null) call.messageId = id;
    const context: Json = {};
    if (event === '$groupidentify') {
      if (!opts.groupType || own(props, '$group_type') !== opts.groupType) return { ignore: '$groupidentify of another group type' };
      call.type = 'group';
      call.groupId = idOf(own(props, '$group_key'), 'properties.$group_key');
      call.traits = isObject(own(props, '$group_set')) ? props.$group_set : {};
    } else {
      if (event === '$pageview') call.type = 'page';
      else if (event === '$screen') {
        call.type = 'screen';
        if (typeof own(props, '$screen_name') === 'string') call.name = props.$screen_name;
      } else if (event === '$identify') {
        call.type = 'identify';
        call.traits = isObject(own(props, '$set')) ? props.$set : {};
      } else {
        call.type = 'track';
        call.event = event;
      }
      const company = opts.groupType ? idOf(own(own(props, '$groups'), opts.groupType), `properties.$groups.${opts.groupType}`) : null;
      if (company !== null) context.groupId = company;
      const session = idOf(own(props, '$session_id'), 'properties.$session_id');
      if (session !== null && call.type !== 'identify') context.sessionId = session;
    }
    if (Object.keys(context).length > 0) call.context = context;
    return { call };
  },
};
