/** Every Slack listener of the app, registered in one place. */
import type { App } from '@slack/bolt';
import type { ReplyContext } from '../app/reply.js';
import type { Logger } from '../log.js';
import { registerActions, type ActionOptions } from './actions.js';
import { registerCommands } from './commands.js';
import { registerEventDedupe } from './dedupe.js';
import { registerEventPageActions } from './event-page-actions.js';
import { ACTION_ID_PATTERN, EVENTS_ACTION_PATTERN } from '../render/action-ids.js';

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
  registerUnknownActions(app, log);
}

/** What a click on a button this app does not know (from another app, or a message of an older version) gets. */
export const UNKNOWN_ACTION_TEXT = 'This button is not one this app knows: it may belong to an older message. Run the command again (`/groups help` lists them).';

/**
 * Every interaction must be acknowledged within 3 seconds, or Slack shows the person an error.
 * Actions outside the app's own ids are acknowledged at once (those within them have their own
 * listeners, which acknowledge) and, where the message has a response_url, told so.
 */
function registerUnknownActions(app: App, log: Logger): void {
  app.action(/.*/, async ({ action, ack, body, respond }) => {
    const id = (action as { action_id?: unknown }).action_id;
    if (typeof id === 'string' && (ACTION_ID_PATTERN.test(id) || EVENTS_ACTION_PATTERN.test(id))) return;
    await ack();
    log.debug('an action this app does not know, acknowledged', { actionId: typeof id === 'string' ? id.slice(0, 80) : null });
    if ((body as { response_url?: unknown }).response_url) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: UNKNOWN_ACTION_TEXT }).catch((error) => log.warn('could not answer an unknown action', { error }));
    }
  });
}
