/**
 * Buttons in `/groups` replies: Details opens a company in place, Back returns
 * to the list it came from (both replace the ephemeral message via response_url).
 * Payloads are validated; anything this app did not make is ignored.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { DEFAULT_RANGE } from '../domain/command.js';
import type { Logger } from '../log.js';
import { ACTION_ID_PATTERN, parseAction } from '../render/action-ids.js';
import { groupsReply, showReply, type ReplyContext } from '../app/reply.js';
import { ownershipClick } from '../app/owner-commands.js';

const payload = z.object({
  type: z.literal('block_actions'),
  container: z.object({ type: z.string() }).loose().optional(),
  response_url: z.url().optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() }).loose()).min(1),
});

export interface ActionOptions {
  now?: () => Date;
  /** Handles the same actions when clicked in the App Home tab (container type "view"). */
  onViewAction?: (args: { body: BlockAction; action: ButtonAction; client: unknown }) => Promise<void>;
}

export function registerActions(app: App, ctx: ReplyContext, log: Logger, opts: ActionOptions = {}): void {
  app.action<BlockAction<ButtonAction>>(ACTION_ID_PATTERN, async ({ ack, body, action, respond, client }) => {
    await ack();
    const parsed = payload.safeParse(body);
    if (!parsed.success) {
      log.warn('ignored an action payload of an unexpected shape');
      return;
    }
    if (parsed.data.container?.type === 'view') {
      await opts.onViewAction?.({ body, action, client });
      return;
    }
    const a = parseAction(action.action_id, action.value);
    if (!a) return;
    const now = opts.now?.() ?? new Date();
    const previous = previousCommand(body);
    try {
      if (a.kind === 'show') {
        // Details on a message that stays (an alert DM) answers beside it; on a /groups reply it replaces it.
        const keep = (body.container as { is_ephemeral?: unknown } | undefined)?.is_ephemeral === false;
        const reply = await showReply(ctx, a.key, DEFAULT_RANGE, now, keep ? {} : { back: previous ?? 'top' });
        await respond({ response_type: 'ephemeral', replace_original: !keep, ...reply.message });
      } else if (a.kind === 'back') {
        const reply = await groupsReply(ctx, a.to ?? 'top', now);
        await respond({ response_type: 'ephemeral', replace_original: true, ...reply.message });
      } else if ((a.kind === 'watch' || a.kind === 'unwatch' || a.kind === 'disown') && ctx.owners) {
        // From an alert DM: say what changed beside it, and keep the alert.
        const reply = await ownershipClick({ ...ctx, owners: ctx.owners }, a.kind, a.key, body.user.id);
        await respond({ response_type: 'ephemeral', replace_original: false, ...reply.message });
      }
    } catch (error) {
      log.error('a /groups button failed', { error, kind: a.kind });
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'Sorry, that did not work. Try the command again.' }).catch(() => {});
    }
  });
}

/**
 * The list a Details click came from, so Back returns to it. Each list message
 * carries its command text in the header's block_id (see slack/index.ts).
 */
function previousCommand(body: BlockAction): string | null {
  const blocks = (body.message as { blocks?: { block_id?: string }[] } | undefined)?.blocks ?? [];
  for (const b of blocks) {
    const m = /^cmd:(.{1,200})$/.exec(b.block_id ?? '');
    if (m) return m[1];
  }
  return null;
}
