import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { emptyChanges } from '../catalog/catalog';
import { moveToTrash } from '../trash/os-trash';
import { crashPoint } from '../util/crash-point';
import { findDuplicateGroups } from './find-groups';
import {
  JournalError,
  failJournal,
  loadJournal,
  recoverJournals,
  saveJournal,
  startJournal,
  undoJournal,
  type Journal,
  type JournalState,
} from '../journal/journal';
import { applyRewrites, planRewrites } from '../journal/rewrites';

export interface ResolveRequest {
  groupKey: string;
  /** Asset ids to keep; links to trashed files are pointed at the first one. */
  keep: number[];
  /** Asset ids to move to the trash; default: every other member of the group. */
  trash?: number[];
}

export type ResolutionState = JournalState;

export interface ResolutionResult {
  id: number;
  groupKey: string;
  state: ResolutionState;
  kept: string[];
  trashed: string[];
  rewritten: Array<{ document: string; links: number }>;
  error: string | null;
}

/** Kept under its old name: a refused or rolled-back resolution. */
export const ResolutionError = JournalError;

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
  const planned = await planRewrites(catalog, new Map(trashPaths.map((p) => [p, keeper.relPath])));

  const journal: Journal = {
    keep: request.keep.map((id) => byId.get(id)!.relPath),
    trash: trashPaths.map((relPath) => ({ relPath, trashed: null, startedAt: null })),
    rewrites: [],
  };
  const id = await startJournal(catalog, group.key, journal);
  crashPoint('resolve:started');
  try {
    await applyRewrites(catalog, id, journal, planned);
    await trashJournalled(catalog, id, journal);
    await catalog.applyScan({ ...emptyChanges(), removed: trashIds });
    crashPoint('resolve:catalog-updated');
    onRemoved?.(trashIds);
    await saveJournal(catalog, id, 'applied', journal);
    return toResult(id, group.key, 'applied', journal, null);
  } catch (err) {
    throw await failJournal(catalog, id, journal, err);
  }
}

/**
 * Moves a journal's files to the OS trash one by one, saving the journal before each move so a crash
 * between the save and the move is rolled back on the next start.
 */
async function trashJournalled(catalog: Catalog, id: number, journal: Journal): Promise<void> {
  for (const t of journal.trash) {
    t.startedAt = Date.now();
    await saveJournal(catalog, id, 'applying', journal);
    crashPoint('trash:before-move');
    [t.trashed] = await moveToTrash([join(catalog.root, t.relPath)]);
    crashPoint('trash:moved');
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
  const id = await startJournal(catalog, key, journal);
  try {
    await trashJournalled(catalog, id, journal);
    await catalog.applyScan({ ...emptyChanges(), removed: assetIds });
    onRemoved?.(assetIds);
    await saveJournal(catalog, id, 'applied', journal);
    return toResult(id, key, 'applied', journal, null);
  } catch (err) {
    throw await failJournal(catalog, id, journal, err);
  }
}

/** Undoes an applied resolution: files come back from the trash, documents get their old bytes. */
export async function undoResolution(catalog: Catalog, id: number): Promise<ResolutionResult> {
  const { key, journal, error } = await undoJournal(catalog, id);
  // `trashed` now lists only files that could not be brought back.
  return toResult(id, key, 'undone', journal, error);
}

/** After a crash: roll back every resolution (or other journalled operation) that was half applied. */
export const recoverResolutions = recoverJournals;

export async function getResolution(catalog: Catalog, id: number): Promise<ResolutionResult> {
  const { state, key, journal, error } = await loadJournal(catalog, id);
  return toResult(id, key, state, journal, error);
}

export async function listResolutions(catalog: Catalog, limit = 50): Promise<ResolutionResult[]> {
  const rows = await catalog.read('SELECT id, state, group_key, journal, error_message FROM resolutions ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map((r) => toResult(Number(r.id), r.group_key as string, r.state as ResolutionState, JSON.parse(r.journal as string) as Journal, (r.error_message as string | null) ?? null));
}
