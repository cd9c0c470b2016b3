/** manifest.yml creates the Slack app in one step: the command, the scopes it needs and no more, events, URLs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const source = readFileSync(new URL('../manifest.yml', import.meta.url), 'utf8');
const doc = parseDocument(source);
const m = doc.toJS() as Record<string, any>;
const URL_ = 'https://YOUR-HOST/slack/events';

describe('manifest.yml', () => {
  it('is valid YAML', () => {
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });

  it('names and describes the app', () => {
    expect(m.display_information.name).toBe('leadmaps Groups');
    expect(m.display_information.description.length).toBeGreaterThan(0);
    expect(m.display_information.description.length).toBeLessThanOrEqual(140);
    expect(m.display_information.long_description.length).toBeGreaterThanOrEqual(175);
    expect(m.display_information.long_description.length).toBeLessThanOrEqual(4000);
    expect(m.display_information.background_color).toMatch(/^#[0-9a-f]{6}$/i);
  });

  it('has a bot user and the Home tab, without the Messages tab', () => {
    expect(m.features.bot_user.display_name).toBe('leadmaps Groups');
    expect(m.features.app_home.home_tab_enabled).toBe(true);
    expect(m.features.app_home.messages_tab_enabled).toBe(false);
  });

  it('declares /groups, pointing at /slack/events', () => {
    expect(m.features.slash_commands).toEqual([
      {
        command: '/groups',
        url: URL_,
        description: expect.any(String),
        usage_hint: 'top [7d|30d|90d] [by key_actions|events|sessions|people] · quiet · show NAME · report · key · digest · owner NAME @person · watch NAME · mine',
        should_escape: true,
      },
    ]);
    expect(m.features.slash_commands[0].description.length).toBeLessThanOrEqual(100);
  });

  it('asks for the bot scopes it needs and no more', () => {
    expect([...m.oauth_config.scopes.bot].sort()).toEqual([
      'channels:history',
      'chat:write',
      'commands',
      'files:write',
      'groups:history',
      'im:history',
      'im:write',
      'users:read',
      'users:read.email',
    ]);
    expect(m.oauth_config.scopes.user).toBeUndefined();
  });

  it('subscribes to app_home_opened and turns interactivity on, both at /slack/events', () => {
    expect(m.settings.event_subscriptions).toEqual({ request_url: URL_, bot_events: ['app_home_opened'] });
    expect(m.settings.interactivity).toEqual({ is_enabled: true, request_url: URL_ });
  });

  it('starts in HTTP mode, and says how to switch to Socket Mode', () => {
    expect(m.settings.socket_mode_enabled).toBe(false);
    expect(m.settings.org_deploy_enabled).toBe(false);
    expect(m.settings.token_rotation_enabled).toBe(false);
    const comments = source
      .split('\n')
      .filter((l) => l.trim().startsWith('#'))
      .join('\n');
    expect(comments).toContain('socket_mode_enabled: true');
    expect(comments).toContain('connections:write');
    expect(comments).toContain('SLACK_APP_TOKEN');
  });

  it('uses no URL other than https://YOUR-HOST/slack/events', () => {
    const urls: string[] = [];
    const visit = (v: unknown) => {
      if (typeof v === 'string' && /^https?:/.test(v)) urls.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(visit);
    };
    visit(m);
    expect(urls.length).toBe(3);
    for (const u of urls) expect(u).toBe(URL_);
  });
});
