/**
 * The buttons of `show NAME events`: Previous / Next (and a choice's Events) replace the
 * ephemeral message with the page asked for, through the action's response_url. The value is
 * the signed page state; a forged or stale one is answered beside the list, which stays.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { EVENTS_ACTION_PATTERN, parseEventsAction } from '../render/action-ids.js';
import { eventPageClick } from '../app/event-list-reply.js';
import type { ReplyContext } from '../app/reply.js';

const payload = z.object({
  type: z.literal('block_actions'),
  container: z.object({ type: z.string() }).loose().optional(),
  response_url: z.url().optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() }).loose()).min(1),
});

export function registerEventPageActions(app: App, ctx: ReplyContext, log: Logger, opts: { now?: () => Date } = {}): void {
  app.action<BlockAction<ButtonAction>>(EVENTS_ACTION_PATTERN, async ({ ack, body, action, respond }) => {
    await ack();
    if (!payload.safeParse(body).success) {
      log.warn('ignored an event-list action payload of an unexpected shape');
      return;
    }
    const value = parseEventsAction(action.action_id, action.value);
    if (value === null) return;
    try {
      const reply = await eventPageClick(ctx, value, opts.now?.() ?? new Date());
      if (reply.refused) log.warn('refused an event-list page button', { reason: reply.refused });
      await respond({ response_type: 'ephemeral', replace_original: reply.replace, ...reply.message });
    } catch (error) {
      log.error('an event-list page button failed', { error });
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'Sorry, that did not work. Try the command again.' }).catch(() => {});
    }
  });
}
