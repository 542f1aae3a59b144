import type { Catalog } from '../catalog/catalog';
import { ModelResolver } from '../models/resolver';
import type { ParsedQuery } from '../search/query-parser';
import type { RankedList, SearchSignal } from '../search/types';
import { errorMessage } from '../util/errors';
import type { EmbeddingIndex, Quantization } from '../vectors/embedding-index';
import { embeddingIndexFor } from '../vectors/registry';
import type { ClipModel } from './clip-model';
import { loadClipModel, selectedClipModel, semanticState } from './load';

/**
 * Scalar type of the CLIP vectors in USearch. Recall@10 against exact search, for the 1000-wide
 * search a text query makes, on clustered 512-d vectors (npm run bench -- clip): f16 1.00 at 10k
 * and 0.96 at 100k (f32: 1.00 / 0.96); i8 0.89 / 0.78. i8 does not hold recall, so f16.
 */
export const CLIP_QUANTIZATION: Quantization = 'f16';
/** Nearest neighbours asked of the index per query, before the relevance cut. */
const CANDIDATES = 1000;

type Log = (level: 'info' | 'warn' | 'debug', message: string) => void;

/** The CLIP vectors of one model in one catalog: plain cosine (no centring), shared per process. */
export function clipIndexFor(catalog: Catalog, modelId: string, log?: Log): Promise<EmbeddingIndex> {
  return embeddingIndexFor(catalog, { model: modelId, centre: false, quantization: CLIP_QUANTIZATION, log });
}

export async function embeddedCount(catalog: Catalog, modelId: string): Promise<number> {
  const rows = await catalog.read(`SELECT count(*) AS n FROM image_embeddings WHERE model = $1`, [modelId]);
  return Number(rows[0]?.n ?? 0);
}

export interface SemanticMatch {
  id: number;
  similarity: number;
}

/**
 * Semantic search over one catalog: the chosen CLIP model (when its files are on this machine),
 * its vector index, and the `semantic` search signal. A query's free words are encoded by the text
 * tower and the nearest image vectors become a ranked list, cut at the model's relevance threshold
 * (an absolute cosine floor and a gap below the best match) so a query does not return the whole
 * library. When the model is missing the signal stays silent and says why in the result warnings.
 */
export class SemanticSearch {
  private model: Promise<ClipModel | null> | null = null;
  /** What the last query of each text said (searches run side by side, so one slot would mix them up). */
  private readonly notices = new Map<string, string>();

  constructor(
    readonly catalog: Catalog,
    private readonly log: Log = () => undefined,
    private readonly resolver: () => ModelResolver = () => new ModelResolver(),
    /**
     * Whether a query waits for the vector index to open (true: the CLI's one-shot search). The
     * server passes false: a keystroke never waits for a rebuild, the other signals answer meanwhile.
     */
    private readonly waitForIndex = true,
  ) {}

  /** Forget the loaded/missing model (after `semantic/enable` or a settings change). */
  reset(): void {
    this.model = null;
  }

  currentModel(): Promise<ClipModel | null> {
    if (!this.model) {
      this.model = loadClipModel({ resolver: this.resolver(), onProblem: (m) => this.log('warn', m) });
      // A missing model is looked for again on a later query (cheap: file existence only).
      this.model.then((m) => {
        if (!m) this.model = null;
        else this.openIndex(m.id);
      }, () => (this.model = null));
    }
    return this.model;
  }

  /** The model's vector index, opened (loaded, or rebuilt from the catalog) in the background. */
  private openIndex(modelId: string): void {
    if (this.indexReady.has(modelId)) return;
    this.indexReady.set(modelId, false);
    clipIndexFor(this.catalog, modelId, this.log).then(
      () => this.indexReady.set(modelId, true),
      (err: unknown) => {
        this.indexReady.delete(modelId);
        this.log('warn', `semantic index for ${modelId} did not open: ${errorMessage(err)}`);
      },
    );
  }

  /** model id -> whether its index finished opening (a large library's first rebuild takes a while). */
  private readonly indexReady = new Map<string, boolean>();

  /** Images most similar to the text, best first, after the relevance cut. */
  async query(text: string): Promise<{ matches: SemanticMatch[]; notice: string | null }> {
    const words = text.trim();
    if (!words) return { matches: [], notice: null };
    const model = await this.currentModel();
    if (!model) {
      const state = await semanticState(this.resolver(), selectedClipModel());
      const mb = Math.round(state.bytesToDownload / 1e6);
      return {
        matches: [],
        notice: state.problem
          ? `semantic search is off: ${state.problem}`
          : `semantic search is off (model ${state.modelId} not downloaded; enabling it downloads about ${mb} MB: "loupe models fetch ${state.modelId}"); matched on file names and other signals only`,
      };
    }
    this.openIndex(model.id);
    if (!this.waitForIndex && !this.indexReady.get(model.id)) {
      return { matches: [], notice: 'semantic search is getting ready (loading the vector index); try again in a moment' };
    }
    const index = await clipIndexFor(this.catalog, model.id, this.log);
    if (index.size === 0) return { matches: [], notice: 'semantic search: no image is embedded yet (indexing will do it)' };
    const q = index.prepare(await model.encodeText(words));
    if (!q) return { matches: [], notice: null };
    const hits = index.searchVector(q, Math.min(index.size, CANDIDATES));
    if (hits.length === 0) return { matches: [], notice: null };
    const floor = Math.max(model.config.minSimilarity, hits[0].similarity - model.config.maxGapFromBest);
    return { matches: hits.filter((h) => h.similarity >= floor), notice: null };
  }

  /** The `semantic` signal for the search engine. */
  signal(): SearchSignal {
    return {
      name: 'semantic',
      kind: 'semantic',
      rank: async (query: ParsedQuery): Promise<RankedList | null> => {
        const text = query.terms.join(' ');
        this.notices.delete(text);
        if (query.terms.length === 0) return null;
        try {
          const { matches, notice } = await this.query(text);
          this.setNotice(text, notice);
          if (matches.length === 0) return null;
          const scores = new Map(matches.map((m) => [m.id, m.similarity]));
          return {
            ids: matches.map((m) => m.id),
            scores: matches.map((m) => m.similarity),
            explain: (id) => [{ kind: 'semantic', text: `semantic ${(scores.get(id) ?? 0).toFixed(2)}` }],
          };
        } catch (err) {
          this.log('warn', `semantic search failed: ${errorMessage(err)}`);
          this.setNotice(text, `semantic search failed: ${errorMessage(err)}`);
          return null;
        }
      },
      notice: (query: ParsedQuery) => this.notices.get(query.terms.join(' ')) ?? null,
    };
  }

  private setNotice(text: string, notice: string | null): void {
    if (notice === null) return;
    this.notices.set(text, notice);
    if (this.notices.size > 64) this.notices.delete(this.notices.keys().next().value as string);
  }

  /** Keeps an opened CLIP index in step with catalog changes (opening one is left to the first query). */
  async applyChange(change: { upserted: readonly number[]; removed: readonly number[] }): Promise<void> {
    const model = await this.model?.catch(() => null);
    if (!model) return;
    const index = await clipIndexFor(this.catalog, model.id, this.log);
    await index.applyChange(change);
  }
}
