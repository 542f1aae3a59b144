/**
 * Search entry points. The long-running server keeps a `SearchEngine` per root; `searchCatalog` is
 * the one-shot form for the CLI (it loads an engine, runs one query and drops it).
 */
import type { Catalog } from '../catalog/catalog';
import { SearchEngine } from './engine';
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
 * Searches one root's catalog. Free words match file and folder names (all words beat some words);
 * filters narrow by folder, path, format, camera, capture date, size, dimensions and orientation.
 * Loads the whole catalog each call: anything that searches more than once should keep a SearchEngine.
 */
export async function searchCatalog(catalog: Catalog, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const engine = await SearchEngine.load(catalog);
  return engine.search({ query, limit: options.limit, cursor: options.cursor, filters: options.filters });
}
