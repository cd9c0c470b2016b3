/**
 * Burst: many concurrent batches at once against the real server (a child process,
 * so its peak RSS is its own), as a flood of SDKs or a hostile sender with a public
 * write key would send them. Each request streams a distinct batch of about 500 KB
 * (the batch limit) with its Content-Length, so the sender holds little memory.
 * Prints the server's peak RSS (VmHWM) and how many requests got 200 and 503
 * (the in-flight cap, INGEST_IN_FLIGHT_BYTES), and checks that exactly the
 * accepted batches were stored.
 */
import { Agent, request } from 'node:http';
import postgres from 'postgres';
import { INGEST_IN_FLIGHT_BYTES } from '../src/ingest/http.js';
import { fmt, freshDatabase, table } from './common.js';
import { startServerProcess } from './ingest.js';

export interface BurstOptions {
  requests: number;
  /** Rounds in which each batch that got 503 is sent again after its Retry-After, as Segment's SDKs do (0: the burst alone). */
  retries: number;
  batchBytes: number;
  now: Date;
}

const WRITE_KEY = 'wk_bench_local';
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

/** Batch `b` as pieces of at most 64 KB: events of ~240 bytes, each with its own messageId. */
function batchPieces(b: number, batchBytes: number, now: Date): { pieces: Buffer[]; events: number } {
  const day = 86_400_000;
  const parts: string[] = [];
  let size = 12;
  let events = 0;
  while (size < batchBytes - 400) {
    const e = JSON.stringify({
      type: 'track',
      userId: `burst_${b % 200}_${events % 7}`,
      event: ['Viewed Dashboard', 'Created Report', 'Opened Record'][events % 3],
      messageId: `burst-${b}-${events}`,
      timestamp: new Date(now.getTime() - (events % 90) * day).toISOString(),
      context: { groupId: `co_${b % 200}` },
      properties: { plan: 'team', path: `/app/${events % 50}`, count: events % 10 },
    });
    parts.push(e);
    size += e.length + 1;
    events++;
  }
  const body = Buffer.from(`{"batch":[${parts.join(',')}]}`);
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += 64 * 1024) pieces.push(body.subarray(i, i + 64 * 1024));
  return { pieces, events };
}

function postStreamed(agent: Agent, port: number, pieces: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/batch', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': length, authorization: auth } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    void (async () => {
      for (const p of pieces) if (!req.write(p)) await new Promise((r) => req.once('drain', r));
      req.end();
    })();
  });
}

export async function runBurst(o: BurstOptions, log: (s: string) => void = console.log): Promise<void> {
  const sample = batchPieces(0, o.batchBytes, o.now);
  const bytes = sample.pieces.reduce((n, p) => n + p.length, 0);
  log(
    `burst: ${fmt(o.requests)} concurrent batches of ${fmt(bytes / 1024)} KB (about ${fmt(sample.events)} events each), ` +
      `in-flight cap ${fmt(INGEST_IN_FLIGHT_BYTES / 1024 / 1024)} MB${o.retries > 0 ? `; a batch refused with 503 is sent again after 2 s, up to ${o.retries} times` : ''}`,
  );
  const db = await freshDatabase('lm_bench_burst');
  const server = await startServerProcess(db.url);
  try {
    const idleRssMb = server.peakRssKb() / 1024;
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const t0 = performance.now();
    // Each body is built just before it is sent: the sender never holds all of them.
    let expected = 0;
    const statuses = await Promise.all(
      Array.from({ length: o.requests }, async (_, b) => {
        let status = 0;
        for (let round = 0; round <= o.retries; round++) {
          if (round > 0) await new Promise((r) => setTimeout(r, 2000));
          const batch = batchPieces(b, o.batchBytes, o.now);
          status = await postStreamed(agent, server.port, batch.pieces);
          if (status === 200) {
            expected += batch.events;
            break;
          }
        }
        return status;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const peakRssMb = server.peakRssKb() / 1024;
    agent.destroy();
    const count = (s: number) => statuses.filter((x) => x === s).length;
    const ok = count(200);
    const busy = count(503);
    const other = o.requests - ok - busy;
    await server.stop();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const [{ messages }] = await sql<{ messages: number }[]>`select count(*)::int as messages from messages`;
    await sql.end();
    log(
      table([
        ['burst', 'value', 'goal'],
        ['server peak RSS, MB', fmt(peakRssMb), '< 512'],
        ['  at start, MB', fmt(idleRssMb), ''],
        ['answered 200', fmt(ok), ''],
        [o.retries > 0 ? 'still 503 after the retries' : 'answered 503 (Retry-After)', fmt(busy), ''],
        ['other (connection errors, other codes)', fmt(other), '0'],
        ['seconds, whole burst', fmt(seconds, 1), ''],
        ['stored = accepted', messages === expected ? `yes (${fmt(messages)} events)` : `NO: ${fmt(messages)} of ${fmt(expected)}`, 'yes'],
      ]),
    );
  } finally {
    await server.stop().catch(() => {});
    await db.drop();
  }
}
