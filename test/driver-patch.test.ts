/**
 * postgres.js 3.4.9 crashes the process when a deferred write runs after its
 * connection closed (a PostgreSQL restart); `npm install` patches it
 * (scripts/patch-postgres.mjs). This fails if the installed driver has neither
 * our guard nor an upstream one, e.g. after a version bump.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the PostgreSQL driver is safe on a closed connection', () => {
  it.each(['src/connection.js', 'cjs/src/connection.js'])('%s guards nextWrite against a null socket', (rel) => {
    const text = readFileSync(new URL(`../node_modules/postgres/${rel}`, import.meta.url), 'utf8');
    const nextWrite = text.slice(text.indexOf('function nextWrite('), text.indexOf('function nextWrite(') + 300);
    expect(nextWrite).toMatch(/socket === null|!socket/);
  });
});
