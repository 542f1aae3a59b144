import { accessSync, constants, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { emptyChanges } from '../catalog/catalog';
import { moveToTrash } from '../trash/os-trash';
import { isWritable } from '../util/writable';
import { failJournal, JournalError, saveJournal, sha256, startJournal, undoJournal, type Journal, type JournalState } from '../journal/journal';
import { applyRewrites, planRewrites, type PlannedRewrite } from '../journal/rewrites';
import { transformImage } from './encode';
import { insideRoot, outputPath } from './naming';
import { TransformError, type OutputFormat, type TransformOptions } from './options';

export type ApplyMode = 'beside' | 'replace';

export interface ApplyRequest {
  /** Root-relative paths of the images. */
  relPaths: string[];
  options: TransformOptions;
  /** 'beside' (default): a new file next to the original. 'replace': the original goes to the trash. */
  mode?: ApplyMode;
  /** Replace a file that already has the output's name (it goes to the trash, undoable). */
  overwrite?: boolean;
  /** Beside mode: the new file's name; {name} {ext} {width} {height} {format}. */
  pattern?: string;
}

export type FileStatus = 'done' | 'skipped' | 'failed' | 'cancelled';

export interface FileResult {
  source: string;
  /** Root-relative path written (or that would have been written). */
  output: string | null;
  status: FileStatus;
  /** Why it was skipped or failed: 'exists', 'read_only', 'animated', 'no_gain', 'unreadable', 'outside_root', 'failed', ... */
  code: string | null;
  message: string | null;
  originalBytes: number;
  bytes: number | null;
  width: number | null;
  height: number | null;
  format: OutputFormat | null;
  warnings: string[];
}

export interface ApplyResult {
  /** Undo id (`transform/undo`), null when nothing was changed. */
  id: number | null;
  state: JournalState | null;
  files: FileResult[];
  rewritten: Array<{ document: string; links: number }>;
  /** Sum over done files of original minus new bytes. */
  bytesSaved: number;
  cancelled: boolean;
}

export interface ApplyHooks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, current: string | null) => void;
  /** Assets whose files left the root (replaced by a file with another name). */
  onRemoved?: (assetIds: number[]) => void;
}

function dirWritable(path: string): boolean {
  try {
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  );
}

function emptyResult(source: string, status: FileStatus, code: string | null, message: string | null, originalBytes = 0): FileResult {
  return { source, output: null, status, code, message, originalBytes, bytes: null, width: null, height: null, format: null, warnings: [] };
}

/**
 * Optimises images and writes the results, journalled: `undoTransform` removes what was written,
 * brings back every trashed original or overwritten file, and restores rewritten documents. In
 * replace mode, documents linking to an original whose name changes (photo.png -> photo.webp) are
 * rewritten to the new name. Per-file problems (unreadable, animated, name taken) are reported
 * per file and the batch goes on; a failure of the operation itself rolls everything back.
 * Cancelling stops between files; what was done stays done (and undoable).
 */
export async function applyTransforms(catalog: Catalog, request: ApplyRequest, hooks: ApplyHooks = {}): Promise<ApplyResult> {
  const mode = request.mode ?? 'beside';
  const results: FileResult[] = [];
  const work: Array<{ index: number; source: string; replaceTarget: string | null }> = [];
  const claimed = new Set<string>();

  // Checks that need no encoding, before anything is touched.
  for (const raw of request.relPaths) {
    const source = insideRoot(raw);
    if (source === null) {
      results.push(emptyResult(raw, 'failed', 'outside_root', 'the path is outside the root'));
      continue;
    }
    const abs = join(catalog.root, source);
    const stat = await fsp.stat(abs).catch(() => null);
    if (!stat?.isFile()) {
      results.push(emptyResult(source, 'failed', 'unreadable', 'no such file'));
      continue;
    }
    if (mode === 'replace' && (!isWritable(abs) || !dirWritable(abs))) {
      results.push(emptyResult(source, 'failed', 'read_only', 'the file or its folder is read-only; write a new file beside it instead', stat.size));
      continue;
    }
    if (mode === 'beside' && !dirWritable(abs)) {
      results.push(emptyResult(source, 'failed', 'read_only', 'the folder is read-only', stat.size));
      continue;
    }
    let replaceTarget: string | null = null;
    if (mode === 'replace') {
      // The output format may depend on the source (no format given): replace keeps the extension then.
      replaceTarget = request.options.format ? outputPath(source, request.options.format, 'replace', { width: 0, height: 0 }) : source;
      if (replaceTarget !== source && (claimed.has(replaceTarget) || ((await exists(join(catalog.root, replaceTarget))) && !request.overwrite))) {
        results.push({ ...emptyResult(source, 'skipped', 'exists', `${replaceTarget} already exists; allow overwriting to replace it (it goes to the trash)`, stat.size), output: replaceTarget });
        continue;
      }
      claimed.add(replaceTarget);
    }
    results.push(emptyResult(source, 'cancelled', null, null, stat.size));
    work.push({ index: results.length - 1, source, replaceTarget });
  }

  // Links to originals that get a new name: planned (and refused if impossible) up front.
  const renames = new Map(work.filter((w) => w.replaceTarget !== null && w.replaceTarget !== w.source).map((w) => [w.source, w.replaceTarget!]));
  const planned: PlannedRewrite[] = renames.size ? await planRewrites(catalog, renames) : [];

  const journal: Journal = { keep: [], trash: [], rewrites: [], created: [] };
  const id = await startJournal(catalog, `transform:${mode}:${work.length}`, journal);
  const renamedDone = new Set<string>();
  const removedIds: number[] = [];
  let done = 0;
  let cancelled = false;
  try {
    for (const w of work) {
      const r = results[w.index];
      if (!cancelled) hooks.onProgress?.(done, work.length, w.source);
      if (hooks.signal?.aborted) {
        cancelled = true;
        r.message = 'cancelled before this file';
        continue;
      }
      const sourceAbs = join(catalog.root, w.source);
      let encoded;
      try {
        encoded = await transformImage(sourceAbs, request.options);
      } catch (err) {
        r.status = 'failed';
        r.code = err instanceof TransformError ? err.code : 'failed';
        r.message = err instanceof Error ? err.message : String(err);
        done++;
        continue;
      }
      Object.assign(r, { bytes: encoded.data.length, width: encoded.width, height: encoded.height, format: encoded.format, warnings: encoded.warnings });
      const target = w.replaceTarget ?? outputPath(w.source, encoded.format, mode, encoded, request.pattern);
      r.output = target;
      const targetAbs = join(catalog.root, target);
      const reshaped = request.options.maxWidth || request.options.maxHeight || request.options.enhance;
      if (mode === 'replace' && target === w.source && encoded.data.length >= r.originalBytes && !reshaped) {
        Object.assign(r, { status: 'skipped', code: 'no_gain', message: 'the optimised file would not be smaller; the original was kept' });
        done++;
        continue;
      }
      if (mode === 'beside') {
        if (target === w.source) {
          Object.assign(r, { status: 'failed', code: 'exists', message: 'the name pattern gives the original file name; use replace to replace it' });
          done++;
          continue;
        }
        if (claimed.has(target) || ((await exists(targetAbs)) && !request.overwrite)) {
          Object.assign(r, { status: 'skipped', code: 'exists', message: `${target} already exists; allow overwriting to replace it (it goes to the trash)` });
          done++;
          continue;
        }
        claimed.add(target);
      }
      // Write beside the target first: the old file leaves only once the new bytes are safely on disk.
      const tmp = `${targetAbs}.loupe-${process.pid}.tmp`;
      const created = { relPath: target, sha256: sha256(encoded.data), done: false, temp: `${target}.loupe-${process.pid}.tmp` };
      journal.created!.push(created);
      await saveJournal(catalog, id, 'applying', journal);
      await fsp.writeFile(tmp, encoded.data);
      try {
        // Whatever holds the name now (the original itself, or a file the user allowed to overwrite) goes to the trash.
        if (await exists(targetAbs)) {
          const record = { relPath: target, trashed: null as Journal['trash'][number]['trashed'], startedAt: Date.now() };
          journal.trash.push(record);
          await saveJournal(catalog, id, 'applying', journal);
          [record.trashed] = await moveToTrash([targetAbs]);
        }
        await fsp.rename(tmp, targetAbs);
        created.done = true;
        if (mode === 'replace' && target !== w.source) {
          const record = { relPath: w.source, trashed: null as Journal['trash'][number]['trashed'], startedAt: Date.now() };
          journal.trash.push(record);
          await saveJournal(catalog, id, 'applying', journal);
          [record.trashed] = await moveToTrash([sourceAbs]);
          renamedDone.add(w.source);
          const asset = await catalog.getAssetByPath(w.source);
          if (asset) removedIds.push(asset.id);
        }
        await saveJournal(catalog, id, 'applying', journal);
      } finally {
        await fsp.rm(tmp, { force: true });
      }
      r.status = 'done';
      done++;
    }
    if (renamedDone.size) await applyRewrites(catalog, id, journal, planned, (target) => renamedDone.has(target));
    if (removedIds.length) {
      await catalog.applyScan({ ...emptyChanges(), removed: removedIds });
      hooks.onRemoved?.(removedIds);
    }
    hooks.onProgress?.(done, work.length, null);
    const changed = (journal.created ?? []).some((c) => c.done);
    await saveJournal(catalog, id, changed ? 'applied' : 'failed', journal, changed ? null : 'nothing was changed');
    const doneFiles = results.filter((r) => r.status === 'done');
    return {
      id: changed ? id : null,
      state: changed ? 'applied' : null,
      files: results,
      rewritten: journal.rewrites.map((x) => ({ document: x.document, links: x.links.length })),
      bytesSaved: doneFiles.reduce((a, r) => a + r.originalBytes - (r.bytes ?? 0), 0),
      cancelled,
    };
  } catch (err) {
    throw await failJournal(catalog, id, journal, err);
  }
}

export interface TransformUndoResult {
  id: number;
  state: JournalState;
  /** Files brought back from the trash. */
  restored: string[];
  /** Files Loupe had written and removed again. */
  removed: string[];
  documents: string[];
  /** What could not be put back, or null. */
  error: string | null;
}

/** Undoes an applied `applyTransforms`: written files removed, originals restored, documents restored. */
export async function undoTransform(catalog: Catalog, id: number): Promise<TransformUndoResult> {
  const before = await catalog.read('SELECT group_key FROM resolutions WHERE id = $1', [id]);
  if (!before.length || !String(before[0].group_key).startsWith('transform:')) throw new JournalError(`no optimisation ${id}`);
  const { journal, error } = await undoJournal(catalog, id);
  return {
    id,
    state: 'undone',
    restored: journal.trash.filter((t) => t.trashed === null).map((t) => t.relPath),
    removed: (journal.created ?? []).filter((c) => !c.done).map((c) => c.relPath),
    documents: journal.rewrites.filter((r) => r.writtenSha256 === null).map((r) => r.document),
    error,
  };
}
