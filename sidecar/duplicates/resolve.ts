import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { emptyChanges } from '../catalog/catalog';
import { referencesTo, type StoredReference } from '../references/reference-index';
import { findInTrash, moveToTrash, restoreFromTrash, type TrashedFile } from '../trash/os-trash';
import { isWritable } from '../util/writable';
import { findDuplicateGroups } from './find-groups';
import { applyEdits, rewrittenLink, type TextEdit } from './link-rewrite';

export interface ResolveRequest {
  groupKey: string;
  /** Asset ids to keep; links to trashed files are pointed at the first one. */
  keep: number[];
  /** Asset ids to move to the trash; default: every other member of the group. */
  trash?: number[];
}

interface RewriteRecord {
  document: string;
  backup: string;
  writtenSha256: string | null;
  links: Array<{ from: string; to: string }>;
}

interface TrashRecord {
  relPath: string;
  /** Set once the file is in the trash; `startedAt` lets recovery find a move whose record was lost. */
  trashed: TrashedFile | null;
  startedAt: number | null;
}

interface Journal {
  keep: string[];
  trash: TrashRecord[];
  rewrites: RewriteRecord[];
}

export type ResolutionState = 'applying' | 'applied' | 'failed' | 'undone';

export interface ResolutionResult {
  id: number;
  groupKey: string;
  state: ResolutionState;
  kept: string[];
  trashed: string[];
  rewritten: Array<{ document: string; links: number }>;
  error: string | null;
}

export class ResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResolutionError';
  }
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function saveJournal(catalog: Catalog, id: number, state: ResolutionState, journal: Journal, error: string | null = null): Promise<void> {
  await catalog.transact((q) =>
    q.exec('UPDATE resolutions SET state = $1, journal = $2, error_message = $3 WHERE id = $4', [state, JSON.stringify(journal), error, id]),
  );
}

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const mode = (await fsp.stat(path)).mode & 0o7777;
  const tmp = `${path}.loupe-${process.pid}.tmp`;
  await fsp.writeFile(tmp, data, { mode });
  await fsp.rename(tmp, path);
}

function toResult(id: number, groupKey: string, state: ResolutionState, journal: Journal, error: string | null): ResolutionResult {
  return {
    id,
    groupKey,
    state,
    kept: journal.keep,
    trashed: journal.trash.filter((t) => t.trashed).map((t) => t.relPath),
    rewritten: journal.rewrites.map((r) => ({ document: r.document, links: r.links.length })),
    error,
  };
}

/** Puts everything a journal did back: trashed files restored, documents restored from backups. */
async function rollBack(catalog: Catalog, journal: Journal): Promise<string[]> {
  const problems: string[] = [];
  for (const t of [...journal.trash].reverse()) {
    let entry = t.trashed;
    if (!entry && t.startedAt !== null) entry = await findInTrash(join(catalog.root, t.relPath), t.startedAt);
    if (!entry) continue;
    try {
      await restoreFromTrash(entry);
      t.trashed = null;
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  for (const r of journal.rewrites) {
    if (r.writtenSha256 === null) continue;
    const path = join(catalog.root, r.document);
    try {
      const current = await fsp.readFile(path);
      if (sha256(current) !== r.writtenSha256) {
        problems.push(`${r.document} was edited after Loupe changed its links; its links were not reverted`);
        continue;
      }
      await writeAtomic(path, await fsp.readFile(r.backup));
      r.writtenSha256 = null;
    } catch (err) {
      problems.push(`${r.document}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

/**
 * Resolves one duplicate group: documents that link to a trashed file are rewritten to link to
 * the keeper, then the other files go to the OS trash. All or nothing: any failure rolls back
 * what was done. Every step is journalled first, so a crash is rolled back on the next start.
 */
export async function resolveGroup(catalog: Catalog, request: ResolveRequest, onRemoved?: (assetIds: number[]) => void): Promise<ResolutionResult> {
  const report = await findDuplicateGroups(catalog);
  const group = report.groups.find((g) => g.key === request.groupKey);
  if (!group) throw new ResolutionError('that duplicate group no longer exists; refresh the list');
  const byId = new Map(group.members.map((m) => [m.id, m]));
  if (request.keep.length === 0) throw new ResolutionError('keep at least one file');
  for (const id of [...request.keep, ...(request.trash ?? [])]) {
    if (!byId.has(id)) throw new ResolutionError(`asset ${id} is not in this group`);
  }
  const trashIds = request.trash ?? group.members.map((m) => m.id).filter((id) => !request.keep.includes(id));
  if (trashIds.some((id) => request.keep.includes(id))) throw new ResolutionError('a file cannot be both kept and trashed');
  if (trashIds.length === 0) throw new ResolutionError('nothing to trash');
  const keeper = byId.get(request.keep[0])!;
  const trashPaths = trashIds.map((id) => byId.get(id)!.relPath);

  // Plan every document edit before touching anything.
  const refs = await referencesTo(catalog, trashPaths);
  const byDoc = new Map<string, StoredReference[]>();
  for (const r of refs) byDoc.set(r.document, [...(byDoc.get(r.document) ?? []), r]);
  const planned: Array<{ document: string; original: Buffer; updated: string; edits: TextEdit[] }> = [];
  for (const [document, docRefs] of byDoc) {
    const path = join(catalog.root, document);
    if (!isWritable(path)) throw new ResolutionError(`cannot update links in ${document}: the file is read-only; nothing was changed`);
    const original = await fsp.readFile(path);
    const text = original.toString('utf8');
    const edits = docRefs.map((r) => ({ start: r.start, end: r.end, from: r.raw, to: rewrittenLink(r, keeper.relPath) }));
    let updated: string;
    try {
      updated = applyEdits(text, edits);
    } catch {
      throw new ResolutionError(`${document} changed since it was indexed; re-index and try again (nothing was changed)`);
    }
    planned.push({ document, original, updated, edits });
  }

  const journal: Journal = {
    keep: request.keep.map((id) => byId.get(id)!.relPath),
    trash: trashPaths.map((relPath) => ({ relPath, trashed: null, startedAt: null })),
    rewrites: [],
  };
  const inserted = await catalog.transact((q) =>
    q.all(`INSERT INTO resolutions (state, group_key, journal) VALUES ('applying', $1, $2) RETURNING id`, [group.key, JSON.stringify(journal)]),
  );
  const id = Number(inserted[0].id);
  const backupDir = join(catalog.stateDir, 'resolutions', String(id));
  try {
    await fsp.mkdir(backupDir, { recursive: true });
    for (const [i, p] of planned.entries()) {
      const backup = join(backupDir, `document-${i}.bak`);
      await fsp.writeFile(backup, p.original);
      journal.rewrites.push({ document: p.document, backup, writtenSha256: null, links: p.edits.map((e) => ({ from: e.from, to: e.to })) });
    }
    await saveJournal(catalog, id, 'applying', journal);
    for (const [i, p] of planned.entries()) {
      journal.rewrites[i].writtenSha256 = sha256(p.updated);
      await saveJournal(catalog, id, 'applying', journal); // record intent before writing
      await writeAtomic(join(catalog.root, p.document), p.updated);
    }
    for (const t of journal.trash) {
      t.startedAt = Date.now();
      await saveJournal(catalog, id, 'applying', journal);
      [t.trashed] = await moveToTrash([join(catalog.root, t.relPath)]);
    }
    await catalog.applyScan({ ...emptyChanges(), removed: trashIds });
    onRemoved?.(trashIds);
    await saveJournal(catalog, id, 'applied', journal);
    return toResult(id, group.key, 'applied', journal, null);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const problems = await rollBack(catalog, journal);
    const message = `${reason}; everything was put back${problems.length ? `, except: ${problems.join('; ')}` : ''}`;
    await saveJournal(catalog, id, 'failed', journal, message);
    throw new ResolutionError(message);
  }
}

/**
 * Moves files to the OS trash on the user's request (the gallery's Delete). Journalled like a
 * resolution, so `undoResolution` brings them back and a crash half-way is rolled back on start.
 */
export async function trashAssets(catalog: Catalog, assetIds: number[], onRemoved?: (assetIds: number[]) => void): Promise<ResolutionResult> {
  if (assetIds.length === 0) throw new ResolutionError('nothing to trash');
  const relPaths: string[] = [];
  for (const id of assetIds) {
    const asset = await catalog.getAsset(id);
    if (!asset) throw new ResolutionError(`asset ${id} no longer exists`);
    relPaths.push(asset.relPath);
  }
  const key = `trash:${[...assetIds].sort((a, b) => a - b).join(',')}`;
  const journal: Journal = { keep: [], trash: relPaths.map((relPath) => ({ relPath, trashed: null, startedAt: null })), rewrites: [] };
  const inserted = await catalog.transact((q) =>
    q.all(`INSERT INTO resolutions (state, group_key, journal) VALUES ('applying', $1, $2) RETURNING id`, [key, JSON.stringify(journal)]),
  );
  const id = Number(inserted[0].id);
  try {
    for (const t of journal.trash) {
      t.startedAt = Date.now();
      await saveJournal(catalog, id, 'applying', journal);
      [t.trashed] = await moveToTrash([join(catalog.root, t.relPath)]);
    }
    await catalog.applyScan({ ...emptyChanges(), removed: assetIds });
    onRemoved?.(assetIds);
    await saveJournal(catalog, id, 'applied', journal);
    return toResult(id, key, 'applied', journal, null);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const problems = await rollBack(catalog, journal);
    const message = `${reason}; everything was put back${problems.length ? `, except: ${problems.join('; ')}` : ''}`;
    await saveJournal(catalog, id, 'failed', journal, message);
    throw new ResolutionError(message);
  }
}

async function loadResolution(catalog: Catalog, id: number): Promise<{ state: ResolutionState; groupKey: string; journal: Journal }> {
  const rows = await catalog.read('SELECT state, group_key, journal FROM resolutions WHERE id = $1', [id]);
  if (!rows.length) throw new ResolutionError(`no resolution ${id}`);
  return { state: rows[0].state as ResolutionState, groupKey: rows[0].group_key as string, journal: JSON.parse(rows[0].journal as string) as Journal };
}

/** Undoes an applied resolution: files come back from the trash, documents get their old bytes. */
export async function undoResolution(catalog: Catalog, id: number): Promise<ResolutionResult> {
  const { state, groupKey, journal } = await loadResolution(catalog, id);
  if (state !== 'applied') throw new ResolutionError(`resolution ${id} is ${state}; only applied resolutions can be undone`);
  const problems = await rollBack(catalog, journal);
  const error = problems.length ? problems.join('; ') : null;
  await saveJournal(catalog, id, 'undone', journal, error);
  // `trashed` now lists only files that could not be brought back.
  return toResult(id, groupKey, 'undone', journal, error);
}

/** After a crash: roll back every resolution that was half applied. Returns how many. */
export async function recoverResolutions(catalog: Catalog): Promise<number> {
  const rows = await catalog.read(`SELECT id FROM resolutions WHERE state = 'applying'`);
  for (const r of rows) {
    const id = Number(r.id);
    const { journal } = await loadResolution(catalog, id);
    const problems = await rollBack(catalog, journal);
    await saveJournal(catalog, id, 'failed', journal, `interrupted; rolled back on restart${problems.length ? ` (except: ${problems.join('; ')})` : ''}`);
  }
  return rows.length;
}

export async function listResolutions(catalog: Catalog, limit = 50): Promise<ResolutionResult[]> {
  const rows = await catalog.read('SELECT id, state, group_key, journal, error_message FROM resolutions ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map((r) => toResult(Number(r.id), r.group_key as string, r.state as ResolutionState, JSON.parse(r.journal as string) as Journal, (r.error_message as string | null) ?? null));
}
