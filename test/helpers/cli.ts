import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'loupe.mjs');

/** Makes sure dist/ exists (npm test builds it first; running one file alone may not have). */
export function ensureBuilt(): void {
  if (!existsSync(join(REPO, 'dist', 'sidecar.js'))) {
    const r = spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('build failed');
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: SpawnSyncOptions = {}): CliResult {
  ensureBuilt();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO, timeout: 120_000, ...options });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
