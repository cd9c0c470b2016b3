/**
 * `npm install` prints no install-script warnings: npm 11 warns about every
 * dependency install script not covered by package.json's `allowScripts`. Each one
 * is decided there (esbuild's postinstall only checks the binary its platform
 * package already brings: denied). Our own postinstall still runs
 * (test/driver-patch.test.ts checks its effect).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './faults/helpers.js';

const npmMajor = Number(execFileSync('npm', ['--version'], { cwd: ROOT, encoding: 'utf8' }).split('.')[0]);
const hasInstallScripts = (() => {
  try {
    execFileSync('npm', ['help', 'install-scripts'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat' } });
    return true;
  } catch {
    return false;
  }
})();

describe('npm install', () => {
  it.skipIf(npmMajor < 11 || !hasInstallScripts)('every dependency install script is decided in package.json, so npm warns about none', () => {
    const out = execFileSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8' });
    expect(out.trim()).toBe('No packages with unreviewed install scripts.');
  });

  it('our own postinstall is still there, and esbuild runs without its own', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string>; allowScripts: Record<string, boolean> };
    expect(pkg.scripts.postinstall).toBe('node scripts/patch-postgres.mjs');
    expect(pkg.allowScripts).toEqual({ esbuild: false });
    const { transform } = await import('esbuild');
    expect((await transform('const n: number = 1', { loader: 'ts' })).code).toBe('const n = 1;\n');
  });
});
