/**
 * One `/groups` text in, one reply out: the Slack message and the same reply as
 * terminal text. Slack's listener and `npm run groups` both call this.
 */
import { parseGroupsCommand } from '../domain/command.js';
import type { GroupsCommand, Metric, Range, SlackMessage } from '../domain/types.js';
import * as blocks from '../render/blocks.js';
import * as terminal from '../render/terminal.js';
import { defaultMetric, keyHealth, quiet, report, show, top, type GroupsContext } from './company-reads.js';
import { CHART_RANGE } from './charts.js';
import type { ChartLinks } from './chart-links.js';
import { ownerCommandReply } from './owner-commands.js';
import { ownerEmailsToCheck, lookupEmails, ownersNotFound, resolveOwners, type OwnerDeps } from './owners.js';
import { ownersNotFoundBlocks } from '../render/owner-replies.js';
import { withOwnerLine } from '../render/owner-text.js';
import { eventListReply } from './event-list-reply.js';

export interface Reply {
  message: SlackMessage;
  terminal: string;
}

export interface ReplyContext extends GroupsContext {
  /** GROUP_KEY_PATH as written, for `/groups key`. */
  keyPath: string | null;
  /** `/groups digest`: this week's digest preview (wired by the composition root). */
  digestPreview?: (now: Date) => Promise<Reply>;
  /** With PUBLIC_URL: `show` carries its chart as an image (else its text sparkline). */
  chartLinks?: ChartLinks;
  /** Owners and watches (OWNER_TRAIT, users.lookupByEmail); without it `owner`, `watch` and `mine` say they are not available. */
  owners?: OwnerDeps;
  /** Signs the page buttons of `show NAME events` (src/app/event-page-token.ts); without it, a key per process. */
  pageKey?: Buffer;
}

/** Who asked: the Slack user id of the person who typed the command or clicked (none in the terminal). */
export interface ReplyOptions {
  back?: string;
  user?: string;
}

export function parse(ctx: ReplyContext, text: string): GroupsCommand {
  return parseGroupsCommand(text, { keyActionsSet: ctx.keyActions.length > 0 });
}

export async function groupsReply(ctx: ReplyContext, text: string, now: Date, opts: ReplyOptions = {}): Promise<Reply> {
  return replyFor(ctx, parse(ctx, text), now, opts);
}

export async function replyFor(ctx: ReplyContext, cmd: GroupsCommand, now: Date, opts: ReplyOptions = {}): Promise<Reply> {
  const keyActionsSet = ctx.keyActions.length > 0;
  const metricOr = (m: Metric | null): Metric => m ?? defaultMetric(ctx);
  switch (cmd.kind) {
    case 'top': {
      const metric = metricOr(cmd.metric);
      const found = await top(ctx, { now, range: cmd.range, metric, limit: cmd.limit });
      const input = { rows: found.rows, metric, range: cmd.range, totalCompanies: found.totalCompanies, keyActionsSet, now };
      return { message: blocks.topMessage(input), terminal: terminal.topText(input) };
    }
    case 'quiet': {
      const metric = defaultMetric(ctx);
      const found = await quiet(ctx, { now, range: cmd.range, metric });
      const input = { rows: found.rows, total: found.total, range: cmd.range, metric, now };
      return { message: blocks.quietMessage(input), terminal: terminal.quietText(input) };
    }
    case 'report': {
      const input = { counts: await report(ctx, { now, range: cmd.range, metric: defaultMetric(ctx) }), range: cmd.range, now };
      return { message: blocks.reportMessage(input), terminal: terminal.reportText(input) };
    }
    case 'show':
      return showReply(ctx, cmd.query, cmd.range, now, opts);
    case 'events':
      return eventListReply(ctx, cmd.query, cmd.range, now);
    case 'key': {
      const input = { health: await keyHealth(ctx, now), keyPath: ctx.keyPath };
      const reply = { message: blocks.keyHealthMessage(input), terminal: terminal.keyHealthText(input) };
      return ctx.owners ? withOwnersNotFound(ctx.owners, reply) : reply;
    }
    case 'owner':
    case 'watch':
    case 'unwatch':
    case 'mine': {
      if (!ctx.owners) {
        const input = { unknown: null, problem: `\`${cmd.kind}\` is not available here`, keyActionsSet };
        return { message: blocks.helpMessage(input), terminal: terminal.helpText(input) };
      }
      return ownerCommandReply({ ...ctx, owners: ctx.owners }, cmd, now, opts.user);
    }
    case 'digest': {
      if (!ctx.digestPreview) {
        const input = { unknown: null, problem: 'the digest is not available here', keyActionsSet };
        return { message: blocks.helpMessage(input), terminal: terminal.helpText(input) };
      }
      return ctx.digestPreview(now);
    }
    case 'help': {
      const input = { unknown: cmd.unknown, problem: cmd.problem, suggestion: cmd.suggestion, keyActionsSet };
      return { message: blocks.helpMessage(input), terminal: terminal.helpText(input) };
    }
  }
}

/** One company by name or key; `key` is exact (a Details button). */
export async function showReply(ctx: ReplyContext, query: string, range: Range, now: Date, opts: ReplyOptions = {}): Promise<Reply> {
  const metric = defaultMetric(ctx);
  const result = await show(ctx, query, { now, range, metric });
  if (result.kind === 'company') {
    const chart = ctx.chartLinks ? await ctx.chartLinks.company(result.detail.key, metric, CHART_RANGE, now) : null;
    const input = { detail: result.detail, metric, range, now, keyActionsSet: ctx.keyActions.length > 0, back: opts.back, chart: chart ?? undefined };
    const reply = { message: blocks.showMessage(input), terminal: terminal.showText(input) };
    if (!ctx.owners) return reply;
    const owner = (await resolveOwners(ctx.owners, [result.detail.key])).get(result.detail.key);
    return withOwnerLine(reply, owner, ctx.owners.ownerTrait);
  }
  if (result.kind === 'choices') {
    const input = { query, matches: result.matches, more: result.more };
    return { message: blocks.matchesMessage(input), terminal: terminal.matchesText(input) };
  }
  const input = { query, suggestions: result.suggestions };
  return { message: blocks.noMatchMessage(input), terminal: terminal.noMatchText(input) };
}

/** `/groups key` with the owner emails that match no Slack user (looking up the ones not checked for a day first). */
async function withOwnersNotFound(owners: OwnerDeps, reply: Reply): Promise<Reply> {
  await lookupEmails(owners, await ownerEmailsToCheck(owners));
  const part = ownersNotFoundBlocks(await ownersNotFound(owners), owners.ownerTrait);
  if (part.blocks.length === 0) return reply;
  return {
    message: { text: [reply.message.text, ...part.lines].join('\n'), blocks: [...reply.message.blocks, ...part.blocks].slice(0, 50) },
    terminal: [reply.terminal, '', ...part.lines.map((l) => l.replace(/`/g, ''))].join('\n'),
  };
}
