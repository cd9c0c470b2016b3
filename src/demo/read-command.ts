/**
 * The command the demo prints last: `npm run groups` against the demo's own
 * database, with exactly the settings that make it read that database (a
 * DATABASE_URL from the environment or .env would win over PGLITE_DIR, so it is
 * emptied) and show the same metric (the worked example's KEY_ACTIONS).
 */
import { shellWord } from '../startup.js';

/** Where `npm run demo` keeps its database (relative to the package root, where npm runs scripts). */
export const DEMO_DIR = '.data/demo';


export function demoReadCommand(opts: { dir?: string; keyActions: string[]; databaseUrlSet: boolean; args?: string }): string {
  const env = [
    ...(opts.databaseUrlSet ? ['DATABASE_URL='] : []),
    `PGLITE_DIR=${shellWord(opts.dir ?? DEMO_DIR)}`,
    `KEY_ACTIONS=${shellWord(opts.keyActions.join(','))}`,
  ];
  return `${env.join(' ')} npm run groups -- ${opts.args ?? 'top'}`;
}
