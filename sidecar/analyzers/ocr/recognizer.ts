import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../../inference/model-session';
import sharp from 'sharp';
import { LazySession } from '../../faces/onnx';
import type { Raster } from './raster';

export const REC_HEIGHT = 48;
/** PaddleOCR's rec_image_shape width: batches are at least this wide (aspect 320/48). */
const REC_MIN_WIDTH = 320;
/** Longest line the recogniser takes (wider crops are squeezed, as PaddleOCR does past its batch width). */
const REC_MAX_WIDTH = 3200;
/**
 * Lines per model run. One: on CPU a batch costs more than its lines run one by one (measured
 * 6 x 1440 px: 551 ms batched vs 6 x 73 ms, 2 threads), and no line is padded to a longer one.
 */
const BATCH = 1;
/** Short crops are padded to this width as PaddleOCR does (0 turns it off). */
const DEFAULT_MIN_WIDTH = Number.parseInt(process.env.LOUPE_OCR_REC_MIN_WIDTH ?? '', 10);

export interface Recognition {
  text: string;
  /** Mean probability of the kept characters (0 when none). */
  confidence: number;
}

/** CTC greedy decoding: best class per step, repeats merged, blanks (class 0) dropped. */
export function ctcGreedy(probs: Float32Array, offset: number, steps: number, classes: number, charset: readonly string[]): Recognition {
  let text = '';
  let sum = 0, n = 0, prev = -1;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    let best = 0, bestP = probs[base];
    for (let c = 1; c < classes; c++) {
      const p = probs[base + c];
      if (p > bestP) { bestP = p; best = c; }
    }
    if (best !== 0 && best !== prev) {
      text += charset[best] ?? '';
      sum += bestP;
      n++;
    }
    prev = best;
  }
  return { text, confidence: n === 0 ? 0 : sum / n };
}

/** PP-OCRv4 SVTR-LCNet CTC line recogniser. */
export class TextRecognizer {
  private readonly session: LazySession;

  constructor(modelPath: string, readonly charset: readonly string[], intraOpThreads: number) {
    this.session = new LazySession(modelPath, intraOpThreads, 'ocr', async (s) => {
      if (s.inputNames.length !== 1) throw new Error('unexpected OCR recognition model inputs');
    });
  }

  load(): Promise<ModelSession> {
    return this.session.get();
  }

  /**
   * Reads upright line crops. Like PaddleOCR: crops sorted by aspect ratio into batches; each is
   * resized to height 48 keeping its aspect (sharp, which keeps thin gaps such as word spaces that
   * a plain bilinear resize loses), normalised (x - 127.5) / 127.5 in BGR order, and padded right.
   */
  async recognize(crops: Raster[]): Promise<Recognition[]> {
    const results: Recognition[] = new Array(crops.length);
    const order = [...crops.keys()].sort((a, b) => crops[a].width / crops[a].height - crops[b].width / crops[b].height);
    const session = await this.session.get();
    for (let start = 0; start < order.length; start += BATCH) {
      const idx = order.slice(start, start + BATCH);
      let maxRatio = (Number.isFinite(DEFAULT_MIN_WIDTH) ? DEFAULT_MIN_WIDTH : REC_MIN_WIDTH) / REC_HEIGHT;
      for (const i of idx) maxRatio = Math.max(maxRatio, crops[i].width / crops[i].height);
      const batchW = Math.min(REC_MAX_WIDTH, Math.trunc(REC_HEIGHT * maxRatio));
      const plane = REC_HEIGHT * batchW;
      const tensor = new Float32Array(idx.length * 3 * plane); // zero = mid grey after normalisation
      for (const [k, i] of idx.entries()) {
        const crop = crops[i];
        const w = Math.max(1, Math.min(batchW, Math.ceil(REC_HEIGHT * (crop.width / crop.height))));
        const px = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } })
          .resize({ width: w, height: REC_HEIGHT, fit: 'fill' })
          .raw()
          .toBuffer();
        const base = k * 3 * plane;
        for (let y = 0; y < REC_HEIGHT; y++) {
          for (let x = 0; x < w; x++) {
            const s = (y * w + x) * 3, d = y * batchW + x;
            tensor[base + d] = (px[s + 2] - 127.5) / 127.5;
            tensor[base + plane + d] = (px[s + 1] - 127.5) / 127.5;
            tensor[base + 2 * plane + d] = (px[s] - 127.5) / 127.5;
          }
        }
      }
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', tensor, [idx.length, 3, REC_HEIGHT, batchW]) });
      const probs = out[session.outputNames[0]];
      const [, steps, classes] = probs.dims as number[];
      const data = probs.data as Float32Array;
      for (const [k, i] of idx.entries()) results[i] = ctcGreedy(data, k * steps * classes, steps, classes, this.charset);
    }
    return results;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
