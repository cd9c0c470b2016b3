/**
 * Digest test helpers: a channel that remembers what was posted to it (so
 * `conversations.history` answers with the earlier posts and their metadata,
 * as Slack does), scripted failures per method, and the worked example loaded
 * straight into a database.
 */
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../../src/db/client.js';
import { EXAMPLE_KEY_ACTIONS, workedExampleBatches } from '../../src/demo/example.js';
import { parseRequest } from '../../src/ingest/segment.js';
import { ingestEvents } from '../../src/ingest/store.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { FakeSlack, RecordedCall } from './slack.js';

export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
}

export type Answer = { status?: number; headers?: Record<string, string>; body?: unknown };

/** A file shared into a channel (files.completeUploadExternal with channel_id), as history shows it. */
export interface SharedFile {
  channel: string;
  ts: string;
  id: string;
  name: string;
  title: string;
}

export interface ChannelMemory {
  posted: PostedMessage[];
  /** Files shared into channels, apart from `posted` (which holds chat.postMessage's messages). */
  shared: SharedFile[];
  postsTo(channel: string): PostedMessage[];
  /** The next calls to `method` for `channel` get these answers, in order, before the channel behaves normally again. */
  script(method: 'chat.postMessage' | 'conversations.history', channel: string, ...answers: Answer[]): void;
  /** Every call to `method` for `channel` gets this answer until cleared (null). */
  always(method: 'chat.postMessage' | 'conversations.history', channel: string, answer: Answer | null): void;
}

/** Make the fake's chat.postMessage store messages and its conversations.history return them (newest first, paged). */
export function channelMemory(fake: FakeSlack, opts: { pageSize?: number } = {}): ChannelMemory {
  const posted: PostedMessage[] = [];
  const shared: SharedFile[] = [];
  const queued = new Map<string, Answer[]>();
  const standing = new Map<string, Answer>();
  let seq = 0;
  const key = (method: string, channel: unknown) => `${method}|${String(channel)}`;
  const scripted = (call: RecordedCall): Answer | undefined => {
    const k = key(call.method, call.body.channel);
    const q = queued.get(k);
    if (q && q.length > 0) return q.shift();
    return standing.get(k);
  };

  fake.respond.set('chat.postMessage', (call) => {
    const s = scripted(call);
    if (s) return s;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
    const b = call.body as Record<string, any>;
    posted.push({ channel: String(b.channel), ts, text: String(b.text ?? ''), blocks: b.blocks ?? [], metadata: b.metadata });
    return { body: { ok: true, channel: b.channel, ts, message: { type: 'message', ts, text: b.text, bot_id: 'B1' } } };
  });

  fake.respond.set('files.getUploadURLExternal', () => undefined); // the fake's default answer; the name is read below
  fake.respond.set('files.completeUploadExternal', (call) => {
    const b = call.body as Record<string, any>;
    const upload = fake.callsTo('files.getUploadURLExternal');
    for (const f of (b.files ?? []) as { id: string; title?: string }[]) {
      // The name given when the upload URL was asked for (the fake numbers file ids in call order).
      const i = Number(f.id.slice(1)) - 1;
      const name = String(upload[i]?.body.filename ?? 'file');
      if (b.channel_id) {
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
        shared.push({ channel: String(b.channel_id), ts, id: f.id, name, title: f.title ?? name });
      }
    }
    return undefined;
  });

  fake.respond.set('conversations.history', (call) => {
    const s = scripted(call);
    if (s) return s;
    const b = call.body as Record<string, string>;
    const oldest = Number(b.oldest ?? 0);
    const limit = Math.min(Number(b.limit ?? 100), opts.pageSize ?? 1000);
    const from = Number(b.cursor ? Buffer.from(b.cursor, 'base64').toString() : 0);
    const messages = posted
      .filter((m) => m.channel === b.channel && Number(m.ts) > oldest)
      .map((m) => ({
        type: 'message',
        ts: m.ts,
        text: m.text,
        bot_id: 'B1',
        ...(b.include_all_metadata === 'true' && m.metadata ? { metadata: m.metadata } : {}),
      }));
    const files = shared
      .filter((f) => f.channel === b.channel && Number(f.ts) > oldest)
      .map((f) => ({ type: 'message', subtype: 'file_share', ts: f.ts, text: '', bot_id: 'B1', files: [{ id: f.id, name: f.name, title: f.title, permalink: `https://example.slack.com/files/U1/${f.id}/${f.name}` }] }));
    // Newest first; the part after the dot is the order the fake made them in.
    const all = [...messages, ...files].sort((x, y) => Number(y.ts.split('.')[1]) - Number(x.ts.split('.')[1]));
    const page = all.slice(from, from + limit);
    const hasMore = from + limit < all.length;
    return {
      body: {
        ok: true,
        messages: page,
        has_more: hasMore,
        response_metadata: { next_cursor: hasMore ? Buffer.from(String(from + limit)).toString('base64') : '' },
      },
    };
  });

  return {
    posted,
    shared,
    postsTo: (channel) => posted.filter((m) => m.channel === channel),
    script(method, channel, ...answers) {
      const k = key(method, channel);
      queued.set(k, [...(queued.get(k) ?? []), ...answers]);
    },
    always(method, channel, answer) {
      if (answer) standing.set(key(method, channel), answer);
      else standing.delete(key(method, channel));
    },
  };
}

/** Slack's refusal: HTTP 200 with ok: false. */
export const refused = (error: string, extra: Record<string, unknown> = {}): Answer => ({ body: { ok: false, error, ...extra } });

/** Load the worked example (Acme Inc up, Northwind Ltd steady, Globex down sharply) as of `now`. */
export async function loadWorkedExample(db: Db, now: Date): Promise<void> {
  for (const body of workedExampleBatches(now)) {
    const events = parseRequest(body, { endpoint: 'batch', receivedAt: now, groupKeyPath: null });
    await ingestEvents(db, events, { source: 'test', keyActions: new Set(EXAMPLE_KEY_ACTIONS) });
  }
}

export function memoryLog(): { log: Logger; lines: string[]; entries(): Record<string, any>[] } {
  const lines: string[] = [];
  return {
    log: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
  };
}

export async function digestRow(db: Db, channel: string, week: string) {
  const [r] = await rows<{ status: string; run_id: string; message_ts: string | null; posted_at: unknown }>(
    db,
    sql`select status, run_id, message_ts, posted_at from digest_runs where channel = ${channel} and week = ${week}`,
  );
  return r ?? null;
}

export async function ageClaim(db: Db, channel: string, week: string, minutes: number): Promise<void> {
  await db.execute(sql`update digest_runs set claimed_at = claimed_at - make_interval(mins => ${minutes}::int) where channel = ${channel} and week = ${week}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
