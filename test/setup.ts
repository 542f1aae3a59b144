/**
 * Loaded before every test file (see the `test` script): tests read real model weights from
 * ../shared/models unless LOUPE_MODELS_DIR says otherwise, and never touch the user's own cache.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const shared = join(__dirname, '..', '..', 'shared', 'models');
if (!process.env.LOUPE_MODELS_DIR && existsSync(shared)) process.env.LOUPE_MODELS_DIR = shared;
if (!process.env.LOUPE_CACHE_DIR) {
  const cache = mkdtempSync(join(tmpdir(), 'loupe-test-cache-'));
  process.env.LOUPE_CACHE_DIR = cache;
  process.on('exit', () => rmSync(cache, { recursive: true, force: true }));
}
