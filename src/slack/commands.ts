/**
 * `/groups`: acknowledged within Slack's 3 seconds, always. A reply ready in
 * time goes in the acknowledgement itself; a slow one is acknowledged with a
 * short "working on it" and answered through response_url, replacing it.
 */
import type { App } from '@slack/bolt';
import type { Logger } from '../log.js';
import type { Reply, ReplyContext } from '../app/reply.js';
import type { SlackMessage } from '../domain/types.js';
import { groupsReply } from '../app/reply.js';

/** How long a reply may take before the acknowledgement goes out without it. */
export const ACK_BUDGET_MS = 2000;

/**
 * Slack HTML-escapes &, < and > in a command's text; the parser wants what the user typed.
 * The command is declared with `should_escape: true` (so a typed @person arrives as
 * `<@U123|alice>`); Slack then also wraps links and channels (`<https://acme.com|acme.com>`,
 * `<#C1|general>`, a user group as `<!subteam^S1|@team>`): those go back to the words typed,
 * and only user mentions stay.
 */
export function unescapeSlack(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^|>]*)\|([^>]*)>/g, '$2')
    .replace(/<((?:https?|mailto):[^|>]*)>/g, '$1')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_, label?: string) => label ?? '@usergroup')
    .replace(/<!([a-z]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function registerCommands(app: App, ctx: ReplyContext, log: Logger, opts: { ackBudgetMs?: number; now?: () => Date } = {}): void {
  const budget = opts.ackBudgetMs ?? ACK_BUDGET_MS;
  app.command('/groups', async ({ command, ack, respond }) => {
    const text = unescapeSlack(command.text ?? '');
    const now = opts.now?.() ?? new Date();
    const pending = groupsReply(ctx, text, now, { back: undefined, user: command.user_id });
    // A budget of 0 always answers through response_url (how tests take the slow path).
    const timer = new Promise<'slow'>((resolve) => (budget <= 0 ? resolve('slow') : setTimeout(() => resolve('slow'), budget).unref()));
    const settled = pending.then((r) => ({ r }), (error: unknown) => ({ error }));
    const first = await Promise.race(budget <= 0 ? [timer] : [settled, timer]);
    if (first !== 'slow' && 'r' in first) {
      await ack({ response_type: 'ephemeral', ...withOrigin(first.r.message, text) });
      return;
    }
    if (first !== 'slow') {
      log.error('/groups failed', { error: first.error, subcommand: text.split(/\s+/)[0] ?? '' });
      await ack({ response_type: 'ephemeral', text: 'Sorry, that did not work: the data could not be read. Try again in a minute.' });
      return;
    }
    await ack({ response_type: 'ephemeral', text: '⏳ Working on it…' });
    try {
      const reply: Reply = await pending;
      await respond({ response_type: 'ephemeral', replace_original: true, ...withOrigin(reply.message, text) });
    } catch (error) {
      log.error('/groups failed after the acknowledgement', { error });
      await respond({ response_type: 'ephemeral', replace_original: true, text: 'Sorry, that did not work: the data could not be read. Try again in a minute.' }).catch(() => {});
    }
  });
}

/**
 * Remember the command a list came from in its first block's id, so a Details
 * click can offer Back to the same list (read by slack/actions.ts).
 */
export function withOrigin(message: SlackMessage, text: string): SlackMessage {
  const origin = text.trim().replace(/\s+/g, ' ');
  if (!/^(top|quiet)\b/i.test(origin) || origin.length > 200 || message.blocks.length === 0) return message;
  const [first, ...rest] = message.blocks;
  return { ...message, blocks: [{ ...first, block_id: `cmd:${origin}` } as typeof first, ...rest] };
}
