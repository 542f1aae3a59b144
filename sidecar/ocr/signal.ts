import type { ParsedQuery } from '../search/query-parser';
import type { FilterProvider, MatchReason, RankedList, SearchSignal } from '../search/types';
import { unitsFromTerms, type OcrTextIndex } from './text-search';

/**
 * The OCR text signal of the search planner: free words and quoted phrases of the query ranked
 * over the recognised text (BM25, prefix and typo tolerant); fused with the other signals by RRF.
 */
export class OcrTextSignal implements SearchSignal {
  readonly name = 'ocr';
  readonly kind = 'text' as const;

  constructor(private readonly index: OcrTextIndex) {}

  rank(query: ParsedQuery): RankedList | null {
    const units = unitsFromTerms(query.terms);
    if (units.length === 0 || this.index.documents === 0) return null;
    const hits = this.index.search(units);
    if (hits.length === 0) return null;
    const terms = new Map(hits.map((h) => [h.assetId, h.terms]));
    return {
      ids: hits.map((h) => h.assetId),
      // Non-increasing, as the engine wants: units matched first, then BM25.
      scores: hits.map((h) => h.matched * 1e6 + h.score),
      explain: (id: number): MatchReason[] => [{ kind: 'text', text: `text: ${(terms.get(id) ?? []).join(' ')}` }],
    };
  }
}

/** `has:text`: images with any recognised word. */
export function ocrTextFilter(index: OcrTextIndex): FilterProvider {
  return { filter: 'text', match: () => index.idsWithText() };
}
