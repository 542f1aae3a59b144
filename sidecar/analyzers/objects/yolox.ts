/**
 * YOLOX-Nano (COCO-80) on the decoded working image: letterbox to 416x416 (keep aspect, top-left,
 * pad 114), BGR raw 0..255, one run, decode the three stride grids, class-agnostic NMS.
 * How the model is fed: models/manifest.json (`yolox-nano`), ../shared/models/MODELS.md.
 */
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../../inference/model-session';
import { LazySession, defaultIntraOpThreads } from '../../faces/onnx';

export const YOLOX_MODEL_ID = 'yolox-nano';
export const INPUT = 416;
export const STRIDES = [8, 16, 32] as const;
export const CLASSES = 80;
const PAD = 114;
/** Detections below this (obj * cls) are dropped; NMS merges boxes overlapping more than NMS_IOU. */
export const SCORE_THRESHOLD = 0.35;
export const NMS_IOU = 0.45;
/** At most this many boxes per image are kept. */
export const MAX_DETECTIONS = 50;

export interface Detection {
  classIndex: number;
  score: number;
  /** Box in working-image pixels (top-left x, y, width, height). */
  x: number;
  y: number;
  w: number;
  h: number;
}

export class YoloxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YoloxError';
  }
}

/** The letterboxed NCHW BGR float input and the scale from working-image pixels to model pixels. */
export async function letterbox(rgb: Buffer, width: number, height: number): Promise<{ input: Float32Array; scale: number }> {
  const scale = Math.min(INPUT / width, INPUT / height);
  const w = Math.max(1, Math.min(INPUT, Math.round(width * scale)));
  const h = Math.max(1, Math.min(INPUT, Math.round(height * scale)));
  const resized = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  const plane = INPUT * INPUT;
  const input = new Float32Array(3 * plane).fill(PAD);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = y * INPUT + x;
      input[d] = resized[s + 2]; // B
      input[plane + d] = resized[s + 1]; // G
      input[2 * plane + d] = resized[s]; // R
    }
  }
  return { input, scale };
}

export function iou(a: Detection, b: Detection): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w);
  const y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy class-agnostic NMS, best first. */
export function nms(dets: Detection[], threshold = NMS_IOU, max = MAX_DETECTIONS): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => iou(k, d) <= threshold)) kept.push(d);
  }
  return kept;
}

/**
 * Raw output [N, 85] (N = 3549 for 416: grids 52², 26², 13², row-major per stride) -> boxes in
 * model pixels: cx = (dx + gx) * s, w = exp(dw) * s; score = obj * best class (already sigmoid).
 */
export function decodeGrid(out: Float32Array, threshold = SCORE_THRESHOLD): Detection[] {
  const dets: Detection[] = [];
  let row = 0;
  for (const s of STRIDES) {
    const g = INPUT / s;
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++, row++) {
        const o = row * (5 + CLASSES);
        const obj = out[o + 4];
        if (obj < threshold) continue;
        let best = 0;
        let cls = 0;
        for (let c = 0; c < CLASSES; c++) {
          const v = out[o + 5 + c];
          if (v > best) {
            best = v;
            cls = c;
          }
        }
        const score = obj * best;
        if (score < threshold) continue;
        const cx = (out[o] + gx) * s;
        const cy = (out[o + 1] + gy) * s;
        const w = Math.exp(out[o + 2]) * s;
        const h = Math.exp(out[o + 3]) * s;
        dets.push({ classIndex: cls, score, x: cx - w / 2, y: cy - h / 2, w, h });
      }
    }
  }
  return dets;
}

export class Yolox {
  private readonly session: LazySession;

  constructor(modelPath: string, intraOpThreads = defaultIntraOpThreads()) {
    this.session = new LazySession(modelPath, intraOpThreads, 'objects', async (session) => {
      const out = await this.run(session, new Float32Array(3 * INPUT * INPUT).fill(PAD));
      if (out.length !== 3549 * (5 + CLASSES)) throw new YoloxError(`unexpected output size ${out.length} (expected 3549 x 85)`);
    });
  }

  load(): Promise<ModelSession> {
    return this.session.get();
  }

  private async run(session: ModelSession, input: Float32Array): Promise<Float32Array> {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, INPUT, INPUT]) });
    return out[session.outputNames[0]].data as Float32Array;
  }

  /** Objects in a packed RGB image, boxes in that image's pixels, best first. */
  async detect(rgb: Buffer, width: number, height: number): Promise<Detection[]> {
    const session = await this.load();
    const { input, scale } = await letterbox(rgb, width, height);
    const kept = nms(decodeGrid(await this.run(session, input)));
    return kept.map((d) => {
      const x = Math.max(0, d.x / scale);
      const y = Math.max(0, d.y / scale);
      return { ...d, x, y, w: Math.min(width, (d.x + d.w) / scale) - x, h: Math.min(height, (d.y + d.h) / scale) - y };
    });
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
