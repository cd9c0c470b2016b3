/**
 * Framing (the importer's second layer): content bytes into numbered records. JSON lines
 * (one JSON object a line) or CSV with a header (RFC 4180: quoted fields may hold commas,
 * quotes and line breaks). Which one is read from the content: a first line starting with
 * `{` is JSON lines; anything else with a comma, a tab or a semicolon in its first line is CSV.
 */
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is skipped as bad, so one broken file cannot fill memory. */
export const MAX_LINE_CHARS = 1024 * 1024;

export type Framing = 'jsonl' | 'csv';

/** Bytes in, numbered lines out (LF or CRLF); a UTF-8 BOM at the start is dropped. */
export class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private rest = '';
  private lineNo = 0;
  private oversize = false;

  constructor(private readonly emit: (line: number, text: string | null) => void) {}

  push(data: Uint8Array): void {
    let text = this.decoder.write(Buffer.from(data.buffer, data.byteOffset, data.length));
    if (this.lineNo === 0 && this.rest === '' && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let start = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      this.line(this.rest + text.slice(start, i));
      this.rest = '';
      start = i + 1;
    }
    if (!this.oversize) this.rest += text.slice(start);
    if (this.rest.length > MAX_LINE_CHARS) {
      this.oversize = true;
      this.rest = '';
    }
  }

  /** The content ended: the last line (with no newline after it) is a line. */
  end(): void {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail.length > 0 || this.oversize) this.line(tail);
  }

  /** The content broke off: the half line at the break is dropped, never read. */
  abandon(): void {
    this.rest = '';
  }

  private line(text: string): void {
    this.lineNo++;
    const over = this.oversize;
    this.oversize = false;
    this.emit(this.lineNo, over ? null : text.endsWith('\r') ? text.slice(0, -1) : text);
  }
}

/** The framing a first non-blank line suggests, or null when it is neither. */
export function detectFraming(firstLine: string): Framing | null {
  const t = firstLine.trimStart();
  if (t.startsWith('{')) return 'jsonl';
  if (t.startsWith('[')) return null;
  return /[,\t;]/.test(t) ? 'csv' : null;
}

/** The delimiter of a CSV header line: the most frequent of comma, tab, semicolon. */
export function csvDelimiter(header: string): string {
  const counts = [',', '\t', ';'].map((d) => [d, header.split(d).length] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][0];
}

/**
 * CSV records from lines: a record whose quoted field spans lines is joined up before it is
 * split. `push` returns the fields of a complete record, or null while one is still open.
 */
export class CsvRecords {
  private pending: string | null = null;
  constructor(private readonly delimiter: string) {}

  push(line: string): string[] | null {
    const text = this.pending === null ? line : `${this.pending}\n${line}`;
    const fields = splitCsv(text, this.delimiter);
    if (fields === null) {
      if (text.length > MAX_LINE_CHARS) {
        this.pending = null;
        throw new Error(`a quoted field is never closed (over ${MAX_LINE_CHARS / 1024 / 1024} MB)`);
      }
      this.pending = text;
      return null;
    }
    this.pending = null;
    return fields;
  }

  /** True when the content ended inside a quoted field. */
  get open(): boolean {
    return this.pending !== null;
  }
}

/** Split one CSV record; null when a quoted field is still open at the end. */
export function splitCsv(text: string, delimiter = ','): string[] | null {
  const fields: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let wasQuoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field.length === 0 && !wasQuoted) {
      quoted = true;
      wasQuoted = true;
      i++;
    } else if (c === delimiter) {
      fields.push(field);
      field = '';
      wasQuoted = false;
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}
