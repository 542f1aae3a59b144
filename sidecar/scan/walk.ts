import { promises as fsp, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';
import type { FileErrorCode } from '../util/errors';
import { formatFromName } from './sniff';
import { compileExcludes, DEFAULT_EXCLUDES, GitignoreStack } from './ignore-rules';

export interface WalkedFile {
  kind: 'file';
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
}

export interface WalkedError {
  kind: 'error';
  relPath: string;
  code: FileErrorCode;
  message: string;
}

export type WalkEntry = WalkedFile | WalkedError;

export interface WalkOptions {
  excludes?: readonly string[];
  /** Honour .gitignore files (default true). */
  gitignore?: boolean;
  signal?: AbortSignal;
  onProgress?: (filesSeen: number) => void;
}

interface DirTask {
  abs: string;
  rel: string;
  /** Real path, for loop detection through symlinked directories. */
  real: string;
  ignores: GitignoreStack;
}

const STAT_BATCH = 64;
const DIR_CONCURRENCY = 8;

function isInside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

/**
 * Lists every regular file under `root` that is not excluded, with size and mtime.
 * Never reads file contents; never leaves the root (symlinks that point outside are reported, not followed).
 */
export async function walkRoot(root: string, options: WalkOptions = {}): Promise<WalkEntry[]> {
  const excluded = compileExcludes(options.excludes ?? DEFAULT_EXCLUDES);
  const useGitignore = options.gitignore ?? true;
  const rootReal = await fsp.realpath(root);
  const out: WalkEntry[] = [];
  const visitedDirs = new Set<string>([rootReal]);
  const queue: DirTask[] = [{ abs: root, rel: '', real: rootReal, ignores: GitignoreStack.empty() }];
  let filesSeen = 0;

  const relOf = (dirRel: string, name: string) => (dirRel === '' ? name : `${dirRel}/${name}`);

  async function visit(task: DirTask): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(task.abs, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // vanished mid-scan: its files simply leave
      if (task.rel !== '') out.push({ kind: 'error', relPath: task.rel, code: 'unreadable', message: `cannot list folder: ${code ?? err}` });
      else throw err;
      return;
    }
    let ignores = task.ignores;
    if (useGitignore && entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      try {
        ignores = ignores.with(task.rel, await fsp.readFile(join(task.abs, '.gitignore'), 'utf8'));
      } catch {
        // An unreadable .gitignore is treated as absent.
      }
    }
    for (let i = 0; i < entries.length; i += STAT_BATCH) {
      if (options.signal?.aborted) return;
      await Promise.all(entries.slice(i, i + STAT_BATCH).map((e) => visitEntry(task, ignores, e)));
    }
  }

  async function visitEntry(task: DirTask, ignores: GitignoreStack, entry: Dirent): Promise<void> {
    const rel = relOf(task.rel, entry.name);
    const abs = join(task.abs, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    let real = join(task.real, entry.name);
    if (entry.isSymbolicLink()) {
      try {
        real = await fsp.realpath(abs);
        const st = await fsp.stat(abs);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') {
          if (!excluded(rel)) out.push({ kind: 'error', relPath: rel, code: 'symlink_loop', message: 'symbolic link loop: the link resolves to itself' });
        }
        return; // dangling links are not files
      }
      if (!isInside(real, rootReal)) {
        if (!excluded(rel) && !ignores.ignores(rel, isDir)) {
          out.push({ kind: 'error', relPath: rel, code: 'outside_root', message: `link leads outside the indexed folder (${real}); not read` });
        }
        return;
      }
    }
    if (excluded(rel) || (useGitignore && ignores.ignores(rel, isDir))) return;
    if (isDir) {
      if (entry.isSymbolicLink()) {
        if (isInside(task.real, real)) {
          out.push({ kind: 'error', relPath: rel, code: 'symlink_loop', message: `symbolic link loop: the link points to its own ancestor folder` });
          return;
        }
        if (visitedDirs.has(real)) return; // an alias of a folder already indexed
      }
      visitedDirs.add(real);
      queue.push({ abs, rel, real, ignores });
      return;
    }
    if (!isFile) {
      if (formatFromName(entry.name)) {
        out.push({ kind: 'error', relPath: rel, code: 'unreadable', message: 'not a regular file (FIFO, socket or device); not read' });
      }
      return;
    }
    try {
      const st = await fsp.stat(abs);
      out.push({ kind: 'file', relPath: rel, absPath: abs, size: st.size, mtimeMs: st.mtimeMs });
      filesSeen++;
      if (options.onProgress && filesSeen % 1000 === 0) options.onProgress(filesSeen);
    } catch {
      // vanished between readdir and stat: not a file any more
    }
  }

  // Breadth-first with a few folders in flight: keeps the libuv pool busy without unbounded fan-out.
  const running = new Set<Promise<void>>();
  while (queue.length > 0 || running.size > 0) {
    if (options.signal?.aborted) break;
    while (queue.length > 0 && running.size < DIR_CONCURRENCY) {
      const p: Promise<void> = visit(queue.shift()!).finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size > 0) await Promise.race(running);
  }
  options.onProgress?.(filesSeen);
  return out;
}
