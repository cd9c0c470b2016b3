import postgres from 'postgres';
import { seed } from './reads.js';
import { openDatabase } from '../src/db/client.js';
import { rebuildSummary } from '../src/db/queries/summary.js';
import { movingWindows, bookStats } from '../src/db/queries/companies.js';
import { dayString, utcDay } from '../src/domain/period.js';
import { groupsReply } from '../src/app/reply.js';
async function main() {
const name = 'lm_trend_lat';
const admin = 'postgres://postgres@127.0.0.1:5432/postgres';
const url = `postgres://postgres@127.0.0.1:5432/${name}`;
const now = new Date('2026-11-30T10:00:00Z');
const size = Number(process.argv[2] ?? 10000);
const a = postgres(admin, { max: 1, onnotice: () => {} });
if (process.argv[3] === 'seed') {
  await a.unsafe(`drop database if exists ${name}`); await a.unsafe(`create database ${name}`);
  const d0 = await openDatabase({ databaseUrl: url, max: 4, migrate: true }); await d0.close();
  await seed(url, size, now);
}
await a.end();
const database = await openDatabase({ databaseUrl: url, max: 4, migrate: true });
await rebuildSummary(database.db, dayString(utcDay(now)), { force: true });
const db = database.db;
const time = async (label: string, f: () => Promise<unknown>) => { const ts: number[] = []; let r: any; for (let i = 0; i < 5; i++) { const t = performance.now(); r = await f(); ts.push(performance.now() - t); } ts.sort((x, y) => x - y); console.log(label.padEnd(30), ts[2].toFixed(1), 'ms', Array.isArray(r) ? r.length : r instanceof Map ? r.size : ''); return r; };
const T = { ownWeight: 0.4, priorWeight: 3, ownSkipWeeks: 2, recentDays: 14, baselineDays: 84, newBeforeDays: 28, downMin: -0.25, upMin: 0.25, minBaselinePerWeek: 10 };
const q = { now, rangeDays: 30 as const, metric: 'key_actions' as const, trend: T };
const r0 = performance.now(); await rebuildSummary(db, dayString(utcDay(now)), { force: true }); console.log('rebuild', (performance.now() - r0).toFixed(0), 'ms');
const falling = await time('movingWindows falling', () => movingWindows(db, { ...q, falling: true }));
const movers = await time('movingWindows all', () => movingWindows(db, q));
await time('bookStats', () => bookStats(db, q));
const { trendVerdict } = await import('../src/domain/trend.js');
const { noisePrior } = await import('../src/db/queries/summary.js');
const pr = await noisePrior(db, now, 'key_actions');
const bk = await bookStats(db, q);
await time('verdict loop movers', async () => { let n = 0; for (const w of movers) if (trendVerdict(w, bk, pr).trend !== 'steady') n++; return n; });
await time('verdict loop falling', async () => { let n = 0; for (const w of falling) if (trendVerdict(w, bk, pr).trend !== 'steady') n++; return n; });
const ctx = { db, keyActions: ['Created Report'], keyPath: null };
for (const c of ['top', 'quiet', 'report', 'show Company 42 Inc']) await time(c, () => groupsReply(ctx as any, c, now));
await database.close();
}
void main();
