/**
 * Search entry points. The long-running server keeps a `SearchEngine` per root; `searchCatalog` is
 * the one-shot form for the CLI (it loads an engine, runs one query and drops it).
 */
import type { Catalog } from '../catalog/catalog';
import { SearchEngine } from './engine';
import { enableTags } from '../tags/tags';
import type { SearchOptions, SearchResult } from './types';

export { SearchEngine, type SearchEngineOptions } from './engine';
export { SearchCursorError } from './cursor';
export type {
  FilterProvider,
  MatchKind,
  MatchReason,
  ProvidedFilter,
  RankedList,
  SearchableAsset,
  SearchFilters,
  SearchHit,
  SearchOptions,
  SearchRequest,
  SearchResult,
  SearchSignal,
  Shape,
  SignalContext,
} from './types';

/**
 * Searches one root's catalog. Free words match file and folder names (all words beat some words)
 * and image tags (concepts, objects, colours);
 * filters narrow by folder, path, format, camera, capture date, size, dimensions and orientation.
 * Loads the whole catalog each call: anything that searches more than once should keep a SearchEngine.
 *
 * `cursor` is a `nextCursor` from a previous call, or (for callers that page by position, like the
 * multi-root merge in server/root-search.ts) a decimal offset into the results.
 */
export async function searchCatalog(catalog: Catalog, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const engine = await SearchEngine.load(catalog);
  enableTags(engine);
  const { limit, filters } = options;
  let cursor = options.cursor ?? null;
  if (cursor !== null && /^\d+$/.test(cursor)) {
    // Skip `offset` results by paging through them.
    let skip = Number(cursor);
    cursor = null;
    while (skip > 0) {
      const skipped = await engine.search({ query, filters, limit: Math.min(skip, 1000), cursor });
      skip -= skipped.items.length;
      cursor = skipped.nextCursor;
      if (cursor === null) return { ...skipped, items: [], nextCursor: null };
    }
  }
  return engine.search({ query, limit, cursor, filters });
}
