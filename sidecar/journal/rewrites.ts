import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { referencesTo, type StoredReference } from '../references/reference-index';
import { applyEdits, rewrittenLink, type TextEdit } from '../duplicates/link-rewrite';
import { crashPoint } from '../util/crash-point';
import { isWritable } from '../util/writable';
import { backupDir, JournalError, saveJournal, sha256, writeAtomic, type Journal } from './journal';

/** One document's planned link edits, read and checked before anything is changed. */
export interface PlannedRewrite {
  document: string;
  original: Buffer;
  edits: Array<TextEdit & { target: string }>;
}

/**
 * Plans the edits that point every document link to `from` at `retarget.get(from)` (root-relative
 * paths). Refuses up front, changing nothing, when a document is read-only or changed since it was
 * indexed.
 */
export async function planRewrites(catalog: Catalog, retarget: ReadonlyMap<string, string>): Promise<PlannedRewrite[]> {
  const refs = await referencesTo(catalog, [...retarget.keys()]);
  const byDoc = new Map<string, StoredReference[]>();
  for (const r of refs) byDoc.set(r.document, [...(byDoc.get(r.document) ?? []), r]);
  const planned: PlannedRewrite[] = [];
  for (const [document, docRefs] of byDoc) {
    const path = join(catalog.root, document);
    if (!isWritable(path)) throw new JournalError(`cannot update links in ${document}: the file is read-only; nothing was changed`);
    const original = await fsp.readFile(path);
    const edits = docRefs.map((r) => ({ start: r.start, end: r.end, from: r.raw, to: rewrittenLink(r, retarget.get(r.target)!), target: r.target }));
    try {
      applyEdits(original.toString('utf8'), edits);
    } catch {
      throw new JournalError(`${document} changed since it was indexed; re-index and try again (nothing was changed)`);
    }
    planned.push({ document, original, edits });
  }
  return planned;
}

/**
 * Writes planned rewrites (only the edits whose target `include` accepts), journalling a backup of
 * each document and the hash of what was written before writing it.
 */
export async function applyRewrites(
  catalog: Catalog,
  id: number,
  journal: Journal,
  planned: readonly PlannedRewrite[],
  include: (target: string) => boolean = () => true,
): Promise<void> {
  const dir = backupDir(catalog, id);
  await fsp.mkdir(dir, { recursive: true });
  const work: Array<{ document: string; updated: string; index: number }> = [];
  for (const p of planned) {
    const edits = p.edits.filter((e) => include(e.target));
    if (edits.length === 0) continue;
    // The document must still hold what was planned against.
    const current = await fsp.readFile(join(catalog.root, p.document));
    if (!current.equals(p.original)) throw new JournalError(`${p.document} changed while Loupe was working; its links were not updated`);
    const backup = join(dir, `document-${journal.rewrites.length}.bak`);
    await fsp.writeFile(backup, p.original);
    journal.rewrites.push({ document: p.document, backup, writtenSha256: null, links: edits.map((e) => ({ from: e.from, to: e.to })) });
    work.push({ document: p.document, updated: applyEdits(p.original.toString('utf8'), edits), index: journal.rewrites.length - 1 });
  }
  await saveJournal(catalog, id, 'applying', journal);
  for (const w of work) {
    journal.rewrites[w.index].writtenSha256 = sha256(w.updated);
    await saveJournal(catalog, id, 'applying', journal); // record intent before writing
    crashPoint('rewrite:before-write');
    await writeAtomic(join(catalog.root, w.document), w.updated);
    crashPoint('rewrite:written');
  }
}
