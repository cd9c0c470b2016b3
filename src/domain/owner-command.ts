/**
 * `/groups owner NAME @person|none`, `watch NAME`, `unwatch NAME`, `mine`: the text
 * turned into a command. Pure, never throws; problems are plain text (escaped by
 * whoever renders them).
 *
 * A person typed in Slack arrives as a mention, `<@U123|alice>` or `<@U123>` (the
 * command is declared with `should_escape: true` in manifest.yml, so Slack sends the
 * user id, not the typed `@alice`).
 */
import type { GroupsCommand } from './types.js';

/** A Slack user id: U… or W… (Enterprise Grid), upper-case letters and digits. */
export const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const MENTION = /^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$/;

/** The user id of a typed mention (`<@U123|alice>`, `<@U123>`), or null. */
export function parseMention(word: string): string | null {
  const m = MENTION.exec(word.trim());
  return m ? m[1] : null;
}

const OWNER_EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

const help = (problem: string): GroupsCommand => ({ kind: 'help', unknown: null, problem });

const OWNER_USAGE = '`owner` takes a company and a person: `owner Acme @alice` (or their email), or `owner Acme none` to clear it.';

/** Parses what follows `owner`, `watch`, `unwatch` or `mine`. */
export function parseOwnerCommand(sub: 'owner' | 'watch' | 'unwatch' | 'mine', rest: string[]): GroupsCommand {
  if (sub === 'mine') {
    if (rest.length > 0) return { kind: 'help', unknown: rest[0], problem: '`mine` takes nothing more: it lists the companies you own or watch.' };
    return { kind: 'mine' };
  }
  if (sub === 'watch' || sub === 'unwatch') {
    const query = rest.join(' ');
    if (query === '') return help(`\`${sub}\` needs a company name or key, for example \`${sub} Acme\`.`);
    if (rest.some((w) => parseMention(w) !== null)) return help(`\`${sub}\` is for yourself: \`${sub} Acme\`. To give a company an owner, use \`owner Acme @alice\`.`);
    return { kind: sub, query };
  }
  // owner NAME [@person|none]
  if (rest.length === 0) return help(OWNER_USAGE);
  const last = rest[rest.length - 1];
  const name = rest.slice(0, -1).join(' ');
  const mentioned = parseMention(last);
  if (mentioned) {
    if (name === '') return help(`${OWNER_USAGE} The company is missing.`);
    if (rest.slice(0, -1).some((w) => parseMention(w) !== null)) return help(`Name one owner: ${OWNER_USAGE}`);
    return { kind: 'owner', query: name, set: { userId: mentioned } };
  }
  if (last.toLowerCase() === 'none' && name !== '') return { kind: 'owner', query: name, set: { userId: null } };
  if (OWNER_EMAIL.test(last) && name !== '') return { kind: 'owner', query: name, set: { email: last.toLowerCase() } };
  if (last.startsWith('@') || last.startsWith('<@')) {
    return help(`“${last.slice(0, 60)}” is not a Slack mention: type @ and pick the person from Slack's list, as in \`owner Acme @alice\`.`);
  }
  // `owner Acme`: who owns it
  return { kind: 'owner', query: rest.join(' '), set: null };
}
