#!/usr/bin/env node
// The `loupe` command: runs the bundled sidecar CLI.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, '..', 'dist', 'sidecar.js');
if (!existsSync(bundle)) {
  process.stderr.write('loupe: not built yet; run "npm run build" in the Loupe folder\n');
  process.exit(1);
}
// `loupe search ... | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = createRequire(import.meta.url)(bundle);
process.exitCode = await main(process.argv.slice(2));
