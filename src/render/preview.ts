/**
 * A Slack message as a person would see it in the client, drawn as plain text:
 * headers, sections, fields, context lines, buttons. For the demo and for
 * reading replies in a terminal; escaping is undone as Slack's client undoes it.
 */
import type { KnownBlock } from '@slack/types';
import type { SlackMessage } from '../domain/types.js';

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** Bold and code marks as the client shows them: the marks themselves disappear. */
const mrkdwn = (s: string) => unescape(s.replace(/\*([^*\n]+)\*/g, '$1').replace(/`([^`\n]+)`/g, '$1'));

type TextObject = { type: string; text: string };
const textOf = (t: TextObject | undefined) => (t ? (t.type === 'mrkdwn' ? mrkdwn(t.text) : unescape(t.text)) : '');

export function previewMessage(message: SlackMessage): string {
  const out: string[] = [];
  for (const block of message.blocks as (KnownBlock & Record<string, any>)[]) {
    switch (block.type) {
      case 'header':
        out.push(`▌${textOf(block.text)}`, '');
        break;
      case 'section': {
        if (block.text) out.push(textOf(block.text));
        if (block.fields) for (const f of block.fields as TextObject[]) out.push(`  ${textOf(f)}`.replace(/\n/g, '  '));
        if (block.accessory?.type === 'button') out.push(`    [ ${textOf(block.accessory.text)} ]`);
        break;
      }
      case 'context':
        out.push(...(block.elements as TextObject[]).filter((e) => 'text' in e).map((e) => `  ${textOf(e)}`));
        break;
      case 'divider':
        out.push('────────────────────────────────────────');
        break;
      case 'actions':
        out.push((block.elements as any[]).map((e) => `[ ${textOf(e.text)} ]`).join(' '));
        break;
      case 'rich_text':
        break;
      default:
        out.push(`(${block.type})`);
    }
  }
  return out.join('\n');
}
