/**
 * Tags in search: a ranked signal (query words -> concepts through the vocabulary -> images by
 * concept probability) and the `tag:` / `has:` / `color:` filters. Both read the catalog at query
 * time, so they are always as current as the catalog.
 */
import type { ParsedQuery } from '../search/query-parser';
import type { FilterProvider, MatchReason, RankedList, SearchSignal, SignalContext } from '../search/types';
import { countedName, MIN_SEARCH_SCORE, TAG_FILTER_SCORE } from './image-tags';
import { TagIndex, type TagHits } from './tag-index';
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
  /** Keyed by the tag index's version and the concepts. */
  private readonly cache = new Map<string, TagHits>();
  private index: TagIndex | null = null;

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
    const n = groups.length;
    const order = new Int32Array(hits.size);
    const final = new Float64Array(hits.size);
    for (let i = 0; i < hits.size; i++) {
      let sum = 0;
      let matched = 0;
      for (let g = 0; g < n; g++) {
        const s = hits.scores[i * n + g];
        sum += s;
        if (s > 0) matched++;
      }
      final[i] = (sum / n) * (matched === n ? 1 : 0.5);
      order[i] = i;
    }
    order.sort((a, b) => final[b] - final[a] || hits.ids[a] - hits.ids[b]);
    const vocab = this.vocab;
    return {
      ids: Float64Array.from(order, (i) => hits.ids[i]),
      scores: Float64Array.from(order, (i) => final[i]),
      explain(id: number): MatchReason[] {
        const i = hits.indexOf(id);
        if (i < 0) return [];
        const reasons: MatchReason[] = [];
        for (let g = 0; g < n; g++) {
          const c = hits.concepts[i * n + g];
          if (c >= 0) reasons.push(tagReason(vocab, c, hits.scores[i * n + g], hits.counts[i * n + g]));
        }
        return reasons;
      },
    };
  }

  /** The signal's in-memory tag index (one per catalog), shared with the tag filter. */
  indexFor(ctx: SignalContext): TagIndex {
    if (!this.index || this.index.catalog !== ctx.catalog) this.index = new TagIndex(ctx.catalog, this.vocab);
    return this.index;
  }

  private async scores(groups: ConceptGroup[], ctx: SignalContext): Promise<TagHits> {
    const index = this.indexFor(ctx);
    await index.sync(ctx);
    const key = `${index.version}|${groups.map((g) => g.concepts.map((c) => c.index).join(',')).join('|')}`;
    let hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used last
    } else {
      hit = index.score(groups, MIN_SEARCH_SCORE, this.aggregate);
    }
    this.cache.set(key, hit);
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return hit;
  }
}

/** `has:objects` (any detected object) and `has:tags` (any object or concept) rather than a tag name. */
const ANY_TAG_QUERIES: Record<string, string> = {
  objects: 'SELECT DISTINCT asset_id FROM image_objects WHERE score >= $1',
  tags: 'SELECT asset_id FROM image_objects WHERE score >= $1 UNION SELECT asset_id FROM image_labels WHERE score >= $1',
};

/** Assets whose tags include every concept group of `value` at TAG_FILTER_SCORE or more. */
async function matchTag(signal: TagSignal, vocab: TagVocabulary, value: string | null, ctx: SignalContext): Promise<Set<number>> {
  const any = ANY_TAG_QUERIES[value ?? ''];
  if (any) return new Set((await ctx.catalog.read(any, [TAG_FILTER_SCORE])).map((r) => Number(r.asset_id)));
  const groups = vocab.groups([value ?? '']);
  if (groups.length === 0) return new Set();
  const index = signal.indexFor(ctx);
  await index.sync(ctx);
  const hits = index.score(groups, TAG_FILTER_SCORE);
  const out = new Set<number>();
  const n = groups.length;
  for (let i = 0; i < hits.size; i++) {
    let all = true;
    for (let g = 0; g < n; g++) if (hits.scores[i * n + g] < TAG_FILTER_SCORE) all = false;
    if (all) out.add(hits.ids[i]);
  }
  return out;
}

/** `tag:bird`, `has:dog` (the parser turns `has:WORD` other than text/faces into a tag), `has:objects`, `has:tags`, `color:red`. */
export function tagFilter(signal: TagSignal, vocab: TagVocabulary = tagVocabulary()): FilterProvider {
  return {
    filter: 'tag',
    match: (value, ctx) => matchTag(signal, vocab, value, ctx),
    check: (value) => (ANY_TAG_QUERIES[value ?? ''] || vocab.groups([value ?? '']).length > 0 ? null : 'no tag has that name'),
  };
}
