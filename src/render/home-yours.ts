/**
 * App Home's owner parts, added to the views home-view.ts builds: the "Yours"
 * section at the top of the Groups page (the companies you own or watch, falling
 * first), and in a company's detail its owner with a Watch or Unwatch button.
 */
import type { KnownBlock } from '@slack/types';
import type { Owner } from '../domain/types.js';
import type { CompanyRow, Metric } from '../domain/types.js';
import { encodeAction, MAX_ACTION_VALUE } from './action-ids.js';
import { context, section, showButton } from './blocks.js';
import { isFalling } from '../domain/trend.js';
import { formatNumber } from './format.js';
import { HOME_MAX_BLOCKS, type HomeListView } from './home-view.js';
import { yoursLine } from './owner-replies.js';
import { ownerMrkdwn } from './owner-text.js';

/** Companies listed under "Yours" before "and N more". */
export const HOME_YOURS_LISTED = 5;
/** Action ids of the "Yours" Details buttons start here, clear of the list's and Going quiet's. */
const YOURS_BUTTON_BASE = 800_000;

/** The view with "Yours" above the ranked list (after the range and metric controls). */
export function withYours(view: HomeListView, input: { rows: CompanyRow[]; owned: Set<string>; metric: Metric }): HomeListView {
  const part: KnownBlock[] = [];
  if (input.rows.length === 0) {
    part.push(section('*Yours*\nYou own or watch no company yet: `/groups watch NAME` sends you a DM when it starts to fall.'));
  } else {
    const falling = input.rows.filter((r) => isFalling(r.trend)).length;
    part.push(section(`*Yours* · ${formatNumber(input.rows.length)} you own or watch · ${formatNumber(falling)} falling`));
    input.rows.slice(0, HOME_YOURS_LISTED).forEach((r, i) => part.push(section(yoursLine(r, input.metric, input.owned.has(r.key), i + 1), showButton(r.key, YOURS_BUTTON_BASE + i))));
    if (input.rows.length > HOME_YOURS_LISTED) part.push(context(`and ${formatNumber(input.rows.length - HOME_YOURS_LISTED)} more: \`/groups mine\` lists them all`));
  }
  const at = view.blocks.findIndex((b) => b.type === 'actions') + 1;
  const room = HOME_MAX_BLOCKS - view.blocks.length;
  if (room < 1) return view;
  const fitted = part.slice(0, room);
  return { ...view, blocks: [...view.blocks.slice(0, at), ...fitted, ...view.blocks.slice(at)] };
}

/** The detail view with the owner and a Watch or Unwatch button under the company's title. */
export function withOwnerAndWatch(view: HomeListView, input: { key: string; owner: Owner | undefined; watching: boolean }): HomeListView {
  const o = ownerMrkdwn(input.owner);
  const line = o ? `Owner: ${o}` : 'No owner: `/groups owner NAME @person` sets one.';
  const blocks: KnownBlock[] = [context(line)];
  if (input.key.length <= MAX_ACTION_VALUE) {
    blocks.push({
      type: 'actions',
      elements: [
        input.watching
          ? { type: 'button', text: { type: 'plain_text', text: 'Unwatch' }, action_id: encodeAction('unwatch', 0), value: input.key }
          : { type: 'button', text: { type: 'plain_text', text: 'Watch' }, action_id: encodeAction('watch', 0), value: input.key, style: 'primary' },
      ],
    });
  }
  const room = HOME_MAX_BLOCKS - view.blocks.length;
  const fitted = blocks.slice(0, Math.max(0, room));
  return { ...view, blocks: [view.blocks[0], ...fitted, ...view.blocks.slice(1)] };
}

