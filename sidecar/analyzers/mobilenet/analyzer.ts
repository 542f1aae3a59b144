import type { AnalyzerRows } from '../../catalog/types';
import type { DecodedImage } from '../../decode/decode';
import type { Analyzer } from '../../pipeline/analyzer';
import { topK, type MobileNet } from './model';
import { preprocess } from './preprocess';

/** `image_embeddings.model` of the MobileNetV2 global-pool embedding. */
export const MOBILENET_EMBEDDING = 'mobilenetv2-gap';
/** Always stored: the best few classes. */
export const LABELS_PER_IMAGE = 5;
/**
 * Up to this many classes with probability >= MIN_LABEL_SCORE are stored beyond the first five:
 * a concept's tag score is the summed probability of the classes beneath it, and the weak int8
 * model spreads a photo's mass thin (the falcon's bird classes sit at ranks 4-20), so five classes
 * lose most of it (bench `tags`: see models/tags/README.md).
 */
export const MAX_LABELS_PER_IMAGE = 20;
export const MIN_LABEL_SCORE = 0.005;

/** The classes kept for one image, best first. */
export function keptLabels(probabilities: Float32Array): number[] {
  return topK(probabilities, MAX_LABELS_PER_IMAGE).filter((i, rank) => rank < LABELS_PER_IMAGE || probabilities[i] >= MIN_LABEL_SCORE);
}

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
 * - image_labels(asset_id, class_index, score): the top ImageNet-1k classes (see keptLabels), softmax probabilities.
 */
export function createMobileNetAnalyzer(model: MobileNet): Analyzer {
  return {
    name: 'mobilenet',
    // 2: up to 20 labels per image (was 5), for tag scores.
    version: 2,
    owns: [{ table: 'image_embeddings', model: MOBILENET_EMBEDDING }, { table: 'image_labels' }],
    // Not cut short by the run's abort signal: an in-flight image is finished, like every analyzer's.
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      const { probabilities, embedding } = await model.infer(await preprocess(image));
      return {
        image_embeddings: [{ model: MOBILENET_EMBEDDING, vector: vectorLiteral(embedding) }],
        image_labels: keptLabels(probabilities).map((i) => ({ class_index: i, score: probabilities[i] })),
      };
    },
  };
}
