import type { AnalyzerRows } from '../../catalog/types';
import type { DecodedImage } from '../../decode/decode';
import type { Analyzer } from '../../pipeline/analyzer';
import { YOLOX_MODEL_ID, type Yolox } from './yolox';

const r4 = (v: number) => Math.round(v * 10000) / 10000;

/**
 * YOLOX-Nano objects on the working image. Rows: image_objects(asset_id, model, class_index (COCO-80
 * order), score, x, y, w, h as fractions of the image).
 */
export function createObjectAnalyzer(model: Yolox): Analyzer {
  return {
    name: 'objects',
    version: 1,
    owns: [{ table: 'image_objects' }],
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      const dets = await model.detect(image.rgb, image.rgbWidth, image.rgbHeight);
      return {
        image_objects: dets.map((d) => ({
          model: YOLOX_MODEL_ID,
          class_index: d.classIndex,
          score: r4(d.score),
          x: r4(d.x / image.rgbWidth),
          y: r4(d.y / image.rgbHeight),
          w: r4(d.w / image.rgbWidth),
          h: r4(d.h / image.rgbHeight),
        })),
      };
    },
  };
}
