/**
 * Progress as a person expects it: on a terminal, a live bar (cli-progress) with bytes and
 * files read, events per second and the time left; elsewhere (CI, a pipe) one plain line
 * every `everyMs` (10 s). Two phases: reading (bytes) then writing (events).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  reading(totalBytes: number | null, totalFiles: number): void;
  bytes(n: number): void;
  fileDone(): void;
  events(n: number): void;
  writing(totalEvents: number): void;
  written(n: number): void;
  stop(): void;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

function eta(done: number, total: number, perSecond: number): string {
  if (perSecond <= 0 || total <= done) return '';
  const s = Math.round((total - done) / perSecond);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

interface State {
  phase: 'idle' | 'reading' | 'writing';
  totalBytes: number | null;
  bytes: number;
  totalFiles: number;
  files: number;
  events: number;
  totalEvents: number;
  written: number;
  phaseStart: number;
}

function fresh(): State {
  return { phase: 'idle', totalBytes: null, bytes: 0, totalFiles: 0, files: 0, events: 0, totalEvents: 0, written: 0, phaseStart: Date.now() };
}

/** One plain line every `everyMs`, written with `write`. */
export function plainProgress(write: (line: string) => void, everyMs = 10_000, clock: () => number = Date.now): Progress {
  const s = fresh();
  let timer: NodeJS.Timeout | null = null;
  const line = () => {
    const secs = Math.max(0.001, (clock() - s.phaseStart) / 1000);
    if (s.phase === 'reading') {
      const rate = s.events / secs;
      const bytes = s.totalBytes ? `${mb(s.bytes)} of ${mb(s.totalBytes)} MB` : `${mb(s.bytes)} MB`;
      const left = s.totalBytes ? eta(s.bytes, s.totalBytes, s.bytes / secs) : '';
      write(`import: reading ${bytes}, ${s.files} of ${s.totalFiles} files, ${n(s.events)} events (${n(rate)}/s)${left ? `, about ${left} left` : ''}`);
    } else if (s.phase === 'writing') {
      const rate = s.written / secs;
      const left = eta(s.written, s.totalEvents, rate);
      write(`import: writing ${n(s.written)} of ${n(s.totalEvents)} events (${n(rate)}/s)${left ? `, about ${left} left` : ''}`);
    }
  };
  const start = () => {
    if (!timer) {
      timer = setInterval(line, everyMs);
      timer.unref();
    }
  };
  return {
    reading(totalBytes, totalFiles) {
      Object.assign(s, { phase: 'reading', totalBytes, totalFiles, phaseStart: clock() });
      start();
    },
    bytes: (x) => void (s.bytes += x),
    fileDone: () => void s.files++,
    events: (x) => void (s.events += x),
    writing(totalEvents) {
      Object.assign(s, { phase: 'writing', totalEvents, phaseStart: clock() });
      start();
    },
    written: (x) => void (s.written += x),
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** The live bar on a terminal (stream: stderr, so the summary on stdout stays clean). */
export function barProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const s = fresh();
  let bar: cliProgress.SingleBar | null = null;
  const newBar = (format: string, total: number, payload: Record<string, string>) => {
    bar?.stop();
    bar = new cliProgress.SingleBar({ format, stream, hideCursor: true, etaBuffer: 50, fps: 5, clearOnComplete: false }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, payload);
  };
  const rate = (x: number) => n(x / Math.max(0.001, (Date.now() - s.phaseStart) / 1000));
  return {
    reading(totalBytes, totalFiles) {
      Object.assign(s, { phase: 'reading', totalBytes, totalFiles, phaseStart: Date.now() });
      newBar(`reading {bar} {percentage}% | {mbDone} of {mbTotal} MB | {files} files | {rate} events/s | ETA {eta_formatted}`, totalBytes ?? 1, {
        mbDone: '0.0',
        mbTotal: totalBytes === null ? '?' : mb(totalBytes),
        files: `0/${totalFiles}`,
        rate: '0',
      });
    },
    bytes(x) {
      s.bytes += x;
      bar?.update(s.totalBytes === null ? 0 : s.bytes, { mbDone: mb(s.bytes), rate: rate(s.events) });
    },
    fileDone() {
      s.files++;
      bar?.update({ files: `${s.files}/${s.totalFiles}` });
    },
    events: (x) => void (s.events += x),
    writing(totalEvents) {
      Object.assign(s, { phase: 'writing', totalEvents, phaseStart: Date.now() });
      newBar(`writing {bar} {percentage}% | {value} of {total} events | {rate} events/s | ETA {eta_formatted}`, Math.max(1, totalEvents), { rate: '0' });
    },
    written(x) {
      s.written += x;
      bar?.update(s.written, { rate: rate(s.written) });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export function silentProgress(): Progress {
  const noop = () => {};
  return { reading: noop, bytes: noop, fileDone: noop, events: noop, writing: noop, written: noop, stop: noop };
}
