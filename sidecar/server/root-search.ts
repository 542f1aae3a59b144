import { LoupeErrorCodes, loupeError, type RootedSearchHit, type SearchParams, type SearchResponse } from '../protocol';
import { SearchCursorError, type SearchResult } from '../search/search';
import type { RootService } from './root-service';

/** Cursor for results merged from several roots: each root's own engine cursor ('' = from its start, null = exhausted). */
type MultiCursor = Record<string, string | null>;
/** The per-root cursors plus each root's total from the first page, so totals stay put while paging. */
interface MultiState {
  cursors: MultiCursor;
  totals: Record<string, number>;
}

function decodeMulti(cursor: string): MultiState {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as MultiState;
    if (parsed && typeof parsed.cursors === 'object' && typeof parsed.totals === 'object') return parsed;
  } catch {
    // fall through
  }
  throw loupeError(LoupeErrorCodes.InvalidCursor, 'the cursor is malformed; start the search again');
}

async function searchOne(root: RootService, params: SearchParams, limit: number, cursor: string | null): Promise<SearchResult> {
  try {
    return await root.search({ query: params.query, filters: params.filters, limit, cursor });
  } catch (err) {
    if (err instanceof SearchCursorError) throw loupeError(LoupeErrorCodes.InvalidCursor, err.message);
    throw err;
  }
}

/**
 * Searches each root's engine and merges by score. One root passes its engine's cursor through;
 * several roots page with a cursor holding where each root's results continue.
 */
export async function searchRoots(roots: RootService[], params: SearchParams): Promise<SearchResponse> {
  const limit = Math.max(1, Math.min(params.limit ?? 50, 1000));
  if (roots.length === 1) {
    const r = await searchOne(roots[0], params, limit, params.cursor ?? null);
    return { ...r, items: r.items.map((h) => ({ ...h, root: roots[0].root })) };
  }
  const state = params.cursor ? decodeMulti(params.cursor) : null;
  const cursors = state?.cursors ?? null;
  const perRoot = await Promise.all(
    roots.map(async (root) => {
      if (cursors && (!(root.root in cursors) || cursors[root.root] === null)) return null; // exhausted
      return { root, result: await searchOne(root, params, limit, cursors?.[root.root] || null) };
    }),
  );
  const merged: Array<RootedSearchHit & { index: number }> = [];
  for (const entry of perRoot) {
    if (!entry) continue;
    entry.result.items.forEach((h, index) => merged.push({ ...h, root: entry.root.root, index }));
  }
  merged.sort((a, b) => b.score - a.score || a.relPath.localeCompare(b.relPath));
  const page = merged.slice(0, limit);
  const next: MultiCursor = {};
  let more = false;
  for (const entry of perRoot) {
    if (!entry) continue;
    const used = page.filter((h) => h.root === entry.root.root);
    const rootName = entry.root.root;
    if (used.length === entry.result.items.length) next[rootName] = entry.result.nextCursor;
    else next[rootName] = used.length === 0 ? (cursors?.[rootName] ?? '') : entry.root.engine.cursorAfter(entry.result, used[used.length - 1].index);
    if (next[rootName] !== null) more = true;
  }
  const totals: Record<string, number> = { ...(state?.totals ?? {}) };
  for (const entry of perRoot) if (entry && !(entry.root.root in totals)) totals[entry.root.root] = entry.result.total;
  const nextState: MultiState = { cursors: next, totals };
  return {
    query: params.query,
    items: page.map(({ index: _index, ...hit }) => hit),
    total: Object.values(totals).reduce((a, n) => a + n, 0),
    warnings: [...new Set(perRoot.flatMap((e) => e?.result.warnings ?? []))],
    nextCursor: more ? Buffer.from(JSON.stringify(nextState)).toString('base64url') : null,
  };
}
