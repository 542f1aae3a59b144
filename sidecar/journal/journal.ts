import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { crashPoint } from '../util/crash-point';
import { findInTrash, restoreFromTrash, type TrashedFile } from '../trash/os-trash';

/**
 * The journal of a file operation Loupe does on the user's files (duplicate resolution, trash,
 * image optimisation): every step is recorded before it happens, so the operation can be undone,
 * and one interrupted by a crash is rolled back on the next start. Stored as JSON in the
 * `resolutions` table (its `group_key` says which kind of operation it was).
 */

export interface RewriteRecord {
  document: string;
  backup: string;
  writtenSha256: string | null;
  links: Array<{ from: string; to: string }>;
}

export interface TrashRecord {
  relPath: string;
  /** Set once the file is in the trash; `startedAt` lets recovery find a move whose record was lost. */
  trashed: TrashedFile | null;
  startedAt: number | null;
}

/** A file Loupe wrote; undo removes it only if it still holds exactly what Loupe wrote. */
export interface CreatedRecord {
  relPath: string;
  sha256: string;
  /** Set once the file is in place (before that, only a temporary file may exist). */
  done: boolean;
  /** Root-relative temporary file the bytes are written to first; removed on rollback. */
  temp?: string;
}

export interface Journal {
  keep: string[];
  trash: TrashRecord[];
  rewrites: RewriteRecord[];
  /** Absent in journals written before transforms existed. */
  created?: CreatedRecord[];
}

/** `undoing`: an undo is under way (a crash then finishes the undo on the next start). */
export type JournalState = 'applying' | 'applied' | 'failed' | 'undoing' | 'undone';

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    // Callers (the server) map this name to the ResolutionFailed error code.
    this.name = 'ResolutionError';
  }
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function startJournal(catalog: Catalog, key: string, journal: Journal): Promise<number> {
  const inserted = await catalog.transact((q) =>
    q.all(`INSERT INTO resolutions (state, group_key, journal) VALUES ('applying', $1, $2) RETURNING id`, [key, JSON.stringify(journal)]),
  );
  return Number(inserted[0].id);
}

export async function saveJournal(catalog: Catalog, id: number, state: JournalState, journal: Journal, error: string | null = null): Promise<void> {
  await catalog.transact((q) =>
    q.exec('UPDATE resolutions SET state = $1, journal = $2, error_message = $3 WHERE id = $4', [state, JSON.stringify(journal), error, id]),
  );
}

export async function loadJournal(catalog: Catalog, id: number): Promise<{ state: JournalState; key: string; journal: Journal; error: string | null }> {
  const rows = await catalog.read('SELECT state, group_key, journal, error_message FROM resolutions WHERE id = $1', [id]);
  if (!rows.length) throw new JournalError(`no resolution ${id}`);
  return {
    state: rows[0].state as JournalState,
    key: rows[0].group_key as string,
    journal: JSON.parse(rows[0].journal as string) as Journal,
    error: (rows[0].error_message as string | null) ?? null,
  };
}

/** Where backups of the documents an operation rewrites are kept. */
export function backupDir(catalog: Catalog, id: number): string {
  return join(catalog.stateDir, 'resolutions', String(id));
}

const tempName = (path: string, pid: number) => `${path}.loupe-${pid}.tmp`;

/** Removes temporary files `writeAtomic` of any (crashed) process left beside `path`. */
async function removeTempSiblings(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.loupe-`;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length))) await fsp.rm(join(dir, name), { force: true });
  }
}

/** Replaces a file's bytes atomically (temp file + rename), keeping its permissions. */
export async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const mode = (await fsp.stat(path)).mode & 0o7777;
  const tmp = tempName(path, process.pid);
  await fsp.writeFile(tmp, data, { mode });
  crashPoint('write:temp-written');
  await fsp.rename(tmp, path);
}

/** A restore that finished before a crash: the file is back and no longer in the trash. */
async function alreadyRestored(entry: TrashedFile): Promise<boolean> {
  if (!entry.trashedPath) return false;
  const exists = (p: string) => fsp.lstat(p).then(() => true, () => false);
  if (!(await exists(entry.originalPath)) || (await exists(entry.trashedPath))) return false;
  if (entry.infoPath) await fsp.rm(entry.infoPath, { force: true });
  return true;
}

/**
 * Puts everything a journal did back: files Loupe wrote are removed (if unchanged since), trashed
 * files restored, documents restored from backups. Returns what could not be put back.
 */
export async function rollBack(catalog: Catalog, journal: Journal): Promise<string[]> {
  const problems: string[] = [];
  for (const c of [...(journal.created ?? [])].reverse()) {
    const path = join(catalog.root, c.relPath);
    if (c.temp) await fsp.rm(join(catalog.root, c.temp), { force: true }).catch(() => undefined);
    try {
      const current = await fsp.readFile(path);
      if (sha256(current) !== c.sha256) {
        // Not done: the file there is not ours (the crash came before the rename).
        if (c.done) problems.push(`${c.relPath} was changed after Loupe wrote it; it was left in place`);
        continue;
      }
      await fsp.rm(path);
      c.done = false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') c.done = false;
      else problems.push(`${c.relPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const t of [...journal.trash].reverse()) {
    let entry = t.trashed;
    if (!entry && t.startedAt !== null) entry = await findInTrash(join(catalog.root, t.relPath), t.startedAt);
    if (!entry) continue;
    if (await alreadyRestored(entry)) {
      t.trashed = null;
      continue;
    }
    try {
      await restoreFromTrash(entry);
      t.trashed = null;
      crashPoint('restore:done');
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  for (const r of journal.rewrites) {
    if (r.writtenSha256 === null) continue;
    const path = join(catalog.root, r.document);
    await removeTempSiblings(path);
    try {
      const current = await fsp.readFile(path);
      const backup = await fsp.readFile(r.backup);
      if (current.equals(backup)) {
        // A crash came before the new bytes were renamed into place: nothing to revert.
        r.writtenSha256 = null;
        continue;
      }
      if (sha256(current) !== r.writtenSha256) {
        problems.push(`${r.document} was edited after Loupe changed its links; its links were not reverted`);
        continue;
      }
      await writeAtomic(path, backup);
      r.writtenSha256 = null;
    } catch (err) {
      problems.push(`${r.document}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

/** Rolls back, records the failure, and returns the error to throw. */
export async function failJournal(catalog: Catalog, id: number, journal: Journal, err: unknown): Promise<JournalError> {
  const reason = err instanceof Error ? err.message : String(err);
  const problems = await rollBack(catalog, journal);
  const message = `${reason}; everything was put back${problems.length ? `, except: ${problems.join('; ')}` : ''}`;
  await saveJournal(catalog, id, 'failed', journal, message);
  return new JournalError(message);
}

/** Undoes an applied operation. */
export async function undoJournal(catalog: Catalog, id: number): Promise<{ key: string; journal: Journal; error: string | null }> {
  const { state, key, journal } = await loadJournal(catalog, id);
  if (state !== 'applied') throw new JournalError(`resolution ${id} is ${state}; only applied resolutions can be undone`);
  await saveJournal(catalog, id, 'undoing', journal);
  crashPoint('undo:started');
  const problems = await rollBack(catalog, journal);
  const error = problems.length ? problems.join('; ') : null;
  await saveJournal(catalog, id, 'undone', journal, error);
  return { key, journal, error };
}

/**
 * After a crash: roll back every operation that was half applied, and finish every undo that was
 * half done (both end with everything put back). Returns how many.
 */
export async function recoverJournals(catalog: Catalog): Promise<number> {
  const rows = await catalog.read(`SELECT id, state FROM resolutions WHERE state IN ('applying', 'undoing')`);
  for (const r of rows) {
    const id = Number(r.id);
    const { journal } = await loadJournal(catalog, id);
    const problems = await rollBack(catalog, journal);
    const except = problems.length ? ` (except: ${problems.join('; ')})` : '';
    if (r.state === 'undoing') await saveJournal(catalog, id, 'undone', journal, problems.length ? `undo finished on restart${except}` : null);
    else await saveJournal(catalog, id, 'failed', journal, `interrupted; rolled back on restart${except}`);
  }
  return rows.length;
}
