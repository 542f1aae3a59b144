/**
 * Public types of the search engine: what the CLI, the server and the UI see, and the plug-in
 * interfaces through which later analyzers (semantic, OCR, tags, faces) add signals and filters.
 */
import type { Catalog, SearchFacts } from '../catalog/catalog';
import type { AssetStatus } from '../catalog/types';
import type { ParsedQuery } from './query-parser';
import type { SearchTable } from './table';

/**
 * What a reason chip is about. Signals (ranked): filename, folder, text, tag, semantic.
 * Filters (constraints): path, date, camera, format, size, dimensions, orientation, text, face, tag.
 */
export type MatchKind =
  | 'filename'
  | 'folder'
  | 'path'
  | 'date'
  | 'camera'
  | 'format'
  | 'size'
  | 'dimensions'
  | 'orientation'
  | 'text'
  | 'tag'
  | 'face'
  | 'semantic'
  | 'similar';

/** Why an item matched, shown to the user as a chip. */
export interface MatchReason {
  kind: MatchKind;
  text: string;
}

export interface SearchHit {
  id: number;
  relPath: string;
  /** 0..1 for display: 1 means best in every signal that ranked the query (or a filter-only match). */
  score: number;
  reasons: MatchReason[];
  /** Absolute path of the WebP thumbnail, if one was made. */
  thumbnail: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  takenAt: string | null;
}

export type Shape = 'portrait' | 'landscape' | 'square';

/**
 * Structured versions of the query filters, for the UI. They are combined (AND) with the filters typed
 * in the query. A superset of the protocol's `SearchFilters` (folder, formats, camera, takenFrom, takenTo).
 */
export interface SearchFilters {
  /** Folder name (any folder segment containing it) or folder path such as "trips/2019". */
  folder?: string | string[];
  /** Text anywhere in the relative path. */
  path?: string | string[];
  /** "jpeg", "png", ... ("jpg", "tif" and a leading dot are accepted). */
  formats?: string[];
  /** Text in "make model". */
  camera?: string | string[];
  /** Inclusive: "2019", "2019-05", "2019-05-01" (from the start of that period) or an ISO date-time. */
  takenFrom?: string;
  /** Inclusive: "2019", "2019-05", "2019-05-01" (to the end of that period) or an ISO date-time. */
  takenTo?: string;
  /** File size in bytes, inclusive. */
  minSize?: number;
  maxSize?: number;
  /** Pixel dimensions (after EXIF rotation), inclusive. */
  minWidth?: number;
  maxWidth?: number;
  minHeight?: number;
  maxHeight?: number;
  /** Width x height in pixels (after EXIF rotation), inclusive. */
  minPixels?: number;
  maxPixels?: number;
  orientation?: Shape | Shape[];
  /** True: only images with recognised text; false: only images without. Needs an OCR provider. */
  hasText?: boolean;
  /** Needs a face provider. */
  hasFaces?: boolean;
  person?: string | string[];
  tag?: string | string[];
}

export interface SearchRequest {
  query: string;
  filters?: SearchFilters;
  /** Page size, 1..1000; default 50. */
  limit?: number;
  /** Opaque cursor from the previous page's `nextCursor`. */
  cursor?: string | null;
}

export interface SearchOptions {
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string | null;
  filters?: SearchFilters;
}

export interface SearchResult {
  query: string;
  items: SearchHit[];
  total: number;
  nextCursor: string | null;
  /** Problems with the query the user should see (bad date, filter with no analyzer yet, ...). */
  warnings: string[];
}

/** What the engine keeps of an asset; `Asset` and `SearchFacts` both fit. Not 'ok' means: remove it. */
export type SearchableAsset = SearchFacts & { status?: AssetStatus };

// ---- plug-in interfaces ----

/**
 * One signal's ranking for a query. Entries are best first (scores non-increasing); equal scores
 * share a rank. Ids that are not (or no longer) in the engine are ignored.
 */
export interface RankedList {
  ids: ArrayLike<number>;
  /** The signal's own scores (any scale), same length as `ids`. */
  scores: ArrayLike<number>;
  /**
   * Why an asset is in this list; called only for the items of the page being returned (also for
   * later pages of the same search), without `this` (use a closure). Default: one reason of the
   * signal's kind, named after it.
   */
  explain?(id: number): MatchReason[];
}

export interface SignalContext {
  /** The engine's rows (read-only). */
  readonly table: SearchTable;
  /** The catalog the engine was loaded from, for signals that read their own tables. */
  readonly catalog: Catalog;
}

/**
 * A ranked signal: filename words (built in), and later semantic similarity, OCR text, tags. Each one
 * ranks on its own; the engine fuses the lists with reciprocal rank fusion. A signal must not depend
 * on another.
 */
export interface SearchSignal {
  /** Unique name, e.g. 'filename', 'semantic', 'ocr'. */
  readonly name: string;
  /** The reason kind used when the list has no `explain`. */
  readonly kind: MatchKind;
  /** RRF weight (default 1); `registerSignal(..., { weight })` overrides it. */
  readonly weight?: number;
  /** Null when the query gives this signal nothing to rank (e.g. no free words). */
  rank(query: ParsedQuery, ctx: SignalContext): RankedList | null | Promise<RankedList | null>;
  /**
   * Read right after `rank`: something the user should know about this signal for that query
   * (e.g. "semantic search is off: the model is not downloaded"); added to the result's warnings.
   */
  notice?(query: ParsedQuery): string | null;
}

/** Filters answered by an analyzer's data rather than by the catalog's own columns. */
export type ProvidedFilter = 'text' | 'faces' | 'person' | 'tag';

/**
 * Answers one provided filter: `has:text` / `has:faces` (value null), `person:NAME`, `tag:NAME`.
 * Until a provider is registered, the filter is ignored and the result carries a warning.
 */
export interface FilterProvider {
  readonly filter: ProvidedFilter;
  /** Ids of the assets that satisfy the filter (for `has:` filters with value null: that have any). */
  match(value: string | null, ctx: SignalContext): Iterable<number> | Promise<Iterable<number>>;
  /** A warning for a value the filter cannot mean anything by (e.g. an unknown tag), else null. */
  check?(value: string | null): string | null;
}
