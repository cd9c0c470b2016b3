/**
 * The page state of `show NAME events`' Previous / Next buttons: which company (its key), which
 * range, which offset, and when the list was made, signed so that a click is served only for a
 * value this app made.
 *
 *   {"v":1,"k":"acct_123","r":"30d","o":40,"t":1764500000,"s":"<base64url HMAC>"}
 *
 * s = HMAC-SHA256 over [v, k, r, o, t], keyed with HMAC-SHA256(secret, 'leadmaps-event-pages'):
 * a key of its own, so it can never stand for a Slack request signature or a chart URL's. The
 * secret is SLACK_SIGNING_SECRET (else, in Socket Mode, SLACK_APP_TOKEN; else a key made at
 * start-up, so pages then last as long as the process). Checked in constant time.
 *
 * A value is refused as `forged` (not ours, tampered with, malformed, or signed with a secret
 * since changed) or `stale` (made more than PAGE_TTL_SECONDS ago: Slack's response_url lives 30
 * minutes, so a click that old is not one Slack would still deliver an answer for; or made in
 * the future). The counts of every page are read as of `t`, so the pages of one list agree on
 * their range's days.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseRange } from '../domain/command.js';
import type { Range } from '../domain/types.js';
import { MAX_ACTION_VALUE } from '../render/action-ids.js';

const KEY_LABEL = 'leadmaps-event-pages';
const VERSION = 1;
/** How long a page button works after its list was made. */
export const PAGE_TTL_SECONDS = 24 * 3600;
/** Clock skew allowed for a value "made" a little in the future (several processes). */
const FUTURE_SKEW_SECONDS = 5 * 60;
/** The largest offset a value may carry (a company has at most EVENT_NAMES_PER_COMPANY + 1 names; this leaves room). */
export const MAX_PAGE_OFFSET = 100_000;

export interface EventPageState {
  key: string;
  range: Range;
  offset: number;
  /** When the list was made: its counts are read as of then. */
  madeAt: Date;
}

export type PageStateCheck = { ok: true; state: EventPageState } | { ok: false; why: 'forged' | 'stale'; key?: string; range?: Range };

/** The signing key from whichever secret the bot has; a fresh random one without any. */
export function eventPageKey(secret: string | undefined): Buffer {
  return createHmac('sha256', secret ?? randomBytes(32).toString('hex')).update(KEY_LABEL).digest();
}

function signature(key: Buffer, k: string, r: string, o: number, t: number): string {
  return createHmac('sha256', key).update(JSON.stringify([VERSION, k, r, o, t])).digest('base64url');
}

/** The button value for a page; null when it cannot fit in Slack's 2,000 characters (a very long company key). */
export function signPageState(key: Buffer, state: EventPageState): string | null {
  const t = Math.floor(state.madeAt.getTime() / 1000);
  const o = Math.max(0, Math.floor(state.offset));
  const value = JSON.stringify({ v: VERSION, k: state.key, r: state.range.label, o, t, s: signature(key, state.key, state.range.label, o, t) });
  return value.length <= MAX_ACTION_VALUE ? value : null;
}

const shape = z.object({
  v: z.literal(VERSION),
  k: z.string().min(1).max(MAX_ACTION_VALUE),
  r: z.string().max(20),
  o: z.number().int().min(0).max(MAX_PAGE_OFFSET),
  t: z.number().int().min(0).max(1e11),
  s: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
}).strict();

/** What a clicked value stands for, when this app made it and it is not stale. */
export function verifyPageState(key: Buffer, value: string, now: Date): PageStateCheck {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { ok: false, why: 'forged' };
  }
  const v = shape.safeParse(json);
  if (!v.success) return { ok: false, why: 'forged' };
  const { k, r, o, t, s } = v.data;
  const expected = Buffer.from(signature(key, k, r, o, t), 'base64url');
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(expected, given)) return { ok: false, why: 'forged' };
  const range = parseRange(r);
  if (!range || !range.ok) return { ok: false, why: 'forged' };
  const nowSeconds = now.getTime() / 1000;
  if (t > nowSeconds + FUTURE_SKEW_SECONDS || nowSeconds - t > PAGE_TTL_SECONDS) return { ok: false, why: 'stale', key: k, range: range.range };
  return { ok: true, state: { key: k, range: range.range, offset: o, madeAt: new Date(t * 1000) } };
}
