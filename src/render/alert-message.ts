/**
 * The direct alert: one DM to an owner or a watcher when a company starts to fall,
 * and the folded DM that lists the ones over the day's cap. Pure; data through `esc`.
 */
import type { Button, KnownBlock } from '@slack/types';
import { RECENT_DAYS, swingText, trendReason } from '../domain/trend.js';
import type { CompanyRow, EventDrop, Metric, SlackMessage } from '../domain/types.js';
import { encodeAction, MAX_ACTION_VALUE } from './action-ids.js';
import { companyName, context, esc, fallingLine, fellMostBelow, fellMostLine, header, listBlocks, MAX_BLOCKS, nowAndBefore, nowVsBefore, roughly, section, showButton, trendText } from './blocks.js';
import { formatCount, formatNumber, formatPercent } from './format.js';

export type AlertRole = 'owner' | 'watcher';

export interface AlertItem {
  row: CompanyRow;
  role: AlertRole;
  /** Its events that fell most (domain/event-changes): one "fell most:" line; none when absent or empty. */
  fellMost?: EventDrop[];
}

/**
 * Why the company is said to fall, in one sentence (plain text, no data in it): the trend's
 * own reason (domain/trend trendReason, the sentence `show` gives), e.g. "−46 % over the last
 * 14 days; its weekly swing is usually ±12 %." A silent company says what it used to do.
 */
export function alertReason(row: CompanyRow): string {
  const { now, before, change } = nowAndBefore(row);
  const swing = row.swing ?? null;
  if (now === 0) {
    const quiet = row.goneQuiet ? ', gone quiet after regular activity' : '';
    return `No activity at all in the last ${RECENT_DAYS} days, after about ${formatNumber(roughly(before))} in a usual ${RECENT_DAYS} days${quiet}${swing === null ? '' : `; ${swingText(swing)}`}.`;
  }
  if (change === null) return `Its trend is ${row.trend}.`;
  const reason = trendReason({ change, swing, goneQuiet: row.goneQuiet ?? false, evidence: row.evidence });
  return `${formatPercent(change)}${reason === '' ? ` over the last ${RECENT_DAYS} days against its own usual rate` : reason}.`;
}

function button(kind: 'show' | 'unwatch' | 'disown', key: string, label: string, index: number, style?: 'danger'): Button | null {
  if (key.length === 0 || key.length > MAX_ACTION_VALUE) return null;
  return { type: 'button', text: { type: 'plain_text', text: label }, action_id: encodeAction(kind, index), value: key, ...(style ? { style } : {}) };
}

/** One company's alert: what fell, the figures, the reason, Details and Stop watching / Not mine. */
export function alertMessage(item: AlertItem, metric: Metric): SlackMessage {
  const { row, role } = item;
  const name = esc(companyName(row));
  const why = role === 'owner' ? 'you own it' : 'you watch it';
  const title = `${companyName(row)} is falling`;
  const lead = `*${name}* is falling: ${trendText(row.trend)} (${why}).`;
  const figures = `${formatCount(row.activity.people, 'people')} active in 30 days · ${nowVsBefore(row, metric)}`;
  const reason = alertReason(row);
  const elements = [
    button('show', row.key, 'Details', 0),
    role === 'owner' ? button('disown', row.key, 'Not mine', 1) : button('unwatch', row.key, 'Stop watching', 1),
  ].filter((b): b is Button => b !== null);
  const fell = fellMostLine(item.fellMost);
  const blocks: KnownBlock[] = [header(title), section(lead), section(fell === null ? figures : `${figures}\n${fell}`), context(reason)];
  if (elements.length > 0) blocks.push({ type: 'actions', elements });
  return { text: `${name} is falling (${why}): ${figures}.${fell === null ? '' : ` ${fell}.`} ${reason}`, blocks };
}

/** Several alerts in one DM (over the day's cap): each company with its figures and a Details button. */
export function foldedAlertMessage(items: AlertItem[], metric: Metric): SlackMessage {
  const title = `${formatNumber(items.length)} more of your companies started falling`;
  const list = listBlocks(
    items.map((it, i) => ({ line: `${fallingLine(it.row, metric, i + 1)} · ${it.role === 'owner' ? 'you own it' : 'you watch it'}${fellMostBelow(it.fellMost)}`, button: showButton(it.row.key, i) })),
    MAX_BLOCKS - 3,
  );
  const note = 'Folded into one message: at most 5 alert messages a day. `/groups mine` lists them all; `/groups unwatch NAME` stops the alerts of one.';
  return { text: [title, ...list.lines].join('\n'), blocks: [header(title), ...list.blocks, context(note)].slice(0, MAX_BLOCKS) };
}
