/** Every format the importer reads, in the order detection tries them. */
import { amplitude } from './amplitude.js';
import { csv } from './csv.js';
import type { Format, FormatName, Json } from './format.js';
import { mixpanel } from './mixpanel.js';
import { posthog } from './posthog.js';
import { rudderstack } from './rudderstack.js';
import { segmentArchive } from './segment.js';

export const FORMATS: readonly Format[] = [segmentArchive, rudderstack, amplitude, posthog, mixpanel, csv];

export const FORMAT_NAMES = FORMATS.map((f) => f.name) as FormatName[];

/** The formats, as a sentence for messages. */
export const READABLE_FORMATS = FORMATS.map((f) => `${f.name} (${f.title})`).join(', ');

export function formatByName(name: string): Format | undefined {
  return FORMATS.find((f) => f.name === name);
}

/** The JSON format a record looks like, or undefined. */
export function detectFormat(record: Json): Format | undefined {
  return FORMATS.find((f) => f.framing === 'jsonl' && f.detect(record));
}

export type { Format, FormatName, FormatOptions, Json, Mapped } from './format.js';
export { MappingError } from './format.js';
