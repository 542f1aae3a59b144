import { promises as fsp } from 'node:fs';
import { homedir, platform } from 'node:os';
import { dirname, join } from 'node:path';

/** Where a file went when Loupe moved it to the OS trash, so the move can be undone. */
export interface TrashedFile {
  originalPath: string;
  /** Its place inside the trash (Linux/XDG), or null where the OS does not tell us. */
  trashedPath: string | null;
  infoPath: string | null;
  trashedAt: string;
}

export class TrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrashError';
  }
}

/** XDG trash folders that may hold a file trashed from `path`: the home trash and the volume's own. */
async function candidateTrashDirs(path: string): Promise<string[]> {
  const dataHome = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  const dirs = [join(dataHome, 'Trash')];
  // Files on another volume go to <topdir>/.Trash-<uid> (or .Trash/<uid>); look up the mount points.
  try {
    const mounts = (await fsp.readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter(Boolean);
    const uid = process.getuid?.() ?? 0;
    const top = mounts.filter((m) => path === m || path.startsWith(m.endsWith('/') ? m : `${m}/`)).sort((a, b) => b.length - a.length)[0];
    if (top) dirs.push(join(top, `.Trash-${uid}`), join(top, '.Trash', String(uid)));
  } catch {
    // not Linux, or no /proc
  }
  return dirs;
}

function decodeTrashPath(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Finds the trash entry a just-trashed file produced (newest entry recording that original path
 * whose file is really there). With `removeUnfinished`, entries from `since` on whose file is not
 * in the trash are deleted: a move interrupted after the info file was written, before the rename.
 */
async function locate(originalPath: string, since: number, removeUnfinished = false): Promise<{ trashedPath: string; infoPath: string } | null> {
  let best: { trashedPath: string; infoPath: string; date: number } | null = null;
  for (const dir of await candidateTrashDirs(originalPath)) {
    let names: string[];
    try {
      names = await fsp.readdir(join(dir, 'info'));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.trashinfo')) continue;
      const infoPath = join(dir, 'info', name);
      let text: string;
      try {
        text = await fsp.readFile(infoPath, 'utf8');
      } catch {
        continue;
      }
      const path = /^Path=(.*)$/m.exec(text)?.[1];
      const date = /^DeletionDate=(.*)$/m.exec(text)?.[1];
      if (!path || decodeTrashPath(path) !== originalPath) continue;
      const when = date ? Date.parse(date) : 0;
      // DeletionDate has one-second resolution and no zone: allow a little slack.
      if (when < since - 2000 - 14 * 3600_000) continue;
      const trashedPath = join(dir, 'files', name.slice(0, -'.trashinfo'.length));
      try {
        await fsp.lstat(trashedPath);
      } catch {
        if (removeUnfinished) await fsp.rm(infoPath, { force: true });
        continue;
      }
      if (!best || when >= best.date) best = { trashedPath, infoPath, date: when };
    }
  }
  return best ? { trashedPath: best.trashedPath, infoPath: best.infoPath } : null;
}

/** Looks for a file trashed after `sinceMs` (crash recovery: the move happened, the record did not). */
export async function findInTrash(originalPath: string, sinceMs: number): Promise<TrashedFile | null> {
  const found = await locate(originalPath, sinceMs, true);
  return found ? { originalPath, ...found, trashedAt: new Date(sinceMs).toISOString() } : null;
}

/** Moves files to the OS trash (never deletes) and records where each went. */
export async function moveToTrash(paths: string[]): Promise<TrashedFile[]> {
  const { default: trash } = await import('trash');
  const out: TrashedFile[] = [];
  for (const originalPath of paths) {
    const since = Date.now();
    try {
      await trash(originalPath, { glob: false });
    } catch (err) {
      throw new TrashError(`could not move ${originalPath} to the trash: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      await fsp.lstat(originalPath);
      throw new TrashError(`${originalPath} is still there after moving it to the trash`);
    } catch (err) {
      if (err instanceof TrashError) throw err;
    }
    const found = platform() === 'linux' ? await locate(originalPath, since) : null;
    out.push({ originalPath, trashedPath: found?.trashedPath ?? null, infoPath: found?.infoPath ?? null, trashedAt: new Date(since).toISOString() });
  }
  return out;
}

/** Puts a trashed file back where it was. Refuses to overwrite a file that now occupies its place. */
export async function restoreFromTrash(entry: TrashedFile): Promise<void> {
  if (!entry.trashedPath) {
    throw new TrashError(`${entry.originalPath} is in the system trash; restore it from there (this system does not say where it went)`);
  }
  try {
    await fsp.lstat(entry.originalPath);
    throw new TrashError(`cannot restore ${entry.originalPath}: a file with that name exists again`);
  } catch (err) {
    if (err instanceof TrashError) throw err;
  }
  try {
    await fsp.lstat(entry.trashedPath);
  } catch {
    throw new TrashError(`${entry.originalPath} is no longer in the trash (was the trash emptied?)`);
  }
  await fsp.mkdir(dirname(entry.originalPath), { recursive: true });
  try {
    await fsp.rename(entry.trashedPath, entry.originalPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fsp.copyFile(entry.trashedPath, entry.originalPath);
    await fsp.rm(entry.trashedPath, { force: true });
  }
  if (entry.infoPath) await fsp.rm(entry.infoPath, { force: true });
}
