/**
 * The environment of a bot or tool a test starts as a process: PATH and HOME, every variable
 * the product reads set blank (blank is unset to src/config.ts), then the test's own. A `.env`
 * an operator keeps in the checkout never wins over a variable already set, so the process
 * sees only what the test gives it, whatever that file holds.
 */
import { CONFIG_VARIABLES } from '../../src/config.js';

export function childEnv(env: Record<string, string | undefined> = {}, home = process.env.HOME ?? ''): Record<string, string> {
  const out: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home };
  for (const name of CONFIG_VARIABLES) out[name] = '';
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
