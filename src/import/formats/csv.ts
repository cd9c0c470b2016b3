/**
 * CSV with a header. By default a Segment warehouse `tracks` export: `id` (the messageId),
 * `user_id`, `anonymous_id`, `event_text` (the name as sent; else `event`, its slug),
 * `timestamp`, `context_group_id`. Any other CSV reads with --map column=field, which comes
 * before the defaults. A row is a track unless a column mapped to `type` says otherwise.
 */
import { MappingError, idOf, isoTime, type Format, type Json } from './format.js';

/** The fields a column can be mapped to, and what each becomes in the call. */
export const CSV_FIELDS = ['messageId', 'userId', 'anonymousId', 'event', 'timestamp', 'groupId', 'type', 'name', 'sessionId'] as const;
export type CsvField = (typeof CSV_FIELDS)[number];

/** The warehouse `tracks` columns, in the order they are tried. */
export const WAREHOUSE_COLUMNS: readonly (readonly [string, CsvField])[] = [
  ['id', 'messageId'],
  ['message_id', 'messageId'],
  ['user_id', 'userId'],
  ['anonymous_id', 'anonymousId'],
  ['event_text', 'event'],
  ['event', 'event'],
  ['timestamp', 'timestamp'],
  ['received_at', 'timestamp'],
  ['context_group_id', 'groupId'],
  ['group_id', 'groupId'],
];

/** `column=field` pairs into a map, or an error naming the bad pair and the fields. */
export function parseCsvMap(pairs: readonly string[]): Record<string, CsvField> {
  const out: Record<string, CsvField> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const column = i > 0 ? pair.slice(0, i).trim() : '';
    const field = i > 0 ? pair.slice(i + 1).trim() : '';
    if (!column || !(CSV_FIELDS as readonly string[]).includes(field)) {
      throw new MappingError(`--map ${pair}: expected column=field, with field one of ${CSV_FIELDS.join(', ')} (e.g. --map account=groupId)`);
    }
    out[column] = field as CsvField;
  }
  return out;
}

export const csv: Format = {
  name: 'csv',
  title: 'CSV',
  framing: 'csv',
  namespace: 'live',
  detect: () => false,
  toCall(row, opts) {
    const value: Partial<Record<CsvField, string>> = {};
    const column: Partial<Record<CsvField, string>> = {};
    const pairs: (readonly [string, CsvField])[] = [...Object.entries(opts.map as Record<string, CsvField>), ...WAREHOUSE_COLUMNS];
    for (const [col, field] of pairs) {
      if (value[field] !== undefined) continue;
      const v = row[col];
      if (typeof v === 'string' && v.trim() !== '') {
        value[field] = v.trim();
        column[field] = col;
      }
    }
    const type = value.type ?? 'track';
    const call: Json = { type };
    if (value.messageId) call.messageId = value.messageId;
    if (value.userId) call.userId = value.userId;
    if (value.anonymousId) call.anonymousId = value.anonymousId;
    if (!value.userId && !value.anonymousId) throw new MappingError('user_id: empty, and anonymous_id too (every row needs a person; --map COLUMN=userId names another column)');
    if (type === 'track') {
      if (!value.event) throw new MappingError('event: empty (a track needs an event name; --map COLUMN=event names another column)');
      call.event = value.event;
    }
    if (value.name) call.name = value.name;
    if (!value.timestamp) throw new MappingError('timestamp: empty (--map COLUMN=timestamp names another column)');
    call.timestamp = isoTime(value.timestamp, column.timestamp!);
    const context: Json = {};
    if (value.groupId) {
      if (type === 'group') call.groupId = idOf(value.groupId, column.groupId!);
      else context.groupId = value.groupId;
    }
    if (value.sessionId) context.sessionId = value.sessionId;
    if (Object.keys(context).length > 0) call.context = context;
    return { call };
  },
};
