import type { AnalyzerRows } from '../../catalog/types';
import type { DecodedImage } from '../../decode/decode';
import type { Analyzer } from '../../pipeline/analyzer';
import { topK, type MobileNet } from './model';
import { preprocess } from './preprocess';

/** `image_embeddings.model` of the MobileNetV2 global-pool embedding. */
export const MOBILENET_EMBEDDING = 'mobilenetv2-gap';
export const LABELS_PER_IMAGE = 5;

/**
 * A list literal DuckDB casts to FLOAT[] on insert. Nine significant digits round-trip a float32;
 * the many exact zeros (ReLU) stay one character.
 */
export function vectorLiteral(v: ArrayLike<number>): string {
  const parts = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) parts[i] = v[i] === 0 ? '0' : Number(v[i].toPrecision(9)).toString();
  return `[${parts.join(',')}]`;
}

/**
 * MobileNetV2 (int8) on the decoded working image. Rows:
 * - image_embeddings(asset_id, model = 'mobilenetv2-gap', vector = the 1280-d global-pool activation)
 * - image_labels(asset_id, class_index, score): the top 5 ImageNet-1k classes, softmax probabilities.
 */
export function createMobileNetAnalyzer(model: MobileNet): Analyzer {
  return {
    name: 'mobilenet',
    version: 1,
    // Not cut short by the run's abort signal: an in-flight image is finished, like every analyzer's.
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      const { probabilities, embedding } = await model.infer(await preprocess(image));
      return {
        image_embeddings: [{ model: MOBILENET_EMBEDDING, vector: vectorLiteral(embedding) }],
        image_labels: topK(probabilities, LABELS_PER_IMAGE).map((i) => ({ class_index: i, score: probabilities[i] })),
      };
    },
  };
}
