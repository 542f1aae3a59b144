import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../../inference/model-session';
import { LazySession } from '../../faces/onnx';
import { dbPostprocess, DEFAULT_DB_OPTIONS, type DbOptions, type DbResult } from './db-postprocess';
import { resizeRaster, type Raster } from './raster';

/** ImageNet statistics in the BGR channel order the PaddleOCR detector was trained with (cv2 images). */
const MEAN_BGR = [0.485, 0.456, 0.406];
const STD_BGR = [0.229, 0.224, 0.225];

/** PaddleOCR DetResizeForTest, limit_type "max": shrink so the long side is at most `limit`, then round both sides to multiples of 32. */
export function detInputSize(width: number, height: number, limit: number): { width: number; height: number } {
  const ratio = Math.max(width, height) > limit ? limit / Math.max(width, height) : 1;
  return {
    width: Math.max(32, Math.round((width * ratio) / 32) * 32),
    height: Math.max(32, Math.round((height * ratio) / 32) * 32),
  };
}

/** PP-OCRv4 DB text detector. */
export class TextDetector {
  private readonly session: LazySession;

  constructor(modelPath: string, intraOpThreads: number) {
    this.session = new LazySession(modelPath, intraOpThreads, 'ocr', async (s) => {
      if (s.inputNames.length !== 1) throw new Error('unexpected OCR detection model inputs');
    });
  }

  load(): Promise<ModelSession> {
    return this.session.get();
  }

  /** Text boxes in `image` coordinates, detected at a long side of at most `limit` px. */
  async detect(image: Raster, limit: number, options: DbOptions = DEFAULT_DB_OPTIONS): Promise<DbResult> {
    const size = detInputSize(image.width, image.height, limit);
    const input = await resizeRaster(image, size.width, size.height);
    const plane = size.width * size.height;
    const tensor = new Float32Array(3 * plane);
    const src = input.data;
    for (let i = 0; i < plane; i++) {
      const r = src[i * 3], g = src[i * 3 + 1], b = src[i * 3 + 2];
      tensor[i] = (b / 255 - MEAN_BGR[0]) / STD_BGR[0];
      tensor[plane + i] = (g / 255 - MEAN_BGR[1]) / STD_BGR[1];
      tensor[2 * plane + i] = (r / 255 - MEAN_BGR[2]) / STD_BGR[2];
    }
    const session = await this.session.get();
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', tensor, [1, 3, size.height, size.width]) };
    const out = await session.run(feeds);
    const prob = out[session.outputNames[0]];
    const map = prob.data as Float32Array;
    const [, , mh, mw] = prob.dims as number[];
    return dbPostprocess(map, mw, mh, image.width, image.height, options);
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
