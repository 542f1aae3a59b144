import type { AnalyzerRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';
import type { Analyzer } from '../pipeline/analyzer';
import { Batcher } from '../pipeline/batcher';
import { vectorLiteral } from '../analyzers/mobilenet/analyzer';
import type { ClipModel } from './clip-model';
import { clipPreprocess } from './preprocess';

/**
 * Images per image-tower run. With the ViT-B/32-sized model on 2 cores, one thread (npm run bench
 * -- clip): batch 1 5.7, 2 6.1, 4 7.7, 8 5.8 images/s (noisy: the machine was shared), so 4 it is.
 */
export const DEFAULT_CLIP_BATCH = 4;

/** Analyzer name for a CLIP model: a different model means different vectors, so every image is redone. */
export function clipAnalyzerName(modelId: string): string {
  return `clip:${modelId}`;
}

/**
 * Embeds each image with a CLIP image tower. Rows: image_embeddings(asset_id, model = the CLIP
 * model id, vector = the L2-normalised embedding). Images in flight at once are encoded in one run.
 */
export function createClipAnalyzer(model: ClipModel, options: { batchSize?: number } = {}): Analyzer {
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_CLIP_BATCH);
  const batcher = new Batcher<Float32Array, Float32Array>(batchSize, (tensors) => model.encodeImages(tensors));
  return {
    name: clipAnalyzerName(model.id),
    version: 1,
    owns: [{ table: 'image_embeddings', model: model.id }],
    batchSize,
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      const embedding = await batcher.push(await clipPreprocess(image, model.config));
      return { image_embeddings: [{ model: model.id, vector: vectorLiteral(embedding) }] };
    },
  };
}
