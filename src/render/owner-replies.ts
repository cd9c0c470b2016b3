/**
 * Replies of `/groups owner`, `watch`, `unwatch` and `mine`, and the "owners not
 * found in Slack" part of `/groups key`. Pure: data in, `{ message, terminal }` out;
 * every piece of data through `esc`, the only mention written by `mention`.
 */
import type { KnownBlock } from '@slack/types';
import type { Owner } from '../domain/types.js';
import type { CompanyRow, Metric, SlackMessage } from '../domain/types.js';
import { companyName, context, esc, fallingLine, header, listBlocks, MAX_BLOCKS, section, showButton, trendText } from './blocks.js';
import { formatCount, formatNumber } from './format.js';
import { metricTotal } from '../domain/metric.js';
import { isFalling } from '../domain/trend.js';
import { mention, ownerMrkdwn, ownerPlain } from './owner-text.js';

export interface TextReply {
  message: SlackMessage;
  terminal: string;
}

/** A reply of one line (mrkdwn, data already escaped) and its plain text. */
export function oneLine(mrkdwn: string, plain: string): TextReply {
  return { message: { text: mrkdwn, blocks: [section(mrkdwn)] }, terminal: plain };
}

type Co = { key: string; name: string | null };
const nameOf = (c: Co) => `*${esc(companyName(c))}*`;

export function ownerShownReply(c: Co, owner: Owner, trait: string): TextReply {
  const o = ownerMrkdwn(owner);
  const name = companyName(c);
  if (owner.kind === 'user') {
    const from = owner.source === 'slack' ? 'set in Slack' : `from the ${esc(trait, 60)} trait`;
    return oneLine(`${nameOf(c)} is owned by ${o} (${from}).`, `${name} is owned by ${ownerPlain(owner)} (${owner.source === 'slack' ? 'set in Slack' : `from the ${trait} trait`}).`);
  }
  if (owner.kind === 'unresolved') {
    return oneLine(
      `${nameOf(c)}: its ${esc(trait, 60)} trait names ${o}. Set an owner in Slack with \`/groups owner ${esc(name)} @person\`.`,
      `${name}: its ${trait} trait names ${ownerPlain(owner)}. Set an owner in Slack with /groups owner ${name} @person.`,
    );
  }
  const why = owner.nobody ? 'set to nobody in Slack' : `no ${trait} trait`;
  return oneLine(
    `${nameOf(c)} has no owner (${esc(why, 80)}). Set one with \`/groups owner ${esc(name)} @person\`.`,
    `${name} has no owner (${why}). Set one with /groups owner ${name} @person.`,
  );
}

export function ownerSetReply(c: Co, userId: string): TextReply {
  const name = companyName(c);
  return oneLine(
    `${nameOf(c)} is now owned by ${mention(userId)}: they get its direct alerts, and the digest names them. \`/groups owner ${esc(name)} none\` clears it.`,
    `${name} is now owned by <@${userId}>. /groups owner ${name} none clears it.`,
  );
}

export function ownerClearedReply(c: Co, was: boolean, now: Owner, trait: string): TextReply {
  const name = companyName(c);
  const first = was ? `The owner of ${nameOf(c)} set in Slack is cleared.` : `${nameOf(c)} had no owner set in Slack.`;
  const firstPlain = was ? `The owner of ${name} set in Slack is cleared.` : `${name} had no owner set in Slack.`;
  const after =
    now.kind === 'user'
      ? ` Its ${esc(trait, 60)} trait names ${mention(now.userId)}, who owns it again.`
      : now.kind === 'unresolved'
        ? ` Its ${esc(trait, 60)} trait names ${ownerMrkdwn(now)}.`
        : ' It has no owner now.';
  const afterPlain = now.kind === 'user' ? ` Its ${trait} trait names <@${now.userId}>, who owns it again.` : now.kind === 'unresolved' ? ` Its ${trait} trait names ${ownerPlain(now)}.` : ' It has no owner now.';
  return oneLine(first + after, firstPlain + afterPlain);
}

export function watchReply(c: Co, kind: 'watch' | 'unwatch', changed: boolean): TextReply {
  const name = companyName(c);
  if (kind === 'watch') {
    return changed
      ? oneLine(`👀 You now watch ${nameOf(c)}: a direct message when it starts to fall. \`/groups unwatch ${esc(name)}\` stops it.`, `You now watch ${name}. /groups unwatch ${name} stops it.`)
      : oneLine(`You already watch ${nameOf(c)}.`, `You already watch ${name}.`);
  }
  return changed
    ? oneLine(`You no longer watch ${nameOf(c)}.`, `You no longer watch ${name}.`)
    : oneLine(`You were not watching ${nameOf(c)}.`, `You were not watching ${name}.`);
}

export function disownedReply(c: Co): TextReply {
  const name = companyName(c);
  return oneLine(
    `Nobody owns ${nameOf(c)} now, and its alerts no longer come to you. \`/groups owner ${esc(name)} @person\` gives it an owner.`,
    `Nobody owns ${name} now. /groups owner ${name} @person gives it an owner.`,
  );
}

export function notOwnerReply(c: Co): TextReply {
  const name = companyName(c);
  return oneLine(`You do not own ${nameOf(c)}, so nothing changed. \`/groups owner ${esc(name)}\` says who does.`, `You do not own ${name}, so nothing changed.`);
}

/** `owner NAME email` for an email Slack does not know (or could not be asked about): nothing changed. */
export function emailNotFoundReply(email: string, error: string | null): TextReply {
  const why =
    error === null
      ? 'no one in this workspace has that email'
      : error === 'missing_scope'
        ? 'the app lacks the users:read.email scope to look it up (add it and reinstall the app)'
        : `Slack could not be asked (${error}); try again in a minute`;
  return oneLine(`⚠️ Nothing changed: ${esc(email, 120)}: ${esc(why, 200)}. Name the person with @ instead.`, `Nothing changed: ${email}: ${why}. Name the person with @ instead.`);
}

/** A reply with a warning line after it (mrkdwn already escaped, and its plain text). */
export function withWarning(reply: TextReply, mrkdwn: string, plain: string): TextReply {
  const line = `⚠️ ${mrkdwn}`;
  return {
    message: { text: `${reply.message.text}\n${line}`, blocks: [...reply.message.blocks, section(line)].slice(0, MAX_BLOCKS) },
    terminal: `${reply.terminal}\n${plain}`,
  };
}

/** In the terminal there is no Slack user to own or watch anything. */
export function needsSlackUserReply(sub: string): TextReply {
  const s = `\`${sub}\` is about the person who types it: use /groups ${sub} in Slack.`;
  return oneLine(s, s.replace(/`/g, ''));
}

export interface MineInput {
  /** Falling first (biggest drop first), then the rest by activity. */
  rows: CompanyRow[];
  owned: Set<string>;
  metric: Metric;
}

export const MINE_MAX_LISTED = 40;

/** The order of `mine` and of App Home's "Yours": falling first, biggest drop first, then by activity. */
export function yoursOrder(rows: CompanyRow[], metric: Metric): CompanyRow[] {
  const falling = rows.filter((r) => isFalling(r.trend)).sort((a, b) => (a.change ?? 0) - (b.change ?? 0));
  const rest = rows.filter((r) => !isFalling(r.trend)).sort((a, b) => metricTotal(b.activity, metric) - metricTotal(a.activity, metric));
  return [...falling, ...rest];
}

/** One company of `mine`: name, why it is yours, people, activity, trend. */
export function yoursLine(row: CompanyRow, metric: Metric, owned: boolean, rank: number): string {
  const tag = owned ? 'you own it' : 'you watch it';
  if (isFalling(row.trend)) return `${fallingLine(row, metric, rank)} · ${tag}`;
  const parts = [formatCount(row.activity.people, 'people'), formatCount(metricTotal(row.activity, metric), metric), trendText(row.trend), tag];
  return `*${rank}. ${esc(companyName(row))}*\n${parts.join(' · ')}`;
}

export function mineReply(input: MineInput): TextReply {
  if (input.rows.length === 0) {
    return oneLine(
      'You own or watch no company yet. `/groups watch NAME` subscribes you to its alerts; `/groups owner NAME @you` makes you its owner.',
      'You own or watch no company yet. /groups watch NAME subscribes you to its alerts; /groups owner NAME @you makes you its owner.',
    );
  }
  const title = 'Your companies';
  const falling = input.rows.filter((r) => isFalling(r.trend)).length;
  const intro = `${formatNumber(input.rows.length)} you own or watch · ${formatNumber(falling)} falling`;
  const items = input.rows.slice(0, MINE_MAX_LISTED).map((r, i) => ({ line: yoursLine(r, input.metric, input.owned.has(r.key), i + 1), button: showButton(r.key, i) }));
  const list = listBlocks(items, MAX_BLOCKS - 3, input.rows.length);
  const blocks: KnownBlock[] = [header(title), context(intro), ...list.blocks];
  const text = [title, intro, ...list.lines];
  return { message: { text: text.join('\n'), blocks: blocks.slice(0, MAX_BLOCKS) }, terminal: [title, intro, ...list.lines.map((l) => l.replace(/\*/g, ''))].join('\n') };
}

export interface NotFoundOwners {
  email: string;
  companies: Co[];
}

/** `/groups key`'s section "Owners not found in Slack": emails of the owner trait that match no Slack user. */
export function ownersNotFoundBlocks(list: NotFoundOwners[], trait: string): { blocks: KnownBlock[]; lines: string[] } {
  if (list.length === 0) return { blocks: [], lines: [] };
  const heading = `*Owners not found in Slack* (the ${esc(trait, 60)} trait names an email no one in this workspace has; set an owner with \`/groups owner NAME @person\`)`;
  const lines = list.slice(0, 30).map((o) => `• ${esc(o.email, 120)}: ${o.companies.slice(0, 5).map((c) => esc(companyName(c), 60)).join(', ')}${o.companies.length > 5 ? ` and ${o.companies.length - 5} more` : ''}`);
  if (list.length > 30) lines.push(`and ${formatNumber(list.length - 30)} more`);
  return { blocks: [section([heading, ...lines].join('\n'))], lines: [heading.replace(/\*/g, ''), ...lines] };
}
