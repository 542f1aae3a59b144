/** Entry points of the tags feature for the server, the CLI and the search engine. */
import type { Catalog } from '../catalog/catalog';
import type { AssetTag } from '../protocol';
import type { SearchEngine } from '../search/engine';
import { imageTags, LIKELY_TAG_SCORE, type ImageTag } from './image-tags';
import { TagSignal, tagFilter } from './tag-signal';
import { readTagRows } from './tag-store';
import { tagVocabulary } from './vocabulary';

/**
 * Adds the tag signal and the tag:/has:/color: filter to an engine (once). With `warm`, the in-memory
 * tag index starts loading now, in the background, instead of on the first tag query.
 */
export function enableTags(engine: SearchEngine, options: { warm?: boolean; onError?: (err: unknown) => void } = {}): void {
  if (engine.signalNames().includes('tags')) return;
  const signal = new TagSignal();
  engine.registerSignal(signal);
  engine.registerFilterProvider(tagFilter(signal));
  if (options.warm) {
    const ctx = {
      get table() {
        return engine.rows;
      },
      catalog: engine.catalog,
    };
    signal.indexFor(ctx).sync(ctx).catch((err: unknown) => options.onError?.(err));
  }
}

export function toAssetTag(t: ImageTag): AssetTag {
  return { name: t.name, score: Math.round(t.score * 1000) / 1000, count: t.count, source: t.source, likely: t.score >= LIKELY_TAG_SCORE };
}

/** One asset's tags, best first. */
export async function tagsOfAsset(catalog: Catalog, id: number): Promise<AssetTag[]> {
  const rows = (await readTagRows(catalog, [id])).get(id);
  return rows ? imageTags(tagVocabulary(), rows).map(toAssetTag) : [];
}

/** Tags of many assets (all when `ids` is omitted), by asset id. */
export async function tagsOfAssets(catalog: Catalog, ids?: readonly number[]): Promise<Map<number, AssetTag[]>> {
  const vocab = tagVocabulary();
  const out = new Map<number, AssetTag[]>();
  for (const [id, rows] of await readTagRows(catalog, ids)) out.set(id, imageTags(vocab, rows).map(toAssetTag));
  return out;
}
