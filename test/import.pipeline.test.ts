/**
 * The write pass's overlap (src/import/run.ts): while one chunk is being written, the next is
 * read from the spill and prepared, but its write starts only once the one before has ended,
 * so chunks are written one at a time, in time order. A failed write stops the run before the
 * next chunk is written; whatever was written is made durable (sink.flush) when writing stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.js';
import type { ImportSink, SourcedEvent, WriteResult } from '../src/import/sink.js';
import { gz, importPaths, jsonl, write } from './helpers/import.js';

const now = new Date('2026-11-30T12:00:00Z');
const EVENTS = 10;

/** A sink that logs what happens, in order, and resolves each write only when told to. */
function scriptedSink(opts: { failAt?: number; handsOff?: boolean } = {}) {
  const log: string[] = [];
  const release: (() => void)[] = [];
  let writing = 0;
  let maxWriting = 0;
  let chunk = 0;
  const sink: ImportSink = {
    slice: 2,
    write: async () => {
      throw new Error('the run must write through prepare when the sink has it');
    },
    prepare(events: readonly SourcedEvent[]) {
      const n = chunk++;
      log.push(`prepare ${n} (${events.map((e) => e.messageId).join(',')})`);
      return (handOff) => {
        log.push(`start ${n}`);
        writing++;
        maxWriting = Math.max(maxWriting, writing);
        return new Promise<WriteResult>((resolve, reject) => {
          const end = () => {
            writing--;
            log.push(`end ${n}`);
            if (n === opts.failAt) reject(new Error(`chunk ${n} refused`));
            else resolve({ stored: events.length, duplicates: 0 });
          };
          if (!opts.handsOff) release.push(end);
          else {
            // A sink that hands off does so a few ticks into its write, as the database sink does after
            // its walk; only then can the write end.
            setTimeout(() => {
              log.push(`handoff ${n}`);
              handOff?.();
              release.push(end);
            }, 2);
          }
        });
      };
    },
    flush: async () => {
      log.push('flush');
    },
    close: async () => {},
    handsOff: opts.handsOff,
  };
  // Ends the writes one by one, each a few ticks after it started, so the run can get ahead if it would.
  const pump = setInterval(() => release.shift()?.(), 5);
  return { sink, log, maxWriting: () => maxWriting, stop: () => clearInterval(pump) };
}

describe('the write pass: the next chunk prepared while one is written', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lm-import-pipeline-'));
    // Written newest first: the write pass must still go in time order.
    const calls = Array.from({ length: EVENTS }, (_, i) => ({
      type: 'track',
      event: 'Viewed',
      userId: 'u1',
      messageId: `m${i}`,
      timestamp: new Date(now.getTime() - (EVENTS - i) * 60_000).toISOString(),
    })).reverse();
    write(join(dir, 'a.jsonl.gz'), gz(jsonl(calls)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one chunk at a time, in time order, preparing the next during the write, and flushes at the end', async () => {
    const s = scriptedSink();
    try {
      const report = await importPaths({} as Db, [dir], { now, sink: s.sink });
      expect(report.ending).toBe('done');
      expect(report.stored).toBe(EVENTS);
      expect(report.written).toBe(EVENTS);
      expect(s.maxWriting()).toBe(1);
      const chunks = EVENTS / 2;
      const expected: string[] = [];
      for (let n = 0; n < chunks; n++) {
        // Chunk n+1 is prepared while chunk n is being written, and started after it ended.
        if (n === 0) expected.push(`prepare 0 (m0,m1)`);
        expected.push(`start ${n}`);
        if (n + 1 < chunks) expected.push(`prepare ${n + 1} (m${2 * n + 2},m${2 * n + 3})`);
        expected.push(`end ${n}`);
      }
      expected.push('flush');
      expect(s.log).toEqual(expected);
    } finally {
      s.stop();
    }
  });

  it('with a sink that hands off, reads and prepares the next chunk only after the write in flight handed off', async () => {
    const s = scriptedSink({ handsOff: true });
    try {
      const report = await importPaths({} as Db, [dir], { now, sink: s.sink });
      expect(report.ending).toBe('done');
      expect(report.stored).toBe(EVENTS);
      expect(s.maxWriting()).toBe(1);
      // When a write ends against when the next chunk is prepared is up to the clock; the order
      // of the run's own steps is not.
      const at = (line: string) => s.log.findIndex((l) => l.startsWith(line));
      for (let n = 0; n < EVENTS / 2; n++) {
        expect(at(`handoff ${n}`)).toBeGreaterThan(at(`start ${n}`));
        if (n + 1 < EVENTS / 2) {
          expect(at(`prepare ${n + 1} (m${2 * n + 2},m${2 * n + 3})`)).toBeGreaterThan(at(`handoff ${n}`));
          expect(at(`start ${n + 1}`)).toBeGreaterThan(Math.max(at(`end ${n}`), at(`prepare ${n + 1}`)));
        }
      }
      expect(s.log.at(-1)).toBe('flush');
    } finally {
      s.stop();
    }
  });

  it('stops at a failed write: the chunk prepared behind it is never written, and what was written is flushed', async () => {
    const s = scriptedSink({ failAt: 1 });
    try {
      const report = await importPaths({} as Db, [dir], { now, sink: s.sink });
      expect(report.ending).toBe('failed');
      expect(report.failure).toBe('chunk 1 refused');
      expect(report.stored).toBe(2);
      expect(report.written).toBe(2);
      expect(s.log).toEqual(['prepare 0 (m0,m1)', 'start 0', 'prepare 1 (m2,m3)', 'end 0', 'start 1', 'prepare 2 (m4,m5)', 'end 1', 'flush']);
    } finally {
      s.stop();
    }
  });

  it('a chunk the sink refuses to prepare fails the run after the write before it ended', async () => {
    const s = scriptedSink();
    const refusing: ImportSink = {
      ...s.sink,
      prepare: (events) => {
        if (events.some((e) => e.messageId === 'm2')) throw new Error('m2 has no source');
        return s.sink.prepare!(events);
      },
    };
    try {
      const report = await importPaths({} as Db, [dir], { now, sink: refusing });
      expect(report.ending).toBe('failed');
      expect(report.failure).toBe('m2 has no source');
      expect(report.stored).toBe(2);
      expect(s.log).toEqual(['prepare 0 (m0,m1)', 'start 0', 'end 0', 'flush']);
    } finally {
      s.stop();
    }
  });
});
