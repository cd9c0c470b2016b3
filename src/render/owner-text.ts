/**
 * Owners in messages. `mention` is the one place the bot writes a mention itself
 * (`<@U…>`, for a user id it has checked); everything else that names an owner (an
 * email from the trait, a trait that is no id) goes through `esc` like all data.
 */
import type { Owner } from '../domain/types.js';
import { USER_ID } from '../domain/owner-command.js';
import { esc } from './blocks.js';

/** `<@U123>` for a valid user id; anything else escaped as plain text. */
export function mention(userId: string): string {
  return USER_ID.test(userId) ? `<@${userId}>` : esc(userId);
}

/** The owner in mrkdwn: a mention, or plain text (escaped) for someone Slack does not know. */
export function ownerMrkdwn(owner: Owner | undefined): string | null {
  if (!owner) return null;
  if (owner.kind === 'user') return mention(owner.userId);
  if (owner.kind === 'unresolved') return `${esc(owner.text, 120)} (${ownerWhy(owner)})`;
  return null;
}

/** The owner in plain text (terminal, and the fallback where no mention is wanted). */
export function ownerPlain(owner: Owner | undefined): string | null {
  if (!owner) return null;
  if (owner.kind === 'user') return `<@${owner.userId}>`;
  if (owner.kind === 'unresolved') return `${owner.text} (${ownerWhy(owner)})`;
  return null;
}

function ownerWhy(owner: Extract<Owner, { kind: 'unresolved' }>): string {
  switch (owner.why) {
    case 'not-in-slack':
      return 'not found in Slack';
    case 'not-an-email':
      return 'not an email or a Slack user id';
    case 'lookup-failed':
      return owner.error === 'missing_scope' ? 'not looked up: the app lacks the users:read.email scope' : 'not looked up yet';
  }
}

/** A `show` reply with the company's owner as a context line under its header. */
export function withOwnerLine(
  reply: { message: import('../domain/types.js').SlackMessage; terminal: string },
  owner: Owner | undefined,
  trait: string,
): { message: import('../domain/types.js').SlackMessage; terminal: string } {
  const m = ownerMrkdwn(owner);
  const line = m ? `Owner: ${m}` : `No owner: \`/groups owner NAME @person\` sets one (or send the ${esc(trait, 60)} trait).`;
  const plain = ownerPlain(owner);
  const [head, ...rest] = reply.message.blocks;
  const block = { type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: line, verbatim: true }] };
  return {
    message: { text: `${reply.message.text}\n${line}`, blocks: (head ? [head, block, ...rest] : [block]).slice(0, 50) },
    terminal: `${reply.terminal}\n${plain ? `Owner: ${plain}` : 'No owner'}`,
  };
}
