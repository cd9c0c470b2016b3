/** Every Slack listener of the app, registered in one place. */
import type { App } from '@slack/bolt';
import type { ReplyContext } from '../app/reply.js';
import type { Logger } from '../log.js';
import { registerActions, type ActionOptions } from './actions.js';
import { registerCommands } from './commands.js';
import { registerEventDedupe } from './dedupe.js';
import { registerEventPageActions } from './event-page-actions.js';

export interface SlackListenerOptions extends ActionOptions {
  ackBudgetMs?: number;
  /** Registers App Home (the Groups page); returns the handler for its buttons. */
  home?: (app: App) => ActionOptions['onViewAction'];
}

export function registerListeners(app: App, ctx: ReplyContext, log: Logger, opts: SlackListenerOptions = {}): void {
  // Slack's retries of an event already handled (here or by another process) are skipped.
  registerEventDedupe(app, ctx.db, log);
  const onViewAction = opts.home?.(app) ?? opts.onViewAction;
  registerCommands(app, ctx, log, { ackBudgetMs: opts.ackBudgetMs, now: opts.now });
  registerActions(app, ctx, log, { now: opts.now, onViewAction });
  registerEventPageActions(app, ctx, log, { now: opts.now });
}
