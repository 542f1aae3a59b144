import { LoupeErrorCodes, loupeError, type RootedSearchHit, type SearchParams, type SearchResponse } from '../protocol';
import { searchCatalog } from '../search/search';
import type { RootService } from './root-service';

/** Cursor for results merged from several roots: each root's own cursor, by root. */
type MultiCursor = Record<string, string | null>;

function decodeCursor(cursor: string | null | undefined): MultiCursor | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (parsed && typeof parsed === 'object') return parsed as MultiCursor;
  } catch {
    // fall through
  }
  throw loupeError(LoupeErrorCodes.InvalidCursor, 'the cursor is malformed; start the search again');
}

/** Searches each root and merges by score; one page holds at most `limit` items overall. */
export async function searchRoots(roots: RootService[], params: SearchParams): Promise<SearchResponse> {
  const limit = Math.max(1, Math.min(params.limit ?? 50, 1000));
  const cursors = decodeCursor(params.cursor);
  const perRoot = await Promise.all(
    roots.map(async (r) => {
      if (cursors && !(r.root in cursors)) return null;
      const cursor = cursors ? cursors[r.root] : null;
      if (cursors && cursor === null) return null; // this root is exhausted
      return { root: r.root, result: await searchCatalog(r.catalog, params.query, { limit, cursor }) };
    }),
  );
  const merged: RootedSearchHit[] = [];
  for (const entry of perRoot) if (entry) merged.push(...entry.result.items.map((h) => ({ ...h, root: entry.root })));
  merged.sort((a, b) => b.score - a.score || a.relPath.localeCompare(b.relPath));
  const page = merged.slice(0, limit);
  const warnings = [...new Set(perRoot.flatMap((e) => e?.result.warnings ?? []))];
  const total = perRoot.reduce((a, e) => a + (e?.result.total ?? 0), 0);
  if (roots.length === 1) {
    const only = perRoot[0];
    return { query: params.query, items: page, total, warnings, nextCursor: only?.result.nextCursor ? Buffer.from(JSON.stringify({ [roots[0].root]: only.result.nextCursor })).toString('base64url') : null };
  }
  // Multi-root: advance each root's cursor by how many of its items made this page.
  const next: MultiCursor = {};
  let more = false;
  for (const entry of perRoot) {
    if (!entry) continue;
    const used = page.filter((h) => h.root === entry.root).length;
    const prevOffset = cursors?.[entry.root] ? Number.parseInt(cursors[entry.root]!, 10) || 0 : 0;
    const remaining = entry.result.total - prevOffset - used;
    next[entry.root] = remaining > 0 ? String(prevOffset + used) : null;
    if (remaining > 0) more = true;
  }
  return { query: params.query, items: page, total, warnings, nextCursor: more ? Buffer.from(JSON.stringify(next)).toString('base64url') : null };
}
