/**
 * One `/groups` text in, one reply out: the Slack message and the same reply as
 * terminal text. Slack's listener and `npm run groups` both call this.
 */
import { parseGroupsCommand } from '../domain/command.js';
import type { GroupsCommand, Metric, Range, SlackMessage } from '../domain/types.js';
import * as blocks from '../render/blocks.js';
import * as terminal from '../render/terminal.js';
import { defaultMetric, keyHealth, quiet, report, show, top, type GroupsContext } from './company-reads.js';

export interface Reply {
  message: SlackMessage;
  terminal: string;
}

export interface ReplyContext extends GroupsContext {
  /** GROUP_KEY_PATH as written, for `/groups key`. */
  keyPath: string | null;
  /** `/groups digest`: this week's digest preview (wired by the composition root). */
  digestPreview?: (now: Date) => Promise<Reply>;
}

export function parse(ctx: ReplyContext, text: string): GroupsCommand {
  return parseGroupsCommand(text, { keyActionsSet: ctx.keyActions.length > 0 });
}

export async function groupsReply(ctx: ReplyContext, text: string, now: Date, opts: { back?: string } = {}): Promise<Reply> {
  return replyFor(ctx, parse(ctx, text), now, opts);
}

export async function replyFor(ctx: ReplyContext, cmd: GroupsCommand, now: Date, opts: { back?: string } = {}): Promise<Reply> {
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
    case 'key': {
      const input = { health: await keyHealth(ctx, now), keyPath: ctx.keyPath };
      return { message: blocks.keyHealthMessage(input), terminal: terminal.keyHealthText(input) };
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
export async function showReply(ctx: ReplyContext, query: string, range: Range, now: Date, opts: { back?: string } = {}): Promise<Reply> {
  const metric = defaultMetric(ctx);
  const result = await show(ctx, query, { now, range, metric });
  if (result.kind === 'company') {
    const input = { detail: result.detail, metric, range, now, keyActionsSet: ctx.keyActions.length > 0, back: opts.back };
    return { message: blocks.showMessage(input), terminal: terminal.showText(input) };
  }
  if (result.kind === 'choices') {
    const input = { query, matches: result.matches };
    return { message: blocks.matchesMessage(input), terminal: terminal.matchesText(input) };
  }
  const input = { query, suggestions: result.suggestions };
  return { message: blocks.noMatchMessage(input), terminal: terminal.noMatchText(input) };
}
