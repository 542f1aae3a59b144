import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { isWritable } from '../util/writable';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { userCacheDir } from '../util/cache-dir';

/**
 * Where Loupe keeps a root's state (catalog, thumbnails): `<root>/.loupe` (git never sees it,
 * the folder ignores itself), or, for a read-only root, a folder in the user cache keyed by the root's real path.
 */
export function stateDirFor(root: string): string {
  const inRoot = join(root, '.loupe');
  if (isWritable(existsSync(inRoot) ? inRoot : root)) return inRoot;
  const real = realpathSync(root);
  const key = createHash('sha256').update(real).digest('hex').slice(0, 16);
  return join(userCacheDir(), 'roots', `${basename(real) || 'root'}-${key}`);
}

export function ensureStateDir(stateDir: string): void {
  mkdirSync(join(stateDir, 'thumbs'), { recursive: true });
  const ignore = join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
}
