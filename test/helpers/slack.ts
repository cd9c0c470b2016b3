/**
 * Slack at the wire, for tests: requests signed exactly as Slack signs them, and
 * a local HTTP server that answers like the Web API (and like response_url),
 * recording every call. Point SLACK_API_URL at `fake.apiUrl`.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNING_SECRET } from '../harness.js';

export interface RecordedCall {
  /** Web API method (chat.postMessage) or 'response_url'. */
  method: string;
  /** The path called (for a response_url, which one). */
  path: string;
  /** Form or JSON body, parsed. */
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  at: number;
}

export type Responder = (call: RecordedCall) =>
  | { status?: number; headers?: Record<string, string>; body?: unknown }
  | undefined
  | Promise<{ status?: number; headers?: Record<string, string>; body?: unknown } | undefined>;

export interface FakeSlack {
  apiUrl: string;
  responseUrl: string;
  calls: RecordedCall[];
  /** Override answers per method; return undefined for the default `{ ok: true }` answer. */
  respond: Map<string, Responder>;
  callsTo(method: string): RecordedCall[];
  waitFor(method: string, count?: number, timeoutMs?: number): Promise<RecordedCall[]>;
  close(): Promise<void>;
}

function parseBody(raw: string, type: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (type?.includes('application/json')) return JSON.parse(raw);
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      out[k] = k === 'blocks' || k === 'view' || k === 'metadata' || k === 'attachments' ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: RecordedCall[] = [];
  const respond = new Map<string, Responder>();
  let ts = 1_700_000_000;
  let files = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString('utf8');
    const path = (req.url ?? '').split('?')[0];
    const method = path.startsWith('/response/') ? 'response_url' : path.startsWith('/upload/') ? 'upload' : path.replace(/^\/api\//, '');
    // An upload (to the upload_url of files.getUploadURLExternal) keeps its raw bytes and the file id from its path.
    const recorded = method === 'upload' ? { file_id: path.slice('/upload/'.length), bytes } : parseBody(raw, req.headers['content-type']);
    const call: RecordedCall = { method, path, body: recorded, headers: req.headers, at: Date.now() };
    calls.push(call);
    const custom = await respond.get(method)?.(call);
    const status = custom?.status ?? 200;
    let body = custom?.body;
    if (body === undefined) {
      if (method === 'chat.postMessage') body = { ok: true, channel: call.body.channel, ts: `${ts++}.000100`, message: { text: call.body.text } };
      else if (method === 'conversations.history') body = { ok: true, messages: [], has_more: false };
      else if (method === 'auth.test') body = { ok: true, user_id: 'UBOT', team_id: 'T1', bot_id: 'B1' };
      else if (method === 'files.getUploadURLExternal') {
        const id = `F${String(++files).padStart(8, '0')}`;
        body = { ok: true, upload_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload/${id}`, file_id: id };
      } else if (method === 'upload') body = 'OK - 1';
      else if (method === 'files.completeUploadExternal') {
        const listed = Array.isArray(call.body.files) ? (call.body.files as { id: string; title?: string }[]) : [];
        body = { ok: true, files: listed.map((f) => ({ id: f.id, title: f.title, permalink: `https://example.slack.com/files/U1/${f.id}/chart.png` })) };
      }
      else body = { ok: true };
    }
    res.writeHead(status, { 'content-type': method === 'upload' ? 'text/plain' : 'application/json', ...(custom?.headers ?? {}) });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const callsTo = (m: string) => calls.filter((c) => c.method === m);
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    responseUrl: `http://127.0.0.1:${port}/response/1`,
    calls,
    respond,
    callsTo,
    async waitFor(method, count = 1, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (callsTo(method).length < count) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${count} call(s) to ${method}; got ${callsTo(method).length}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return callsTo(method);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Slack's signature: v0= hex HMAC-SHA256(secret, `v0:{ts}:{raw body}`). */
export function sign(body: string, timestamp: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedOptions {
  timestamp?: number;
  secret?: string;
  signature?: string | null;
  headers?: Record<string, string>;
}

/** POST a raw body to /slack/events, signed as Slack signs it (or not, as asked). */
export async function sendSigned(appUrl: string, body: string, contentType: string, opts: SignedOptions = {}) {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    ...(opts.headers ?? {}),
  };
  const signature = opts.signature === undefined ? sign(body, timestamp, opts.secret) : opts.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  const res = await fetch(`${appUrl}/slack/events`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* empty or not JSON */
  }
  return { status: res.status, text, json };
}

/** The fields of a `/groups` slash command, as Slack sends them (over HTTP form-encoded; in Socket Mode as the payload). */
export function slashCommandFields(text: string, responseUrl: string): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: 'T1',
    team_domain: 'acme',
    channel_id: 'C1',
    channel_name: 'general',
    user_id: 'U1',
    user_name: 'ada',
    command: '/groups',
    text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: '1.2.3',
  };
}

/** A slash command as Slack sends it (form-encoded). */
export function slashCommand(appUrl: string, text: string, responseUrl: string, opts: SignedOptions = {}) {
  const form = new URLSearchParams(slashCommandFields(text, responseUrl)).toString();
  return sendSigned(appUrl, form, 'application/x-www-form-urlencoded', opts);
}

/** An interactivity payload (block_actions) as Slack sends it. */
export function blockAction(appUrl: string, payload: Record<string, unknown>, opts: SignedOptions = {}) {
  const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return sendSigned(appUrl, form, 'application/x-www-form-urlencoded', opts);
}

/**
 * The block_actions payload of a button clicked in an ephemeral reply, as Slack sends it: the
 * person, the message container, the reply's response_url and the one action. `extra` adds
 * fields (the message, a trigger_id).
 */
export function messageButtonPayload(
  action: { action_id: string; value: string; action_ts?: string },
  responseUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: 'U1' },
    container: { type: 'message', is_ephemeral: true },
    response_url: responseUrl,
    actions: [{ type: 'button', block_id: 'b', action_ts: '1', ...action }],
    team: { id: 'T1' },
    api_app_id: 'A1',
    token: 't',
    ...extra,
  };
}

/** A button clicked in an ephemeral reply, signed and posted as Slack does (see messageButtonPayload). */
export function clickButton(appUrl: string, action: { action_id: string; value: string; action_ts?: string }, responseUrl: string, extra: Record<string, unknown> = {}) {
  return blockAction(appUrl, messageButtonPayload(action, responseUrl, extra));
}

/** An Events API callback as Slack sends it (JSON). */
export function eventCallback(appUrl: string, event: Record<string, unknown>, opts: SignedOptions & { eventId?: string } = {}) {
  const body = JSON.stringify({
    token: 'legacy',
    team_id: 'T1',
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${Math.random().toString(36).slice(2, 10)}`,
    event_time: Math.floor(Date.now() / 1000),
    event,
  });
  return sendSigned(appUrl, body, 'application/json', opts);
}
