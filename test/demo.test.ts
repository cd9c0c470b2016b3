/**
 * `npm run demo` as a newcomer runs it: its data stays in .data/demo, and the command
 * its last line prints, run as printed, shows the same companies. Under DATABASE_URL
 * (the PostgreSQL run of the suite) the demo sees it set, and the printed command must
 * still read the demo's data, not that database.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_DIR, demoReadCommand } from '../src/demo/read-command.js';
import { ROOT } from './faults/helpers.js';
import { ADMIN_URL, usingPostgres } from './harness.js';
import { childEnv } from './helpers/child-env.js';

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('keeps its data in .data/demo, and the command it prints last reads it', async () => {
    const env: Record<string, string> = usingPostgres ? { DATABASE_URL: ADMIN_URL! } : {};
    const demo = await run('npm', ['run', '--silent', 'demo'], env);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(existsSync(join(ROOT, DEMO_DIR, 'PG_VERSION'))).toBe(true);
    const last = demo.stdout.trimEnd().split('\n').at(-1)!.trim();
    expect(last).toBe(demoReadCommand({ keyActions: ['Report Created', 'Dashboard Shared', 'Invite Sent'], databaseUrlSet: usingPostgres }));
    expect(last).toMatch(/^(DATABASE_URL= )?PGLITE_DIR=\.data\/demo KEY_ACTIONS='Report Created,Dashboard Shared,Invite Sent' npm run groups -- top$/);

    // As printed, in a shell at the repository's root (where npm runs the demo), with the same environment.
    const read = await run('sh', ['-c', last], env);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/^1 +Acme Inc +14 +1,200 +↑ up$/m);
    expect(read.stdout).toMatch(/^2 +Northwind Ltd +9 +800 +→ steady$/m);
    expect(read.stdout).toMatch(/^3 +Globex +11 +120 +⇊ down sharply$/m);
  }, 180_000);

  it('.data/ is git-ignored', () => {
    expect(execFileSync('git', ['check-ignore', '-q', '--no-index', `${DEMO_DIR}/PG_VERSION`], { cwd: ROOT, stdio: 'pipe' }).length).toBe(0);
  });

  it.each([
    [{ keyActions: ['Report Created', 'Invite Sent'], databaseUrlSet: false }, "PGLITE_DIR=.data/demo KEY_ACTIONS='Report Created,Invite Sent' npm run groups -- top"],
    [{ keyActions: ['Signed_Up'], databaseUrlSet: true, args: 'show Acme' }, 'DATABASE_URL= PGLITE_DIR=.data/demo KEY_ACTIONS=Signed_Up npm run groups -- show Acme'],
    [{ keyActions: ["It's done"], databaseUrlSet: false, dir: '/tmp/my demo' }, "PGLITE_DIR='/tmp/my demo' KEY_ACTIONS='It'\\''s done' npm run groups -- top"],
  ])('the printed command, quoted for a shell: %j', (opts, expected) => {
    expect(demoReadCommand(opts)).toBe(expected);
  });
});
