/**
 * GET /charts/chart.png?…: a chart the bot itself linked to (src/app/chart-links.ts).
 * A URL that is not ours, tampered with, expired, or for a company that is gone
 * gets 404 and no chart; nothing is read from the database before the signature holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CHART_RANGE, type Charts } from './app/charts.js';
import { verifyChartQuery } from './app/chart-links.js';
import type { Logger } from './log.js';

export interface ChartHandlerDeps {
  charts: Charts;
  key: Buffer;
  log: Logger;
  now?: () => Date;
}

export function createChartHandler(deps: ChartHandlerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    const now = deps.now?.() ?? new Date();
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"error":"not found"}');
    };
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const r = verifyChartQuery(deps.key, query, now);
    if (!r || r.range !== CHART_RANGE) return notFound();
    try {
      // A digest URL draws its week's digest while that week lasts: Slack fetches it as the post lands
      // and keeps its copy; a later week's companies are never drawn under an older week's link.
      if (r.subject.kind === 'digest' && r.subject.week !== deps.charts.week(now)) return notFound();
      const chart = r.subject.kind === 'company' ? await deps.charts.company(r.subject.key, r.metric, now) : await deps.charts.digest(now, r.metric);
      if (!chart) return notFound();
      res.writeHead(200, {
        'content-type': 'image/png',
        'content-length': chart.png.bytes.length,
        // Slack's image proxy may keep it; the day's chart does not change within the hour that matters.
        'cache-control': 'private, max-age=3600',
      });
      res.end(chart.png.bytes);
    } catch (error) {
      deps.log.error('a chart could not be drawn', { error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"the chart could not be drawn"}');
    }
  };
}
