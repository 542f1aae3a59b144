/**
 * Tags in search: a ranked signal (query words -> concepts through the vocabulary -> images by
 * concept probability) and the `tag:` / `has:` / `color:` filters. Both read the catalog at query
 * time, so they are always as current as the catalog.
 */
import type { ParsedQuery } from '../search/query-parser';
import type { FilterProvider, MatchReason, RankedList, SearchSignal, SignalContext } from '../search/types';
import { countedName, MIN_SEARCH_SCORE, TAG_FILTER_SCORE } from './image-tags';
import { scoreGroups, type ConceptHit } from './tag-store';
import { tagVocabulary, type ConceptGroup, type TagVocabulary } from './vocabulary';

/** "tag: bird 0.41", "tag: 3 people 0.87". */
export function tagReason(vocab: TagVocabulary, concept: number, score: number, count: number): MatchReason {
  return { kind: 'tag', text: `tag: ${countedName(vocab.concepts[concept].name, count)} ${score.toFixed(2)}` };
}

/** Concept scores kept for recent queries (typing "bir", "bird", "birds" asks for the same concept). */
const CACHE_ENTRIES = 16;

export class TagSignal implements SearchSignal {
  readonly name = 'tags';
  readonly kind = 'tag' as const;
  /** Keyed by the engine table's generation (bumped by every catalog change it applies) and the concepts. */
  private readonly cache = new Map<string, Promise<Map<number, ConceptHit>>>();

  constructor(
    private readonly vocab: TagVocabulary = tagVocabulary(),
    /** See scoreGroups; 'sum' measured better (bench `tags`). */
    private readonly aggregate: 'sum' | 'max' = 'sum',
  ) {}

  /**
   * Score = mean over the query's concept groups of the image's best concept score in each,
   * halved unless every group matched (words that name no concept are left to other signals).
   */
  async rank(query: ParsedQuery, ctx: SignalContext): Promise<RankedList | null> {
    const groups = this.vocab.groups(query.terms);
    if (groups.length === 0) return null;
    const hits = await this.scores(groups, ctx);
    const entries: Array<{ id: number; score: number }> = [];
    for (const [id, hit] of hits) {
      let sum = 0;
      let matched = 0;
      for (const s of hit.scores) {
        sum += s;
        if (s > 0) matched++;
      }
      entries.push({ id, score: (sum / groups.length) * (matched === groups.length ? 1 : 0.5) });
    }
    entries.sort((a, b) => b.score - a.score || a.id - b.id);
    const vocab = this.vocab;
    return {
      ids: entries.map((e) => e.id),
      scores: entries.map((e) => e.score),
      explain(id: number): MatchReason[] {
        const hit = hits.get(id);
        if (!hit) return [];
        const reasons: MatchReason[] = [];
        hit.concepts.forEach((c, g) => {
          if (c >= 0) reasons.push(tagReason(vocab, c, hit.scores[g], hit.counts[g]));
        });
        return reasons;
      },
    };
  }

  private scores(groups: ConceptGroup[], ctx: SignalContext): Promise<Map<number, ConceptHit>> {
    const key = `${ctx.table.generation}|${groups.map((g) => g.concepts.map((c) => c.index).join(',')).join('|')}`;
    let hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, hit);
      return hit;
    }
    hit = scoreGroups(ctx.catalog, this.vocab, groups, MIN_SEARCH_SCORE, this.aggregate);
    hit.catch(() => this.cache.delete(key));
    this.cache.set(key, hit);
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return hit;
  }
}

/** Assets whose tags include every concept group of `value` at TAG_FILTER_SCORE or more. */
async function matchTag(vocab: TagVocabulary, value: string | null, ctx: SignalContext): Promise<Set<number>> {
  const groups = vocab.groups([value ?? '']);
  if (groups.length === 0) return new Set();
  const hits = await scoreGroups(ctx.catalog, vocab, groups, TAG_FILTER_SCORE);
  const out = new Set<number>();
  for (const [id, hit] of hits) if (hit.scores.every((s) => s >= TAG_FILTER_SCORE)) out.add(id);
  return out;
}

/** `tag:bird`, `has:dog` (the parser turns `has:WORD` other than text/faces into a tag), `color:red`. */
export function tagFilter(vocab: TagVocabulary = tagVocabulary()): FilterProvider {
  return {
    filter: 'tag',
    match: (value, ctx) => matchTag(vocab, value, ctx),
    check: (value) => (vocab.groups([value ?? '']).length === 0 ? 'no tag has that name' : null),
  };
}
