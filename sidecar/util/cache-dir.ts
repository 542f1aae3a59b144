import { homedir } from 'node:os';
import { join } from 'node:path';

/** Loupe's per-user cache: LOUPE_CACHE_DIR, else $XDG_CACHE_HOME/loupe, else ~/.cache/loupe. */
export function userCacheDir(): string {
  if (process.env.LOUPE_CACHE_DIR) return process.env.LOUPE_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'loupe');
}
