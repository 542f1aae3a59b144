import type { EmbeddingIndex } from './embedding-index';
import { UnionFind } from '../util/union-find';

/**
 * Cosine (of the prepared MobileNetV2 vectors, see transform.ts) at or above which two images
 * count as similar shots: bursts, retakes, re-framed or rotated crops of one scene.
 *
 * Measured on ~165 distinct real photos (the UKBench 00120 family from imagededup: original,
 * flip, resize, alpha and grey copies and the ~30-degree rotated crop; other UKBench objects; the
 * PDQ bridge edits and rotations; LabelMe scenes; 9 nature photos; 100 LFW portraits of 10 men;
 * flat images left out as PDQ does), the mean always taken from the catalog at hand:
 * - whole set: rotated crop to its original's group 0.75 (0.71 to the original itself); two shots
 *   of one desk (c.png / pen-and-coaster.png) 0.70; closest unrelated pairs 0.58 (two forest
 *   floors), 0.57 (portraits of two different men); LFW same-person pairs median 0.19, 1 of 450 >= 0.65;
 * - 400 random catalogs per size, rotated crop grouped / any unrelated pair grouped, at 0.65:
 *   21 images 13-25% / 0%, 36 images 98-99% / 0%, 66 and more 100% / 0% (at 0.60: up to 3% false
 *   groups; at 0.70 the crop is missed below ~60 images). Re-run: test/measure-similar-shots.ts.
 * Without the power step (plain centred cosine) no threshold works: on the whole set the crop's
 * best link is 0.80 and the forest pair 0.77; a threshold that catches the crop (0.75) grouped
 * unrelated photos in 9-100% of catalogs. Very small libraries dominated by one burst miss it: the
 * burst pulls the catalog mean towards itself.
 */
export const SIMILAR_SHOT_MIN_SIMILARITY = 0.65;


export interface SimilarShotOptions {
  minSimilarity?: number;
}

/**
 * Links images whose embeddings are within the threshold, one nearest-neighbour search per image
 * (never all pairs), and returns the linked *units*: `unitOf` maps an asset to its unit (its
 * exact/near-duplicate group, or itself), so copies already grouped together never make a similar
 * pair, and assets `unitOf` does not know (or maps to null: flat images) are left out. Each result
 * holds two or more unit keys.
 */
export async function similarShotUnits(
  index: EmbeddingIndex,
  unitOf: (assetId: number) => string | null,
  options: SimilarShotOptions = {},
): Promise<string[][]> {
  const minSimilarity = options.minSimilarity ?? SIMILAR_SHOT_MIN_SIMILARITY;
  const uf = new UnionFind();
  const linked = new Set<string>();
  await index.forEachNeighbourhood(minSimilarity, (id, neighbours) => {
    const a = unitOf(id);
    if (a === null) return;
    for (const n of neighbours) {
      const b = unitOf(n.id);
      if (b === null || b === a) continue;
      uf.union(a, b);
      linked.add(a);
      linked.add(b);
    }
  });
  const components = new Map<string, string[]>();
  for (const unit of linked) {
    const root = uf.find(unit);
    const list = components.get(root) ?? [];
    list.push(unit);
    components.set(root, list);
  }
  return [...components.values()].filter((c) => c.length >= 2).map((c) => c.sort());
}
