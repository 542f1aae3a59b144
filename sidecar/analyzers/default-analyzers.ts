import type { Analyzer } from '../pipeline/analyzer';
import { loadMobileNetAnalyzer, type LoadMobileNetOptions } from './mobilenet/load';
import { pdqAnalyzer } from './pdq-analyzer';

/** The analyzers that need no model file. Later issues add theirs here. */
export function defaultAnalyzers(): Analyzer[] {
  return [pdqAnalyzer];
}

/**
 * What an index run uses unless told otherwise: `defaultAnalyzers()` plus every model-backed
 * analyzer whose model resolves (LOUPE_MODELS_DIR, the cache, or a verified download). A model
 * that cannot be had leaves its analyzer out, with one note, instead of failing every image.
 */
export async function loadDefaultAnalyzers(options: LoadMobileNetOptions = {}): Promise<Analyzer[]> {
  const analyzers = defaultAnalyzers();
  const mobilenet = await loadMobileNetAnalyzer(options);
  if (mobilenet) analyzers.push(mobilenet);
  return analyzers;
}
