/**
 * Sources (the importer's first layer): which inputs a command names (files, directories
 * walked recursively, globs, `-` for standard input), and their bytes undone to plain
 * content: gzip is recognised by its magic bytes (1f 8b) and zip by its own (PK 03 04),
 * never by a file name, since S3 clients unzip silently and keep the `.gz`. A zip's entries
 * (Amplitude's `*.json.gz`) are undone the same way, one by one.
 *
 * Brotli (PostHog's batch exports offer it for JSON lines) has no magic bytes: a file is
 * read as brotli when its name ends in `.br`, or when its first byte cannot begin text
 * (JSON lines or CSV) and it is neither gzip nor zip.
 *
 * Decoding is push-based (fflate), so a file streams through with bounded memory and a
 * truncated archive is reported as such, with the complete lines before the cut kept and
 * the half line at the cut dropped.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { join, resolve } from 'node:path';
import { Gunzip, Unzip, UnzipInflate } from 'fflate';
import { glob, isDynamicPattern } from 'tinyglobby';

export interface Input {
  /** The path as shown to the user (`-` is standard input). */
  label: string;
  /** Absolute path; null for standard input. */
  path: string | null;
  /** Bytes on disk; null for standard input. */
  size: number | null;
}

export class InputError extends Error {}

/** Expand the command's PATHs into inputs, in a stable order; a path that names nothing is an InputError. */
export async function listInputs(paths: readonly string[], cwd = process.cwd()): Promise<Input[]> {
  const out: Input[] = [];
  const seen = new Set<string>();
  const add = (p: string, label: string) => {
    const abs = resolve(cwd, p);
    if (seen.has(abs)) return;
    seen.add(abs);
    out.push({ label, path: abs, size: statSync(abs).size });
  };
  for (const p of paths) {
    if (p === '-') {
      if (!seen.has('-')) out.push({ label: '-', path: null, size: null });
      seen.add('-');
      continue;
    }
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(resolve(cwd, p));
    } catch {
      st = undefined;
    }
    if (st?.isFile()) add(p, p);
    else if (st?.isDirectory()) {
      const files = (readdirSync(resolve(cwd, p), { recursive: true, encoding: 'utf8' }) as string[])
        .filter((f) => statSync(join(resolve(cwd, p), f)).isFile() && !f.split(/[\\/]/).some((part) => part.startsWith('.')))
        .sort();
      if (files.length === 0) throw new InputError(`${p}: the directory holds no files`);
      for (const f of files) add(join(p, f), join(p, f));
    } else if (isDynamicPattern(p)) {
      const files = (await glob(p, { cwd, onlyFiles: true, dot: false })).sort();
      if (files.length === 0) throw new InputError(`${p}: no file matches this pattern`);
      for (const f of files) add(f, f);
    } else {
      throw new InputError(`${p}: no such file or directory`);
    }
  }
  return out;
}

/** What decoding an input yields, in order: per content stream (the file, or each zip entry) a start, data, then an end or an error. */
export type Piece =
  | { kind: 'start'; label: string }
  | { kind: 'data'; label: string; data: Uint8Array }
  | { kind: 'end'; label: string }
  | { kind: 'error'; label: string; message: string };

type Out = (p: Piece) => void;

interface Decoder {
  push(chunk: Uint8Array, final: boolean): void;
}

const GZIP = [0x1f, 0x8b];
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP = [0x50, 0x4b, 0x05, 0x06];
const startsWith = (b: Uint8Array, magic: number[]) => magic.every((m, i) => b[i] === m);

/** Looks at the first bytes, then hands everything to gzip, zip or plain content. */
function sniffer(label: string, out: Out): Decoder {
  let head: Uint8Array | null = new Uint8Array(0);
  let inner: Decoder | null = null;
  return {
    push(chunk, final) {
      if (inner) return inner.push(chunk, final);
      const joined = new Uint8Array(head!.length + chunk.length);
      joined.set(head!);
      joined.set(chunk, head!.length);
      if (joined.length < 4 && !final) {
        head = joined;
        return;
      }
      head = null;
      if (startsWith(joined, GZIP)) inner = gzipDecoder(label, out);
      else if (startsWith(joined, ZIP) || startsWith(joined, EMPTY_ZIP)) inner = zipDecoder(label, out);
      else inner = plain(label, out);
      inner.push(joined, final);
    },
  };
}

function plain(label: string, out: Out): Decoder {
  out({ kind: 'start', label });
  return {
    push(chunk, final) {
      if (chunk.length > 0) out({ kind: 'data', label, data: chunk });
      if (final) out({ kind: 'end', label });
    },
  };
}

/** gzip, every member (concatenated gzip files are one stream); what comes out is sniffed again. */
function gzipDecoder(label: string, out: Out): Decoder {
  const inner = sniffer(label, out);
  let failed = false;
  let ended = false;
  const gz = new Gunzip((data, final) => {
    inner.push(data, final);
    if (final) ended = true;
  });
  return {
    push(chunk, final) {
      if (failed) return;
      try {
        gz.push(chunk, final);
        if (final && !ended) throw new Error('unexpected end of file');
      } catch (err) {
        failed = true;
        out({ kind: 'error', label, message: `truncated or damaged gzip (${(err as Error).message}); the lines before the damage were read` });
      }
    },
  };
}

/** zip: each entry is sniffed and undone on its own (Amplitude's `*.json.gz` inside a zip). */
function zipDecoder(label: string, out: Out): Decoder {
  const unzip = new Unzip();
  unzip.register(UnzipInflate);
  let failed = false;
  let open: { label: string; done: boolean } | null = null;
  let entries = 0;
  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    out({ kind: 'error', label: open && !open.done ? open.label : label, message });
  };
  unzip.onfile = (file) => {
    if (failed || file.name.endsWith('/')) return;
    entries++;
    const entry = { label: `${label}:${file.name}`, done: false };
    open = entry;
    const inner = sniffer(entry.label, out);
    file.ondata = (err, data, final) => {
      if (failed) return;
      if (err) return fail(`damaged zip entry (${err.message})`);
      inner.push(data, final);
      if (final) entry.done = true;
    };
    try {
      file.start();
    } catch (err) {
      fail(`zip entry ${file.name} uses a compression this tool does not read (${(err as Error).message})`);
    }
  };
  return {
    push(chunk, final) {
      if (failed) return;
      try {
        unzip.push(chunk, final);
      } catch (err) {
        return fail(`damaged zip (${(err as Error).message})`);
      }
      if (final && open && !open.done) fail('truncated zip: this entry stops before its end; the lines before the cut were read');
      else if (final && entries === 0) out({ kind: 'error', label, message: 'the zip holds no files' });
    },
  };
}

/**
 * Can `b` be the start of a text file? A UTF-8 byte-order mark, whitespace, printable ASCII,
 * or the lead byte of a UTF-8 sequence. Gzip and zip are told before this.
 */
function mayBeText(b: Uint8Array): boolean {
  const x = b[0];
  return x === 0x09 || x === 0x0a || x === 0x0d || (x >= 0x20 && x <= 0x7e) || (x >= 0xc2 && x <= 0xf4);
}

/** Is this input brotli? Its name says so (`.br`), or its first bytes are none of gzip, zip and text. */
function isBrotli(input: Input, head: Uint8Array): boolean {
  if (/\.br$/i.test(input.label)) return true;
  return head.length > 0 && !startsWith(head, GZIP) && !startsWith(head, ZIP) && !startsWith(head, EMPTY_ZIP) && !mayBeText(head);
}

/** A compressed input that stops before its end, or is damaged. */
class DecodeError extends Error {}

/**
 * The raw chunks of an input, undone from brotli when it is brotli (see isBrotli), and from
 * gzip when the file itself is gzip (by its magic bytes): Node's zlib, every member, which
 * inflates on the thread pool, beside the main thread's parsing (fflate, on the main thread,
 * took about 4 % of an import's CPU). Gzip inside a zip entry, or inside brotli, is undone
 * by the sniffer below.
 */
async function* rawChunks(input: Input, stream: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  const counted = (async function* () {
    for await (const chunk of stream) {
      onBytes(chunk.length);
      yield chunk;
    }
  })();
  const first = await counted.next();
  if (first.done) return;
  const all = (async function* () {
    yield first.value;
    yield* counted;
  })();
  const gzip = startsWith(first.value, GZIP);
  if (!gzip && !isBrotli(input, first.value)) {
    for await (const c of all) yield new Uint8Array(c.buffer, c.byteOffset, c.length);
    return;
  }
  const source = Readable.from(all);
  const out = source.pipe(gzip ? createGunzip() : createBrotliDecompress());
  try {
    for await (const c of out as AsyncIterable<Buffer>) yield new Uint8Array(c.buffer, c.byteOffset, c.length);
  } catch (err) {
    throw new DecodeError(`truncated or damaged ${gzip ? 'gzip' : 'brotli'} (${(err as Error).message}); the lines before the damage were read`);
  } finally {
    // pipe() does not end the source when the decoder fails or the reader stops early: the file closes here.
    source.destroy();
  }
}

/**
 * The content of one input as pieces. `onBytes` counts the raw bytes read (for progress).
 * A read error ends the input with an error piece, never a throw.
 */
export async function* decode(input: Input, onBytes: (n: number) => void = () => {}, stdin: NodeJS.ReadableStream = process.stdin): AsyncGenerator<Piece> {
  const queue: Piece[] = [];
  const root = sniffer(input.label, (p) => queue.push(p));
  const stream = input.path === null ? stdin : createReadStream(input.path, { highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of rawChunks(input, stream as AsyncIterable<Buffer>, onBytes)) {
      root.push(chunk, false);
      while (queue.length > 0) yield queue.shift()!;
    }
    root.push(new Uint8Array(0), true);
  } catch (err) {
    queue.push({ kind: 'error', label: input.label, message: err instanceof DecodeError ? err.message : `could not be read (${(err as Error).message})` });
  }
  while (queue.length > 0) yield queue.shift()!;
}
