import type { Analyzer } from '../pipeline/analyzer';
import { pdqAnalyzer } from './pdq-analyzer';

/** The analyzers every index run uses unless told otherwise. Later issues add theirs here. */
export function defaultAnalyzers(): Analyzer[] {
  return [pdqAnalyzer];
}
