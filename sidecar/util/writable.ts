import { accessSync, constants, statSync } from 'node:fs';

/** Writable for us, and (because root ignores permissions) not marked read-only by its owner. */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    if (process.getuid?.() === 0 && (statSync(path).mode & 0o222) === 0) return false;
    return true;
  } catch {
    return false;
  }
}
