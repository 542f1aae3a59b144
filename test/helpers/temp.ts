import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary folder removed when the test file finishes. */
export function tempDir(prefix = 'loupe-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const SHARED = join(__dirname, '..', '..', '..', 'shared');
export const SHARED_DATA = join(SHARED, 'data');
export const SHARED_MODELS = join(SHARED, 'models');
