import type { AnalyzerRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';

/**
 * A per-image analysis stage. Bump `version` whenever its output changes: assets analysed by an
 * older version are queued again. Its rows go to tables (created by a catalog migration) that
 * carry an `asset_id` column; they are replaced atomically with the asset's other facts.
 */
export interface Analyzer {
  readonly name: string;
  readonly version: number;
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
