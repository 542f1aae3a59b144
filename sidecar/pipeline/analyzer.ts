import type { AnalyzerRows, OwnedRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';

/**
 * A per-image analysis stage. Bump `version` whenever its output changes: assets analysed by an
 * older version are queued again. Its rows go to tables (created by a catalog migration) that
 * carry an `asset_id` column; they are replaced atomically with the asset's other facts.
 */
export type { OwnedRows };

export interface Analyzer {
  readonly name: string;
  readonly version: number;
  /**
   * The rows this analyzer owns. With it, an image whose other facts are current is given to this
   * analyzer alone when it is added or its version changes (turning OCR on does not redo faces);
   * without it, any change redoes the image with every analyzer.
   */
  readonly owns?: readonly OwnedRows[];
  /**
   * Images this analyzer would like in flight at once (it batches them itself, e.g. CLIP's
   * image tower): the indexer runs at least this many images concurrently.
   */
  readonly batchSize?: number;
  analyze(image: DecodedImage, signal: AbortSignal): Promise<AnalyzerRows>;
}

export function analyzerVersions(analyzers: readonly Analyzer[]): Record<string, number> {
  return Object.fromEntries(analyzers.map((a) => [a.name, a.version]));
}

/**
 * The analyzers an already indexed image still needs, given the versions it was analysed with; null
 * when one of them cannot run alone (it does not say which rows it owns), so the image is redone.
 */
export function staleAnalyzers(analyzers: readonly Analyzer[], done: Record<string, number>): Analyzer[] | null {
  const stale = analyzers.filter((a) => done[a.name] !== a.version);
  return stale.every((a) => a.owns) ? stale : null;
}
