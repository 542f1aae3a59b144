import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../inference/model-session';
import sharp from 'sharp';
import { FaceModelError, LazySession, defaultIntraOpThreads } from './onnx';

/** Manifest ids: the any-size export is preferred; the fixed 640x640 one is run in tiles. */
export const YUNET_DYNAMIC_MODEL_ID = 'yunet-dynamic';
export const YUNET_FIXED_MODEL_ID = 'yunet';

const STRIDES = [8, 16, 32] as const;
const FIXED_SIZE = 640;

/** Packed 8-bit RGB, row-major (the decode-once working image or any crop of it). */
export interface RgbImage {
  rgb: Buffer;
  rgbWidth: number;
  rgbHeight: number;
}

export type Point = [number, number];

/** One face, in the pixel coordinates of the image passed to `detect`. */
export interface Detection {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
  /** Right eye, left eye (as seen: image-left first), nose tip, right and left mouth corners. */
  landmarks: [Point, Point, Point, Point, Point];
}

export interface DetectOptions {
  /**
   * Minimum sqrt(cls * obj). Default 0.7: at the model's nominal 0.6 the back of a head at a photo's
   * edge passed (0.62, lfw10); every real face there scores >= 0.77 except blurry bystanders.
   */
  scoreThreshold?: number;
  /** Boxes overlapping a better one by more than this IoU are dropped (default 0.3). */
  nmsIou?: number;
  /**
   * Long side of the first, whole-image pass (default 640, the size YuNet was trained at): finds
   * faces from about 10 px to the full frame at that scale. Small images are upscaled to it (at
   * most `maxUpscale`), so small faces in small photos are found too.
   */
  overviewSize?: number;
  maxUpscale?: number;
  /**
   * When the image's long side exceeds overviewSize by this factor, a second pass runs at
   * `detailSize` (or the image's own size if smaller; tiles of 640 with the fixed model) to find
   * small faces in group photos; the two passes are merged by NMS. Default 1.25.
   */
  detailPassFactor?: number;
  /**
   * Long side of the detail pass (default 1024). At 1024 YuNet still finds faces of ~14 px of a
   * 1440-px working image, below the 24 px a face needs to be grouped, for half the cost of 1440.
   */
  detailSize?: number;
}

export const DEFAULT_DETECT: Required<DetectOptions> = {
  scoreThreshold: 0.7,
  nmsIou: 0.3,
  overviewSize: 640,
  maxUpscale: 2,
  detailPassFactor: 1.25,
  detailSize: 1024,
};

export function iou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression: best score first, drops boxes overlapping a kept one by more than `threshold`. */
export function nms<T extends Detection>(detections: readonly T[], threshold: number): T[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const d of sorted) if (!kept.some((k) => iou(k, d) > threshold)) kept.push(d);
  return kept;
}

/** The model's raw outputs for one input of width x height (both multiples of 32). */
export interface YuNetOutputs {
  cls: ArrayLike<number>[];
  obj: ArrayLike<number>[];
  bbox: ArrayLike<number>[];
  kps: ArrayLike<number>[];
}

/**
 * Decodes YuNet's anchor-free outputs: per stride s in 8/16/32 one prior per cell, row-major over
 * a (width/s) x (height/s) grid. score = sqrt(cls * obj) (both already sigmoid); the box centre is
 * (col + b0, row + b1) * s, its size exp(b2) * s by exp(b3) * s; landmark k is
 * (col + k[2k], row + k[2k+1]) * s. Coordinates are in the input's pixels.
 */
export function decodeYuNet(out: YuNetOutputs, width: number, height: number, scoreThreshold: number): Detection[] {
  const found: Detection[] = [];
  STRIDES.forEach((s, si) => {
    const cols = Math.floor(width / s);
    const rows = Math.floor(height / s);
    const cls = out.cls[si];
    const obj = out.obj[si];
    const bbox = out.bbox[si];
    const kps = out.kps[si];
    const cells = cols * rows;
    if (cls.length < cells || obj.length < cells || bbox.length < cells * 4 || kps.length < cells * 10) {
      throw new FaceModelError(`YuNet stride ${s}: ${cls.length} scores for a ${cols}x${rows} grid`);
    }
    for (let i = 0; i < cells; i++) {
      const c = Math.min(1, Math.max(0, cls[i]));
      const o = Math.min(1, Math.max(0, obj[i]));
      const score = Math.sqrt(c * o);
      if (!(score >= scoreThreshold)) continue;
      const col = i % cols;
      const row = (i - col) / cols;
      const cx = (col + bbox[i * 4]) * s;
      const cy = (row + bbox[i * 4 + 1]) * s;
      const w = Math.exp(bbox[i * 4 + 2]) * s;
      const h = Math.exp(bbox[i * 4 + 3]) * s;
      const lm: Point[] = [];
      for (let k = 0; k < 5; k++) lm.push([(col + kps[i * 10 + 2 * k]) * s, (row + kps[i * 10 + 2 * k + 1]) * s]);
      found.push({ x: cx - w / 2, y: cy - h / 2, w, h, score, landmarks: lm as Detection['landmarks'] });
    }
  });
  return found;
}

/** Planar BGR float32 (raw 0..255) of an RGB image placed top-left in a width x height canvas (zero padding). */
export function toBgrPlanar(img: RgbImage, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const w = Math.min(img.rgbWidth, width);
  const h = Math.min(img.rgbHeight, height);
  const src = img.rgb;
  for (let y = 0; y < h; y++) {
    let si = y * img.rgbWidth * 3;
    let di = y * width;
    for (let x = 0; x < w; x++, si += 3, di++) {
      out[di] = src[si + 2];
      out[plane + di] = src[si + 1];
      out[2 * plane + di] = src[si];
    }
  }
  return out;
}

async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (width === img.rgbWidth && height === img.rgbHeight) return img;
  const { data, info } = await sharp(img.rgb, { raw: { width: img.rgbWidth, height: img.rgbHeight, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: width > img.rgbWidth ? 'cubic' : 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: data, rgbWidth: info.width, rgbHeight: info.height };
}

function cropRgb(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) img.rgb.copy(out, y * w * 3, ((y0 + y) * img.rgbWidth + x0) * 3, ((y0 + y) * img.rgbWidth + x0 + w) * 3);
  return { rgb: out, rgbWidth: w, rgbHeight: h };
}

function mapDetection(d: Detection, scale: number, dx: number, dy: number): Detection {
  return {
    x: (d.x + dx) / scale,
    y: (d.y + dy) / scale,
    w: d.w / scale,
    h: d.h / scale,
    score: d.score,
    landmarks: d.landmarks.map(([x, y]) => [(x + dx) / scale, (y + dy) / scale]) as Detection['landmarks'],
  };
}

/**
 * YuNet face detector with 5 landmarks. One onnxruntime session, created on first use.
 * `dynamic`: the any-size export (input padded to a multiple of 32); otherwise the fixed 640x640
 * export, run over 640x640 tiles.
 */
export class YuNetDetector {
  private readonly lazy: LazySession;

  constructor(
    readonly modelPath: string,
    readonly dynamic: boolean,
    intraOpThreads = defaultIntraOpThreads(),
  ) {
    this.lazy = new LazySession(modelPath, intraOpThreads, 'faces', async (session) => {
      for (const s of STRIDES) {
        for (const k of ['cls', 'obj', 'bbox', 'kps']) {
          if (!session.outputNames.includes(`${k}_${s}`)) throw new FaceModelError(`${modelPath} is not a YuNet export: no output ${k}_${s}`);
        }
      }
    });
  }

  load(): Promise<ModelSession> {
    return this.lazy.get();
  }

  dispose(): Promise<void> {
    return this.lazy.dispose();
  }

  /** Runs the network once on an image whose sides are multiples of 32 (640x640 for the fixed model). */
  private async runOnce(img: RgbImage, width: number, height: number, scoreThreshold: number): Promise<Detection[]> {
    const session = await this.lazy.get();
    const input = new ort.Tensor('float32', toBgrPlanar(img, width, height), [1, 3, height, width]);
    const out = await session.run({ [session.inputNames[0]]: input });
    const pick = (k: string) => STRIDES.map((s) => out[`${k}_${s}`].data as Float32Array);
    return decodeYuNet({ cls: pick('cls'), obj: pick('obj'), bbox: pick('bbox'), kps: pick('kps') }, width, height, scoreThreshold);
  }

  /** Detections on a whole image at its own size: one padded run, or overlapping 640 tiles. */
  private async runImage(img: RgbImage, scoreThreshold: number): Promise<Detection[]> {
    const { rgbWidth: w, rgbHeight: h } = img;
    if (this.dynamic) {
      return this.runOnce(img, Math.ceil(w / 32) * 32, Math.ceil(h / 32) * 32, scoreThreshold);
    }
    if (w <= FIXED_SIZE && h <= FIXED_SIZE) return this.runOnce(img, FIXED_SIZE, FIXED_SIZE, scoreThreshold);
    const overlap = 128;
    const starts = (len: number) => {
      if (len <= FIXED_SIZE) return [0];
      const n = Math.ceil((len - overlap) / (FIXED_SIZE - overlap));
      return Array.from({ length: n }, (_, i) => Math.round((i * (len - FIXED_SIZE)) / (n - 1)));
    };
    const all: Detection[] = [];
    for (const y0 of starts(h)) {
      for (const x0 of starts(w)) {
        const tile = cropRgb(img, x0, y0, Math.min(FIXED_SIZE, w - x0), Math.min(FIXED_SIZE, h - y0));
        for (const d of await this.runOnce(tile, FIXED_SIZE, FIXED_SIZE, scoreThreshold)) all.push(mapDetection(d, 1, x0, y0));
      }
    }
    return all;
  }

  /**
   * Faces in an image, in its pixel coordinates, best first. A whole-image pass at `overviewSize`
   * (upscaling small images), plus a full-resolution pass for large images (small faces).
   */
  async detect(img: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
    const o = { ...DEFAULT_DETECT, ...options };
    const long = Math.max(img.rgbWidth, img.rgbHeight);
    if (long < 8) return [];
    const scale = Math.min(o.overviewSize / long, o.maxUpscale);
    const sw = Math.max(1, Math.round(img.rgbWidth * scale));
    const sh = Math.max(1, Math.round(img.rgbHeight * scale));
    const all: Detection[] = [];
    const overview = await this.runImage(await resizeRgb(img, sw, sh), o.scoreThreshold);
    for (const d of overview) all.push(mapDetection(d, sw / img.rgbWidth, 0, 0));
    if (long > o.overviewSize * o.detailPassFactor) {
      const ds = Math.min(1, o.detailSize / long);
      const dw = Math.max(1, Math.round(img.rgbWidth * ds));
      const dh = Math.max(1, Math.round(img.rgbHeight * ds));
      for (const d of await this.runImage(await resizeRgb(img, dw, dh), o.scoreThreshold)) all.push(mapDetection(d, dw / img.rgbWidth, 0, 0));
    }
    const clipped = all.filter((d) => d.w > 1 && d.h > 1 && d.x + d.w > 0 && d.y + d.h > 0 && d.x < img.rgbWidth && d.y < img.rgbHeight);
    return nms(clipped, o.nmsIou);
  }
}
