/**
 * A minimal Slack Web API caller for the digest. Not @slack/web-api on purpose:
 * that client retries 429s, 5xx and network errors on its own, so a post could
 * land twice; the digest owns its retry policy (src/app/weekly-digest.ts). One call, one
 * HTTP request, and an answer classified for that policy.
 */

export type CallOutcome =
  /** Slack answered `ok: true`. */
  | { kind: 'ok'; body: Record<string, unknown> }
  /** 429 (or `ratelimited`): nothing was done; wait `retryAfterS` and try again. */
  | { kind: 'rate-limited'; retryAfterS: number; error: string }
  /** 5xx, a network error or a timeout: the call may or may not have taken effect. */
  | { kind: 'transient'; error: string }
  /** Slack refused it (`ok: false` with an error code, or another 4xx): retrying will not help. */
  | { kind: 'refused'; error: string; body: Record<string, unknown> };

export interface WebApi {
  /** JSON body (chat.postMessage). */
  postJson(method: string, body: Record<string, unknown>): Promise<CallOutcome>;
  /** Form-encoded body (conversations.history and other read methods). */
  postForm(method: string, params: Record<string, string>): Promise<CallOutcome>;
  /** Bytes to an `upload_url` from files.getUploadURLExternal (pre-signed: no token is sent there). */
  upload(url: string, bytes: Uint8Array, filename: string): Promise<CallOutcome>;
}

export interface WebApiOptions {
  /** SLACK_API_URL, ending with '/'. */
  apiUrl: string;
  token: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Slack error codes that mean "try again later", though HTTP said 200. */
const TRANSIENT_CODES = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

export function createWebApi(opts: WebApiOptions): WebApi {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const base = opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/`;

  async function call(method: string, contentType: string, body: string): Promise<CallOutcome> {
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': contentType },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (error) {
      return { kind: 'transient', error: `network: ${describe(error)}` };
    }
    if (res.status === 429) {
      return { kind: 'rate-limited', retryAfterS: retryAfter(res.headers.get('retry-after')), error: 'HTTP 429 ratelimited' };
    }
    if (res.status >= 500) return { kind: 'transient', error: `HTTP ${res.status}` };
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return res.status >= 400 ? { kind: 'refused', error: `HTTP ${res.status}`, body: {} } : { kind: 'transient', error: `HTTP ${res.status}: not JSON` };
    }
    if (json.ok === true) return { kind: 'ok', body: json };
    const code = typeof json.error === 'string' ? json.error : `HTTP ${res.status}`;
    if (code === 'ratelimited') return { kind: 'rate-limited', retryAfterS: retryAfter(res.headers.get('retry-after')), error: code };
    if (TRANSIENT_CODES.has(code)) return { kind: 'transient', error: code };
    return { kind: 'refused', error: code, body: json };
  }

  async function upload(url: string, bytes: Uint8Array, filename: string): Promise<CallOutcome> {
    if (!/^https?:\/\//.test(url)) return { kind: 'refused', error: 'upload_url is not an http(s) URL', body: {} };
    let res: Response;
    try {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), filename);
      res = await doFetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
    } catch (error) {
      return { kind: 'transient', error: `network: ${describe(error)}` };
    }
    if (res.status === 429) return { kind: 'rate-limited', retryAfterS: retryAfter(res.headers.get('retry-after')), error: 'HTTP 429 ratelimited' };
    if (res.status >= 500) return { kind: 'transient', error: `upload: HTTP ${res.status}` };
    if (res.status >= 400) return { kind: 'refused', error: `upload: HTTP ${res.status}`, body: {} };
    return { kind: 'ok', body: {} };
  }

  return {
    upload,
    postJson: (method, body) => call(method, 'application/json; charset=utf-8', JSON.stringify(body)),
    postForm: (method, params) => call(method, 'application/x-www-form-urlencoded', new URLSearchParams(params).toString()),
  };
}

/** Retry-After in whole seconds; Slack sends seconds. Missing or odd: 1 s. Capped at 10 minutes. */
export function retryAfter(header: string | null): number {
  const n = header === null ? NaN : Number(header.trim());
  if (Number.isFinite(n) && n >= 0) return Math.min(Math.ceil(n), 600);
  const date = header ? Date.parse(header) : NaN;
  if (Number.isFinite(date)) return Math.min(Math.max(0, Math.ceil((date - Date.now()) / 1000)), 600);
  return 1;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : '';
    return `${error.name === 'TimeoutError' ? 'timed out' : error.message}${inner}`;
  }
  return String(error);
}
