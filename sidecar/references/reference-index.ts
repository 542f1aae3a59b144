import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { documentKind, extractReferences, type DocumentKind, type FileReference } from './extract-links';

export interface DocumentFile {
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
}

/** A link from a document to a file in the root. */
export interface StoredReference {
  document: string;
  target: string;
  raw: string;
  start: number;
  end: number;
  syntax: FileReference['syntax'];
}

/** Documents larger than this are not read for links (generated bundles, data dumps). */
const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** Resolves a link target against the linking document; null when it leaves the root. */
export function resolveTarget(documentRelPath: string, targetPath: string): string | null {
  const fromRoot = targetPath.startsWith('/');
  const joined = fromRoot ? targetPath.slice(1) : posix.join(posix.dirname(documentRelPath), targetPath);
  const normal = posix.normalize(joined.replace(/\\/g, '/'));
  if (normal === '.' || normal.startsWith('../') || normal === '..' || posix.isAbsolute(normal)) return null;
  return normal;
}

interface KnownDocument {
  id: number;
  size: number;
  mtimeMs: number;
}

/**
 * Keeps the catalog's record of which documents link to which files up to date. Unchanged
 * documents (same size and mtime) are not read again.
 */
export async function updateReferences(catalog: Catalog, documents: DocumentFile[]): Promise<{ read: number; removed: number }> {
  const rows = await catalog.read('SELECT id, rel_path, size, mtime_ms FROM documents');
  const known = new Map<string, KnownDocument>(rows.map((r) => [r.rel_path as string, { id: Number(r.id), size: Number(r.size), mtimeMs: Number(r.mtime_ms) }]));
  const seen = new Set<string>();
  let read = 0;
  for (const doc of documents) {
    const kind = documentKind(doc.relPath);
    if (!kind) continue;
    seen.add(doc.relPath);
    const k = known.get(doc.relPath);
    if (k && k.size === doc.size && k.mtimeMs === doc.mtimeMs) continue;
    await storeDocument(catalog, doc, kind, k?.id ?? null);
    read++;
  }
  const gone = [...known.entries()].filter(([path]) => !seen.has(path)).map(([, k]) => k.id);
  if (gone.length) {
    await catalog.transact(async (q) => {
      for (const id of gone) {
        await q.exec('DELETE FROM doc_references WHERE document_id = $1', [id]);
        await q.exec('DELETE FROM documents WHERE id = $1', [id]);
      }
    });
  }
  return { read, removed: gone.length };
}

async function storeDocument(catalog: Catalog, doc: DocumentFile, kind: DocumentKind, existingId: number | null): Promise<void> {
  let refs: FileReference[] = [];
  let error: string | null = null;
  if (doc.size > MAX_DOCUMENT_BYTES) error = `larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB; links not read`;
  else {
    try {
      refs = extractReferences(await fsp.readFile(doc.absPath, 'utf8'), kind);
    } catch (err) {
      error = `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
  }
  await catalog.transact(async (q) => {
    let id = existingId;
    if (id === null) {
      const inserted = await q.all(
        `INSERT INTO documents (rel_path, size, mtime_ms, kind, error_message) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [doc.relPath, doc.size, doc.mtimeMs, kind, error],
      );
      id = Number(inserted[0].id);
    } else {
      await q.exec('UPDATE documents SET size = $1, mtime_ms = $2, kind = $3, error_message = $4 WHERE id = $5', [doc.size, doc.mtimeMs, kind, error, id]);
      await q.exec('DELETE FROM doc_references WHERE document_id = $1', [id]);
    }
    for (const r of refs) {
      const target = resolveTarget(doc.relPath, r.path);
      if (target === null) continue;
      await q.exec(
        'INSERT INTO doc_references (document_id, target_path, raw, start_offset, end_offset, syntax) VALUES ($1, $2, $3, $4, $5, $6)',
        [id, target, r.raw, r.start, r.end, r.syntax],
      );
    }
  });
}

/** Every stored link pointing at one of `targets` (root-relative paths). */
export async function referencesTo(catalog: Catalog, targets: readonly string[]): Promise<StoredReference[]> {
  if (targets.length === 0) return [];
  const placeholders = targets.map((_, i) => `$${i + 1}`).join(', ');
  const rows = await catalog.read(
    `SELECT d.rel_path AS document, r.target_path, r.raw, r.start_offset, r.end_offset, r.syntax
     FROM doc_references r JOIN documents d ON d.id = r.document_id
     WHERE r.target_path IN (${placeholders}) ORDER BY d.rel_path, r.start_offset`,
    [...targets],
  );
  return rows.map((r) => ({
    document: r.document as string,
    target: r.target_path as string,
    raw: r.raw as string,
    start: Number(r.start_offset),
    end: Number(r.end_offset),
    syntax: r.syntax as FileReference['syntax'],
  }));
}
