/**
 * The Groups page in the App Home tab. Opening the tab publishes the list
 * (`views.publish`); Details, Back, Previous / Next and the range and metric
 * selectors re-publish the view in place. The view's state comes back in its
 * `private_metadata`; every payload is validated with zod, and a stale view or
 * a company that is gone gets the list again with a short note.
 *
 * A click re-publishes with the clicked view's `hash`, so of two quick clicks on the same
 * view only the first one's page is shown: Slack refuses the second with `hash_conflict`
 * (the view changed since), which is expected and dropped, not retried.
 */
import type { App } from '@slack/bolt';
import type { HomeView } from '@slack/types';
import { z } from 'zod';
import { CHART_RANGE } from '../app/charts.js';
import type { ChartLinks } from '../app/chart-links.js';
import { companyDetail, companyRows, defaultMetric, quietRows, rankByActivity, type GroupsContext } from '../app/company-reads.js';
import { keyCoverage } from '../db/queries/companies.js';
import type { Logger } from '../log.js';
import { encodeAction, parseSlackAction } from '../render/action-ids.js';
import { defaultHomeState, homeDetailView, homeListView, parseHomeState, type HomeState } from '../render/home-view.js';
import { truncate } from '../render/format.js';
import type { ActionOptions } from './actions.js';
import { ownershipClick } from '../app/owner-commands.js';
import { isWatching, resolveOwners, type OwnerDeps } from '../app/owners.js';
import { yours } from '../app/owner-commands.js';
import { withOwnerAndWatch, withYours } from '../render/home-yours.js';

export interface HomeOptions {
  /** A fixed clock for tests. */
  now?: () => Date;
  /** Companies on one page of the list. */
  pageSize?: number;
}

export type ViewActionHandler = NonNullable<ActionOptions['onViewAction']>;

export const STALE_NOTE = 'That view was out of date, so here is the list of all companies again.';
export const FAILED_NOTE = 'Sorry, the Groups page could not be loaded just now. Try again in a minute.';
export function goneNote(key: string): string {
  return `That company (${truncate(key, 60)}) is no longer here, so here is the list of all companies again.`;
}

const homeOpened = z.object({
  type: z.literal('app_home_opened'),
  user: z.string().min(1).max(64),
  tab: z.string().optional(),
  view: z.object({ private_metadata: z.string().optional() }).loose().optional(),
});

const viewAction = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(64) }).loose(),
  view: z.object({ type: z.literal('home'), private_metadata: z.string().optional(), hash: z.string().max(200).optional() }).loose(),
});

interface ViewsClient {
  views: { publish(args: { user_id: string; view: HomeView; hash?: string }): Promise<unknown> };
}

function isViewsClient(c: unknown): c is ViewsClient {
  return typeof (c as ViewsClient | null)?.views?.publish === 'function';
}

/** Registers `app_home_opened`; returns the handler for clicks in the Home tab (wired through registerActions). */
export function registerHome(app: App, ctx: GroupsContext & { chartLinks?: ChartLinks; owners?: OwnerDeps }, log: Logger, opts: HomeOptions = {}): ViewActionHandler {
  const clock = () => opts.now?.() ?? new Date();
  const keyActionsSet = ctx.keyActions.length > 0;

  async function listView(state: HomeState, now: Date, note?: string, user?: string): Promise<HomeView> {
    const [rows, coverage] = await Promise.all([companyRows(ctx, { now, range: state.range, metric: state.metric }), keyCoverage(ctx.db, now, 7)]);
    const view = homeListView({
      rows: rankByActivity(rows, state.metric),
      quiet: quietRows(rows),
      range: state.range,
      metric: state.metric,
      page: state.page,
      pageSize: opts.pageSize,
      coverage: coverage.events > 0 ? coverage.eventsWithCompany / coverage.events : null,
      keyActionsSet,
      now,
      note,
    });
    if (!ctx.owners || !user || state.page > 1) return view;
    // "Yours" opens the page: the companies this person owns or watches, falling first.
    const y = await yours({ ...ctx, owners: ctx.owners }, user, now);
    return withYours(view, { rows: y.rows, owned: y.owned, metric: defaultMetric(ctx) });
  }

  /** One company, or the list with a note when it is gone. */
  async function detailView(key: string, state: HomeState, now: Date, user?: string): Promise<HomeView> {
    const detail = await companyDetail(ctx, key, { now, range: state.range, metric: state.metric });
    const back: HomeState = { view: 'list', range: state.range, metric: state.metric, page: state.page };
    if (!detail) return listView({ ...back, page: 1 }, now, goneNote(key), user);
    const chart = ctx.chartLinks ? await ctx.chartLinks.company(key, state.metric, CHART_RANGE, now) : null;
    const view = homeDetailView({ detail, metric: state.metric, range: state.range, now, back, keyActionsSet, chart: chart ?? undefined });
    if (!ctx.owners || !user) return view;
    const [owners, watching] = await Promise.all([resolveOwners(ctx.owners, [key]), isWatching(ctx.db, key, user)]);
    return withOwnerAndWatch(view, { key, owner: owners.get(key), watching });
  }

  async function publish(client: unknown, userId: string, render: () => Promise<HomeView>, hash?: string): Promise<void> {
    const c = isViewsClient(client) ? client : (app.client as unknown as ViewsClient);
    let view: HomeView;
    try {
      view = await render();
    } catch (error) {
      log.error('the Groups page could not be built', { error });
      view = failedView();
    }
    try {
      await c.views.publish({ user_id: userId, view, ...(hash ? { hash } : {}) });
    } catch (error) {
      if (slackError(error) === 'hash_conflict') {
        log.info('a newer Groups page was published since this click; this one is dropped');
        return;
      }
      log.error('views.publish failed', { error });
    }
  }

  app.event('app_home_opened', async ({ event, client }) => {
    const e = homeOpened.safeParse(event);
    if (!e.success) {
      log.warn('ignored an app_home_opened event of an unexpected shape');
      return;
    }
    if (e.data.tab !== 'home') return;
    // Opening the tab shows the list, keeping the range and metric last chosen there.
    const previous = parseHomeState(e.data.view?.private_metadata);
    const state: HomeState = previous ? { view: 'list', range: previous.range, metric: previous.metric, page: 1 } : defaultHomeState(defaultMetric(ctx));
    await publish(client, e.data.user, () => listView(state, clock(), undefined, e.data.user));
  });

  return async ({ body, action, client }) => {
    const b = viewAction.safeParse(body);
    if (!b.success) {
      log.warn('ignored a view action payload of an unexpected shape');
      return;
    }
    const a = parseSlackAction(action);
    if (!a) {
      log.warn('ignored a Home action this app did not make');
      return;
    }
    const now = clock();
    const previous = parseHomeState(b.data.view.private_metadata);
    const state = previous ?? defaultHomeState(defaultMetric(ctx));
    const user = b.data.user.id;
    const render = async (): Promise<HomeView> => {
      switch (a.kind) {
        case 'show':
          return detailView(a.key, state, now, user);
        case 'back':
          return listView({ ...state, view: 'list' }, now, undefined, user);
        case 'page':
          return previous ? listView({ ...state, view: 'list', page: a.page }, now, undefined, user) : listView(state, now, STALE_NOTE, user);
        case 'range':
        case 'metric': {
          const next: HomeState = a.kind === 'range' ? { ...state, range: a.range } : { ...state, metric: a.metric };
          // In a company's detail the selectors re-render it; in the list they start again at page 1.
          if (previous?.view === 'detail' && previous.key !== undefined) return detailView(previous.key, next, now, user);
          return listView({ ...next, view: 'list', page: 1 }, now, undefined, user);
        }
        case 'watch':
        case 'unwatch':
        case 'disown':
          if (ctx.owners) await ownershipClick({ ...ctx, owners: ctx.owners }, a.kind, a.key, user);
          return detailView(a.key, state, now, user);
      }
    };
    await publish(client, user, render, b.data.view.hash);
  };
}

/** The Web API's error code (`hash_conflict`, …) of a failed call, if it has one. */
function slackError(error: unknown): string | undefined {
  const e = (error as { data?: { error?: unknown } } | null)?.data?.error;
  return typeof e === 'string' ? e : undefined;
}

/** When the data cannot be read: a short apology and a button that tries again. */
function failedView(): HomeView {
  return {
    type: 'home',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Groups' } },
      { type: 'section', text: { type: 'mrkdwn', text: `⚠️ ${FAILED_NOTE}`, verbatim: true } },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Try again' }, action_id: encodeAction('back', 0), value: 'home' }],
      },
    ],
  };
}
