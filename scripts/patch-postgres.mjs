// Patches postgres.js 3.4.9's write scheduler (run by `npm install` / `npm ci`).
//
// Upstream bug (porsager/postgres issues 1066, 1154, 1208; fix proposed in PRs 1168, 1176, 1209,
// not released): a small write is deferred with setImmediate(nextWrite); when the connection
// closes first (a PostgreSQL restart), nextWrite runs with socket === null and throws from the
// immediate, an uncaughtException that kills the process. Teardown also cancels the immediate
// without clearing its handle, so a reconnected connection may never flush a small write again.
// Measured here: the app died during `pg_ctlcluster restart` under load (test/faults/pg-restart).
//
// The patch: nextWrite does nothing without a socket (the queries of a closed connection have
// already been rejected with CONNECTION_CLOSED by closed()/terminate(), and are retried by our
// callers), and teardown clears the pending write. Idempotent; says what it did.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = '/* leadmaps: null-socket guard */';
const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url));
if (!existsSync(join(root, 'package.json'))) {
  console.log('patch-postgres: postgres is not installed; nothing to patch');
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const edits = [
  ['  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)', `  function nextWrite(fn) {\n    ${MARK} if (socket === null) { nextWriteTimer !== null && clearImmediate(nextWriteTimer); chunk = nextWriteTimer = null; return false }\n    const x = socket.write(chunk, fn)`],
  ['    clearImmediate(nextWriteTimer)\n    if (socket) {', `    clearImmediate(nextWriteTimer)\n    ${MARK} chunk = nextWriteTimer = null\n    if (socket) {`],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener(\'data\', data)', `    clearImmediate(nextWriteTimer)\n    ${MARK} chunk = nextWriteTimer = null\n    socket.removeListener('data', data)`],
];
let failed = false;
for (const rel of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js']) {
  const file = join(root, rel);
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) {
    console.log(`patch-postgres: ${rel} already patched`);
    continue;
  }
  for (const [from, to] of edits) {
    if (!text.includes(from)) {
      console.error(`patch-postgres: postgres ${version} ${rel} does not look as expected; not patched (see scripts/patch-postgres.mjs)`);
      failed = true;
      break;
    }
    text = text.replace(from, to);
  }
  if (!failed) {
    writeFileSync(file, text);
    console.log(`patch-postgres: patched postgres ${version} ${rel}`);
  }
}
// A different postgres version may have the fix, or need another patch: say so, never break the install.
process.exit(0);
