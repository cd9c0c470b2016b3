/**
 * The verbs behind `/groups owner`, `watch`, `unwatch` and `mine`: find the
 * company, change or read ownership, and hand data to the renderers.
 */
import { findCompanies } from '../db/queries/companies.js';
import type { GroupsCommand } from '../domain/types.js';
import { DEFAULT_RANGE } from '../domain/command.js';
import * as blocks from '../render/blocks.js';
import * as terminal from '../render/terminal.js';
import {
  mineReply,
  needsSlackUserReply,
  ownerClearedReply,
  ownerSetReply,
  ownerShownReply,
  watchReply,
  yoursOrder,
  oneLine,
  notOwnerReply,
  disownedReply,
  withWarning,
  emailNotFoundReply,
} from '../render/owner-replies.js';
import { closestNames, companyRowsOf, defaultMetric, type GroupsContext } from './company-reads.js';
import { allCompanyNames } from '../db/queries/companies.js';
import { clearOwner, companiesOf, lookupEmails, resolveOwners, setOwner, unwatch, watch, type OwnerDeps } from './owners.js';
import type { CompanyRow } from '../domain/types.js';
import { sql } from 'drizzle-orm';
import { dmFix } from './direct-alerts.js';
import { esc } from '../render/blocks.js';
import { mention } from '../render/owner-text.js';

export interface OwnerReplyContext extends GroupsContext {
  owners: OwnerDeps;
}

type OwnerCommand = Extract<GroupsCommand, { kind: 'owner' | 'watch' | 'unwatch' | 'mine' }>;
type Reply = { message: import('../domain/types.js').SlackMessage; terminal: string };

/** One company by name or key, or the reply that says there is none or several. */
async function oneCompany(ctx: GroupsContext, query: string): Promise<{ key: string; name: string | null } | Reply> {
  const found = await findCompanies(ctx.db, query);
  if (found.matches.length === 1) return found.matches[0];
  if (found.matches.length > 1) {
    const input = { query, matches: found.matches, more: found.more };
    return { message: blocks.matchesMessage(input), terminal: terminal.matchesText(input) };
  }
  const input = { query, suggestions: closestNames(query, await allCompanyNames(ctx.db)) };
  return { message: blocks.noMatchMessage(input), terminal: terminal.noMatchText(input) };
}

export async function ownerCommandReply(ctx: OwnerReplyContext, cmd: OwnerCommand, now: Date, user: string | undefined): Promise<Reply> {
  if (cmd.kind === 'mine') {
    if (!user) return needsSlackUserReply('mine');
    return mine(ctx, user, now);
  }
  if ((cmd.kind === 'watch' || cmd.kind === 'unwatch') && !user) return needsSlackUserReply(cmd.kind);
  const c = await oneCompany(ctx, cmd.query);
  if ('message' in c) return c;
  switch (cmd.kind) {
    case 'watch':
      return withDmCheck(ctx, user!, watchReply(c, 'watch', await watch(ctx.db, c.key, user!)));
    case 'unwatch':
      return watchReply(c, 'unwatch', await unwatch(ctx.db, c.key, user!));
    case 'owner': {
      const trait = ctx.owners.ownerTrait;
      if (cmd.set === null) {
        const owner = (await resolveOwners(ctx.owners, [c.key])).get(c.key)!;
        return ownerShownReply(c, owner, trait);
      }
      if ('email' in cmd.set) {
        const found = (await lookupEmails(ctx.owners, [cmd.set.email])).get(cmd.set.email);
        if (found && 'userId' in found && found.userId) {
          await setOwner(ctx.db, c.key, found.userId, user ?? null);
          return withDmCheck(ctx, found.userId, ownerSetReply(c, found.userId));
        }
        return emailNotFoundReply(cmd.set.email, found && 'error' in found ? found.error : null);
      }
      if (cmd.set.userId) {
        await setOwner(ctx.db, c.key, cmd.set.userId, user ?? null);
        return withDmCheck(ctx, cmd.set.userId, ownerSetReply(c, cmd.set.userId));
      }
      const was = await clearOwner(ctx.db, c.key);
      const owner = (await resolveOwners(ctx.owners, [c.key])).get(c.key)!;
      return ownerClearedReply(c, was, owner, trait);
    }
  }
}

/** The companies a person owns or watches, as rows, falling first. */
export async function yours(ctx: OwnerReplyContext, user: string, now: Date): Promise<{ rows: CompanyRow[]; owned: Set<string> }> {
  const { owned, watched } = await companiesOf(ctx.owners, user);
  const keys = [...new Set([...owned, ...watched])];
  if (keys.length === 0) return { rows: [], owned: new Set() };
  const metric = defaultMetric(ctx);
  const rows = await companyRowsOf(ctx, keys, { now, range: DEFAULT_RANGE, metric });
  return { rows: yoursOrder(rows, metric), owned: new Set(owned) };
}

async function mine(ctx: OwnerReplyContext, user: string, now: Date): Promise<Reply> {
  const y = await yours(ctx, user, now);
  return mineReply({ rows: y.rows, owned: y.owned, metric: defaultMetric(ctx) });
}

/**
 * A Watch, Stop watching or Not mine button (alert DMs, App Home). "Not mine" only
 * works for the company's current owner: it sets the owner to nobody in Slack, which
 * wins over the trait, so the alerts stop.
 */
export async function ownershipClick(ctx: OwnerReplyContext, kind: 'watch' | 'unwatch' | 'disown', key: string, user: string): Promise<Reply> {
  const [c] = (await findCompanies(ctx.db, key)).matches.filter((m) => m.key === key);
  if (!c) return oneLine('That company is no longer here.', 'That company is no longer here.');
  if (kind === 'watch') return withDmCheck(ctx, user, watchReply(c, 'watch', await watch(ctx.db, key, user)));
  if (kind === 'unwatch') return watchReply(c, 'unwatch', await unwatch(ctx.db, key, user));
  const owner = (await resolveOwners(ctx.owners, [key])).get(key);
  if (owner?.kind !== 'user' || owner.userId !== user) return notOwnerReply(c);
  await setOwner(ctx.db, key, null, user);
  return disownedReply(c);
}

/**
 * Can alerts reach this person? Opens the bot's DM with them (conversations.open, kept
 * for the alert run) and, when Slack refuses (an install without im:write), says so in
 * the reply with the fix, instead of leaving them waiting for alerts that cannot come.
 */
async function withDmCheck(ctx: OwnerReplyContext, userId: string, reply: Reply): Promise<Reply> {
  const client = ctx.owners.client;
  if (!client) return reply;
  const out = await client.postForm('conversations.open', { users: userId });
  if (out.kind === 'ok') {
    const id = (out.body.channel as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string' && id !== '') {
      await ctx.db.execute(
        sql`insert into alert_recipients (user_id, dm_channel) values (${userId}, ${id}) on conflict (user_id) do update set dm_channel = excluded.dm_channel`,
      );
    }
    return reply;
  }
  if (out.kind !== 'refused') return reply; // Slack busy: the alert run will try itself
  const fix = dmFix(out.error, out.body.needed) ?? 'check the app\'s installation';
  return withWarning(reply, `Alerts cannot reach ${mention(userId)} yet: Slack answered ${esc(out.error, 60)}. Fix: ${esc(fix, 300)}.`, `Alerts cannot reach <@${userId}> yet: Slack answered ${out.error}. Fix: ${fix}.`);
}
