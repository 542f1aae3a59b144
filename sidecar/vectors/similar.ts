import { posix } from 'node:path';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { LoupeErrorCodes, loupeError, type RootedSearchHit, type SearchResponse } from '../protocol';
import { embeddingIndexFor } from './registry';
import type { EmbeddingIndex, Neighbour } from './embedding-index';
import { selectedClipModel } from '../semantic/load';
import { clipIndexFor } from '../semantic/semantic-search';

/** The CLIP index if this image has an embedding of the chosen CLIP model (better "more like this"), else null. */
async function clipIndexWith(catalog: Catalog, id: number): Promise<EmbeddingIndex | null> {
  const model = selectedClipModel();
  const rows = await catalog.read(`SELECT 1 AS x FROM image_embeddings WHERE model = $1 AND asset_id = $2 LIMIT 1`, [model, id]);
  return rows.length ? clipIndexFor(catalog, model) : null;
}

export const SIMILAR_DEFAULT_LIMIT = 50;
export const SIMILAR_MAX_LIMIT = 1000;

/**
 * `similar`: the images that look most like asset `id`, best first, the image itself left out: by
 * cosine of CLIP image embeddings when the image has one, else of the (centred) MobileNetV2 ones. Throws FeatureUnavailable while the root
 * has no embeddings (or this image has none yet), UnknownAsset for an id the catalog lacks.
 */
export async function similarImages(root: string, catalog: Catalog, id: number, limit = SIMILAR_DEFAULT_LIMIT): Promise<SearchResponse> {
  const query = await catalog.getAsset(id);
  if (!query) throw loupeError(LoupeErrorCodes.UnknownAsset, `no asset ${id} in ${root}`);
  const k = Math.max(1, Math.min(Math.floor(limit) || SIMILAR_DEFAULT_LIMIT, SIMILAR_MAX_LIMIT));
  const clip = await clipIndexWith(catalog, id);
  let neighbours: Neighbour[] | null = clip ? await clip.similarTo(id, k) : null;
  const how = neighbours ? ' (CLIP)' : '';
  if (!neighbours) {
    const index = await embeddingIndexFor(catalog);
    if (index.size === 0) {
      throw loupeError(LoupeErrorCodes.FeatureUnavailable, 'similar images need image embeddings, which are not indexed yet');
    }
    neighbours = await index.similarTo(id, k);
  }
  if (!neighbours) {
    throw loupeError(LoupeErrorCodes.FeatureUnavailable, `${query.relPath} has no image embedding yet (not analysed, or it could not be)`);
  }
  return response(`similar:${query.relPath}`, await toHits(root, catalog, neighbours, posix.basename(query.relPath), how));
}

/**
 * `loupe similar <dir> <file>` for a file that is not indexed: its raw image embedding (computed
 * on the fly) against the root's index.
 */
export async function similarToEmbedding(root: string, catalog: Catalog, embedding: Float32Array, name: string, limit = SIMILAR_DEFAULT_LIMIT): Promise<SearchResponse> {
  const k = Math.max(1, Math.min(Math.floor(limit) || SIMILAR_DEFAULT_LIMIT, SIMILAR_MAX_LIMIT));
  const index = await embeddingIndexFor(catalog);
  const neighbours = index.size === 0 ? null : await index.similarToRaw(embedding, k);
  if (!neighbours) throw loupeError(LoupeErrorCodes.FeatureUnavailable, 'similar images need image embeddings, which are not indexed yet');
  return response(`similar:${name}`, await toHits(root, catalog, neighbours, name));
}

function response(query: string, items: RootedSearchHit[]): SearchResponse {
  return { query, items, total: items.length, nextCursor: null, warnings: [] };
}

async function toHits(root: string, catalog: Catalog, neighbours: Array<{ id: number; similarity: number }>, name: string, how = ''): Promise<RootedSearchHit[]> {
  const positive = neighbours.filter((n) => n.similarity > 0);
  const facts = new Map((await catalog.loadSearchRows(positive.map((n) => n.id))).map((f) => [f.id, f]));
  const items: RootedSearchHit[] = [];
  for (const n of positive) {
    const f = facts.get(n.id);
    if (!f) continue; // not indexed ('ok') any more
    items.push({
      root,
      id: f.id,
      relPath: f.relPath,
      score: Math.round(Math.min(1, n.similarity) * 10_000) / 10_000,
      reasons: [{ kind: 'similar', text: `looks like ${name}${how}` }],
      thumbnail: f.thumb ? join(catalog.thumbsDir, f.thumb) : null,
      width: f.width,
      height: f.height,
      format: f.format,
      takenAt: f.takenAt,
    });
  }
  return items;
}
