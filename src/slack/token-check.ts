/**
 * The bot token, checked once at start-up with `auth.test` (through SLACK_API_URL).
 * A token Slack refuses (wrong, revoked, app uninstalled) is said at once, naming
 * SLACK_BOT_TOKEN and where to copy it from, and /healthz carries it; Slack out of
 * reach is not a token problem: said so, and checked again later.
 */
import type { Logger } from '../log.js';
import type { WebApi } from './webapi.js';

/** Slack's answers to auth.test that mean the token itself is wrong (api.slack.com/methods/auth.test). */
export const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'no_permission',
  'not_allowed_token_type',
  'org_login_required',
  'ekm_access_denied',
  'team_access_not_granted',
]);

/** Waits between checks while Slack cannot be reached: 2 s, doubling, at most 5 minutes. */
export const RECHECK_FIRST_MS = 2_000;
export const RECHECK_MAX_MS = 300_000;

export const TOKEN_FIX =
  "copy the Bot User OAuth Token (xoxb-…) from the app's settings › OAuth & Permissions (reinstall the app there if it was removed), set SLACK_BOT_TOKEN to it, and restart";

/** Who the bot is, from auth.test: what Bolt would otherwise ask Slack before every request. */
export interface SlackIdentity {
  botUserId?: string;
  botId?: string;
  teamId?: string;
}

export type TokenCheckState =
  | { kind: 'checking' }
  | { kind: 'ok'; user: string; team: string; identity: SlackIdentity }
  | { kind: 'refused'; error: string }
  /** auth.test answered something that says nothing about the token (an odd SLACK_API_URL). */
  | { kind: 'unchecked'; error: string };

export interface TokenCheck {
  state(): TokenCheckState;
  /** The bot's ids once Slack accepted the token. */
  identity(): SlackIdentity | undefined;
  /** For /healthz: `invalid_auth: SLACK_BOT_TOKEN …` when Slack refused the token, else undefined. */
  problem(): string | undefined;
  /** Resolves once Slack has answered for good (ok, refused or unchecked). */
  settled: Promise<TokenCheckState>;
  stop(): void;
}

export function checkSlackToken(opts: { webApi: WebApi; log: Logger }): TokenCheck {
  const { webApi, log } = opts;
  let state: TokenCheckState = { kind: 'checking' };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let settle!: (s: TokenCheckState) => void;
  const settled = new Promise<TokenCheckState>((r) => (settle = r));
  const finish = (s: TokenCheckState) => {
    state = s;
    settle(s);
  };

  const attempt = async (delay: number): Promise<void> => {
    const outcome = await webApi.postForm('auth.test', {});
    if (stopped) return;
    if (outcome.kind === 'ok') {
      const user = String(outcome.body.user ?? outcome.body.user_id ?? '?');
      const team = String(outcome.body.team ?? outcome.body.team_id ?? '?');
      log.info(`Slack accepted SLACK_BOT_TOKEN: the bot is @${user} in ${team}`);
      const id = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      return finish({ kind: 'ok', user, team, identity: { botUserId: id(outcome.body.user_id), botId: id(outcome.body.bot_id), teamId: id(outcome.body.team_id) } });
    }
    if (outcome.kind === 'refused' && TOKEN_ERRORS.has(outcome.error)) {
      log.error(
        `Slack refused SLACK_BOT_TOKEN (${outcome.error}): ${TOKEN_FIX}. Until then /groups still answers, ` +
          'but the App Home page, the weekly digest and alerts cannot reach Slack.',
      );
      return finish({ kind: 'refused', error: outcome.error });
    }
    if (outcome.kind === 'refused') {
      log.warn(`could not check SLACK_BOT_TOKEN: Slack answered auth.test with ${outcome.error} (is SLACK_API_URL the Web API?)`);
      return finish({ kind: 'unchecked', error: outcome.error });
    }
    // Transient or rate-limited: Slack or the network, not the token.
    const wait = outcome.kind === 'rate-limited' ? Math.max(outcome.retryAfterS * 1000, delay) : delay;
    log.warn(`could not reach Slack to check SLACK_BOT_TOKEN (${outcome.error}); this is not a problem with the token; checking again in ${Math.round(wait / 1000)} s`);
    timer = setTimeout(() => run(Math.min(delay * 2, RECHECK_MAX_MS)), wait);
    timer.unref();
  };
  const run = (delay: number) =>
    void attempt(delay).catch((error: unknown) => {
      log.warn('could not check SLACK_BOT_TOKEN', { error });
      finish({ kind: 'unchecked', error: String(error) });
    });
  run(RECHECK_FIRST_MS);

  return {
    state: () => state,
    identity: () => (state.kind === 'ok' ? state.identity : undefined),
    problem: () => (state.kind === 'refused' ? `${state.error}: SLACK_BOT_TOKEN was refused by Slack; ${TOKEN_FIX}` : undefined),
    settled,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
