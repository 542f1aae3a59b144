import { promises as fsp } from 'node:fs';
import type { Catalog, ScanChanges } from '../catalog/catalog';
import { emptyChanges } from '../catalog/catalog';
import type { KnownFile } from '../catalog/types';
import { hashFile } from '../util/hash';
import { formatFromName, SNIFF_BYTES, sniffImage } from './sniff';
import { documentKind } from '../references/extract-links';
import { walkRoot, type WalkedFile, type WalkOptions } from './walk';

export interface ScanResult {
  changes: ScanChanges;
  /** Files that may link to images (Markdown, HTML, CSS, JSON), for the reference index. */
  documents: WalkedFile[];
  filesSeen: number;
  unchanged: number;
  durationMs: number;
}

export class ScanAbortedError extends Error {
  constructor() {
    super('scan cancelled');
    this.name = 'AbortError';
  }
}

/** Binary magic numbers fit in the first few bytes; only XML-looking files need the longer look. */
const QUICK_SNIFF_BYTES = 4096;

async function readHead(path: string): Promise<Uint8Array | null> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(path, 'r');
    const quick = Buffer.allocUnsafe(QUICK_SNIFF_BYTES);
    const first = await handle.read(quick, 0, QUICK_SNIFF_BYTES, 0);
    const head = quick.subarray(0, first.bytesRead);
    if (first.bytesRead < QUICK_SNIFF_BYTES || sniffImage(head) !== null || !looksLikeXml(head)) return head;
    const buf = Buffer.allocUnsafe(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    return null; // unreadable or vanished: the processing stage records the precise error
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function looksLikeXml(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return head[i] === 0x3c; // '<'
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * Compares the files under the root with the catalog and works out what changed.
 * Unchanged files (same size and mtime) are not opened. New files are sniffed (first 1 KiB)
 * so only images enter the catalog; a file whose size matches a vanished asset is hashed to
 * detect a move, which keeps its analysis.
 */
export async function scanRoot(catalog: Catalog, options: WalkOptions = {}): Promise<ScanResult> {
  const started = performance.now();
  const [known, others] = await Promise.all([catalog.knownFiles(), catalog.otherFiles()]);
  const entries = await walkRoot(catalog.root, options);
  if (options.signal?.aborted) throw new ScanAbortedError();

  const changes = emptyChanges();
  const seen = new Set<string>();
  const fresh: WalkedFile[] = [];
  const sizeChecks: Array<{ file: WalkedFile; known: KnownFile }> = [];
  let unchanged = 0;

  for (const entry of entries) {
    seen.add(entry.relPath);
    const k = known.get(entry.relPath);
    if (entry.kind === 'error') {
      if (!k || k.status !== 'error' || k.errorCode !== entry.code) changes.scanErrors.push(entry);
      continue;
    }
    if (k) {
      if (k.size === entry.size && k.mtimeMs === entry.mtimeMs) unchanged++;
      else if (k.size === entry.size && k.contentHash) sizeChecks.push({ file: entry, known: k });
      else changes.changed.push({ id: k.id, size: entry.size, mtimeMs: entry.mtimeMs });
      continue;
    }
    const o = others.get(entry.relPath);
    if (o && o.size === entry.size && o.mtimeMs === entry.mtimeMs) {
      unchanged++;
      continue;
    }
    fresh.push(entry);
  }

  // Same size, new mtime: only the content hash can tell a touch from an edit.
  await mapLimit(sizeChecks, 4, async ({ file, known: k }) => {
    const hash = await hashFile(file.absPath).catch(() => null);
    if (hash === k.contentHash) changes.touched.push({ id: k.id, mtimeMs: file.mtimeMs });
    else changes.changed.push({ id: k.id, size: file.size, mtimeMs: file.mtimeMs });
  });

  const missing = [...known.values()].filter((k) => !seen.has(k.relPath));
  const missingBySize = new Map<number, KnownFile[]>();
  for (const m of missing) {
    if (!m.contentHash) continue;
    const list = missingBySize.get(m.size) ?? [];
    list.push(m);
    missingBySize.set(m.size, list);
  }
  const movedIds = new Set<number>();

  await mapLimit(fresh, 8, async (file) => {
    if (options.signal?.aborted) return;
    const candidates = missingBySize.get(file.size);
    if (candidates && candidates.some((c) => !movedIds.has(c.id))) {
      const hash = await hashFile(file.absPath).catch(() => null);
      const match = candidates.find((c) => c.contentHash === hash && !movedIds.has(c.id));
      if (match) {
        movedIds.add(match.id);
        changes.moved.push({ id: match.id, relPath: file.relPath, size: file.size, mtimeMs: file.mtimeMs });
        return;
      }
    }
    const head = await readHead(file.absPath);
    const isImage = head !== null && sniffImage(head) !== null;
    // Unreadable files and files named like images enter the catalog so their error is visible;
    // other non-images are remembered so the next scan does not open them again.
    if (isImage || head === null || formatFromName(file.relPath) !== null) {
      changes.added.push({ relPath: file.relPath, size: file.size, mtimeMs: file.mtimeMs });
    } else {
      changes.otherAdded.push({ relPath: file.relPath, size: file.size, mtimeMs: file.mtimeMs });
    }
  });
  if (options.signal?.aborted) throw new ScanAbortedError();

  changes.removed = missing.filter((m) => !movedIds.has(m.id)).map((m) => m.id);
  for (const o of others.keys()) {
    if (!seen.has(o)) changes.otherRemoved.push(o);
  }
  // A path that became an image (or an error) is no longer an "other" file.
  for (const a of changes.added) if (others.has(a.relPath)) changes.otherRemoved.push(a.relPath);

  await catalog.applyScan(changes);
  const documents = entries.filter((e): e is WalkedFile => e.kind === 'file' && documentKind(e.relPath) !== null);
  return { changes, documents, filesSeen: entries.length, unchanged, durationMs: performance.now() - started };
}
