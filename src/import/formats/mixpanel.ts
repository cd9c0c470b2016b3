/**
 * Mixpanel raw export (`/api/2.0/export`): JSON lines `{event, properties: {time,
 * distinct_id, $insert_id, ...}}`. `time` is in seconds, or ms when above 1e10: of UTC, or, for
 * a project whose export gives its own wall clock (Mixpanel: projects created before 2023),
 * of the time zone --project-timezone names. The company
 * is the property named by --group-property, a string or a list (its first id).
 * Identity bookkeeping ($identify, $create_alias, $merge) is not activity and is left out.
 */
import { MappingError, firstId, idOf, isObject, isoTime, own, type Format } from './format.js';

const IDENTITY_EVENTS = new Set(['$identify', '$create_alias', '$merge']);

export const mixpanel: Format = {
  name: 'mixpanel',
  title: 'Mixpanel export',
  framing: 'jsonl',
  namespace: 'mixpanel',
  detect: (r) => typeof own(r, 'event') === 'string' && isObject(own(r, 'properties')) && !('type' in r) && ('distinct_id' in (r.properties as object) || 'time' in (r.properties as object)),
  toCall(r, opts) {
    const props = own(r, 'properties');
    if (!isObject(props)) throw new MappingError('properties: must be an object');
    const event = own(r, 'event');
    if (typeof event !== 'string' || event.trim() === '') throw new MappingError('event: missing');
    if (IDENTITY_EVENTS.has(event)) return { ignore: `${event} is identity bookkeeping, not activity` };
    const person = idOf(own(props, 'distinct_id'), 'properties.distinct_id');
    if (person === null) throw new MappingError('properties.distinct_id: missing (every event needs a person)');
    const time = own(props, 'time');
    if (time === undefined || time === null) throw new MappingError('properties.time: missing');
    const call: Record<string, unknown> = {
      type: 'track',
      event,
      userId: person,
      timestamp: isoTime(time, 'properties.time', opts.projectTimeZone ?? null),
    };
    const id = idOf(own(props, '$insert_id'), 'properties.$insert_id');
    if (id !== null) call.messageId = id;
    const company = opts.groupProperty ? firstId(own(props, opts.groupProperty), `properties.${opts.groupProperty}`) : null;
    if (company !== null) call.context = { groupId: company };
    return { call };
  },
};
